// prelude.cuh — Metal's spellings for CUDA, so one algorithm source (a .metal file's
// shared device functions) compiles as MSL for Metal, as C++ for the simulator and as
// CUDA here. Compiled by clang-19 with -nocudainc: no NVIDIA header is used, so the
// few CUDA keywords and intrinsics the kernels need are defined here from clang's
// builtins.
#pragma once
#include "__clang_cuda_builtin_vars.h"

#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))

// Address spaces: CUDA's generic pointers cover device (global) and thread (local)
// memory; Metal's threadgroup memory is CUDA's __shared__.
#define device
#define thread
#define threadgroup __shared__

typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;

#define INFINITY __builtin_inff()

// Every function of the shared sources is callable from a kernel.
#pragma clang force_cuda_host_device begin

inline float sqrt(float x) { return __builtin_sqrtf(x); }

// SIMD-group reductions over a full warp (32 lanes, all active): a butterfly, so every
// lane gets the result, as Metal's simd_sum does.
inline float simd_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __nvvm_shfl_sync_bfly_f32(0xffffffffu, v, o, 0x1f);
    return v;
}
inline float simd_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = __builtin_fmaxf(v, __nvvm_shfl_sync_bfly_f32(0xffffffffu, v, o, 0x1f));
    return v;
}
inline int simd_min(int v) {
    for (int o = 16; o > 0; o >>= 1) {
        int u = __nvvm_shfl_sync_bfly_i32(0xffffffffu, v, o, 0x1f);
        v = u < v ? u : v;
    }
    return v;
}

#pragma clang force_cuda_host_device end

// Thread and group ids, as the Metal entry points take them.
#define LANE ((int) (threadIdx.x & 31))
#define GROUP_X ((long) blockIdx.x)

#define KERNEL extern "C" __global__ void
