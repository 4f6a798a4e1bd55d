// prelude.cuh — Metal's spellings for CUDA, so one algorithm source (a .metal file's
// shared device functions) compiles as MSL for Metal, as C++ for the simulator and as
// CUDA here. Compiled by clang-19 with -nocudainc -nocudalib: no NVIDIA header or
// libdevice is used, so the CUDA keywords, intrinsics and math functions the kernels
// need are defined here from clang's and NVVM's builtins (a libm call would be an
// unresolved symbol in the PTX).
//
// Metal threadgroups are CUDA blocks and SIMD groups are warps (32 lanes on both);
// every kernel's threadgroups are 1-D (x), so a lane is threadIdx.x % 32 and a SIMD
// group threadIdx.x / 32.
//
// Three compilations of kernels.cu, told apart by the preprocessor:
//   __CUDA__       kernels.cu is being compiled, for the GPU or for the simulator (the
//                  .metal files hide their Metal entry points behind #ifndef __CUDA__);
//   __CUDA_ARCH__  for the GPU only (PTX, clang -x cuda): inline PTX (asm), mma.sync,
//                  cp.async and other NVVM-only code go under #ifdef __CUDA_ARCH__, with
//                  a portable stand-in (e.g. the same fragments exchanged by the
//                  prelude's shuffles) in the #else;
//   INFERNO_SIM    for the CPU simulator (cuda-sim): kernels.cu compiled as C++ by
//                  metal/sim with shim/cuda_sim.h, which defines the CUDA keywords,
//                  threadIdx & co. and the __nvvm_* builtins used here instead of the
//                  block below; __CUDA_ARCH__ is not defined.
#pragma once
#ifndef INFERNO_SIM
#include "__clang_cuda_builtin_vars.h"

// (the attributes' own names, which the address-space macros below cannot touch)
#define __global__ __attribute__((__global__))
#define __device__ __attribute__((__device__))
#define __shared__ __attribute__((__shared__))
#define __constant__ __attribute__((__constant__))
#define __forceinline__ inline __attribute__((always_inline))
#endif

// Address spaces: CUDA's generic pointers cover device (global), thread (local) and
// threadgroup (shared) memory, so the shared sources' pointer qualifiers vanish; after
// inlining the compiler infers the space (ld.shared for threadgroup arrays). Threadgroup
// arrays themselves are declared in the CUDA entry points as __shared__ (MSL allows them
// in kernel functions only, so the shared functions take them as pointers). `constant`
// is used by the shared sources for lookup tables only: CUDA's constant memory.
#define device
#define thread
#define threadgroup
#define constant __constant__

typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef float float2 __attribute__((ext_vector_type(2)));   // Metal's vectors: 8- and 16-byte
typedef float float4 __attribute__((ext_vector_type(4)));   // aligned, loaded as ld.v2 / ld.v4
typedef _Float16 half;   // loads and stores are .b16, conversions cvt.f32.f16 / cvt.rn.f16.f32
typedef half half2 __attribute__((ext_vector_type(2)));
typedef half half4 __attribute__((ext_vector_type(4)));
typedef uint uint2 __attribute__((ext_vector_type(2)));
typedef uint uint4 __attribute__((ext_vector_type(4)));

// Metal's char is signed; so is NVPTX's, which q8_0 and q6_k's scales rely on.
static_assert((char) -1 < 0, "char must be signed");

#define INFINITY __builtin_inff()

// Every function of the shared sources is callable from a kernel.
#pragma clang force_cuda_host_device begin

template <typename T, typename S> inline T as_type(S s) {
    static_assert(sizeof(T) == sizeof(S), "as_type between different sizes");
    return __builtin_bit_cast(T, s);
}

// ---- math, as Metal's fast-math versions (what the Metal backend compiles with) ----

inline float sqrt(float x) { return __builtin_sqrtf(x); }
inline float max(float a, float b) { return __builtin_fmaxf(a, b); }
inline float min(float a, float b) { return __builtin_fminf(a, b); }
inline int max(int a, int b) { return a > b ? a : b; }
inline int min(int a, int b) { return a < b ? a : b; }

// e^x = 2^(x·log2 e) by ex2.approx (2 ulp); exp(-inf) = 0.
inline float exp(float x) { return __nvvm_ex2_approx_f(x * 1.4426950408889634f); }

// x^y for x > 0 (RoPE's base) as 2^(y·log2 x): lg2.approx's error (2^-22.6 absolute) is
// below the rounding of the product itself.
inline float pow(float x, float y) { return __nvvm_ex2_approx_f(y * __nvvm_lg2_approx_f(x)); }

// sin.approx/cos.approx are accurate (2^-20.9 absolute) on [-π, π]; RoPE's angles reach
// the context length, so reduce by 2π first: k·2π is 2π rounded to float (one fma, exact
// for the k seen here) minus what the rounding added.
inline float mtl_reduce_2pi(float x) {
    float k = __builtin_rintf(x * 0.15915494309189535f);
    x = __builtin_fmaf(k, -6.28318548202514648f, x);
    return __builtin_fmaf(k, 1.7484555314695172e-07f, x);
}
inline float sin(float x) { return __nvvm_sin_approx_f(mtl_reduce_2pi(x)); }
inline float cos(float x) { return __nvvm_cos_approx_f(mtl_reduce_2pi(x)); }

// tanh (arch.metal's soft-cap and GELU, attention's soft-cap) from exp of -2|x|: no
// overflow, about 2^-22 absolute error.
inline float tanh(float x) {
    float e = exp(-2.0f * __builtin_fabsf(x));
    return __builtin_copysignf((1.0f - e) / (1.0f + e), x);
}

// ---- barriers ----

namespace mem_flags {
enum flags { mem_none = 0, mem_device = 1, mem_threadgroup = 2 };
}
// __syncthreads (clang's builtin): bar.sync 0, which waits for the whole block and
// orders its shared and global accesses; like Metal's, every thread must reach it.
inline void threadgroup_barrier(mem_flags::flags) { __syncthreads(); }

// ---- device atomics (MSL's spellings): an int counter shared by a kernel's blocks ----
// atom.add (gpu scope) and a volatile store; atomic_thread_fence is fence.sc.gpu
// (membar.gl), which orders this thread's global writes before the counter's update.
struct atomic_int { int v; };
enum memory_order { memory_order_relaxed, memory_order_seq_cst };
enum thread_scope { thread_scope_thread, thread_scope_simdgroup, thread_scope_threadgroup, thread_scope_device };
inline int atomic_fetch_add_explicit(atomic_int * p, int v, memory_order) { return __nvvm_atom_add_gen_i(&p->v, v); }
inline void atomic_store_explicit(atomic_int * p, int v, memory_order) { *(volatile int *) &p->v = v; }
inline void atomic_thread_fence(mem_flags::flags, memory_order, thread_scope) { __nvvm_membar_gl(); }

// ---- SIMD-group reductions over a full warp (32 lanes, all active) ----
// A butterfly, so every lane gets the result, as Metal's simd_sum does.

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
inline float simd_shuffle_xor(float v, int mask) { return __nvvm_shfl_sync_bfly_f32(0xffffffffu, v, mask, 0x1f); }
inline float simd_shuffle(float v, int lane) { return __nvvm_shfl_sync_idx_f32(0xffffffffu, v, lane, 0x1f); }
inline int simd_shuffle(int v, int lane) { return __nvvm_shfl_sync_idx_i32(0xffffffffu, v, lane, 0x1f); }
inline uint simd_shuffle(uint v, int lane) { return (uint) __nvvm_shfl_sync_idx_i32(0xffffffffu, (int) v, lane, 0x1f); }
inline uint2 simd_shuffle(uint2 v, int lane) {
    for (int i = 0; i < 2; i++) v[i] = simd_shuffle((uint) v[i], lane);
    return v;
}
inline uint4 simd_shuffle(uint4 v, int lane) {
    for (int i = 0; i < 4; i++) v[i] = simd_shuffle((uint) v[i], lane);
    return v;
}
inline float simd_broadcast(float v, int lane) { return simd_shuffle(v, lane); }
inline int simd_broadcast(int v, int lane) { return simd_shuffle(v, lane); }

// ---- simdgroup matrices: an 8×8 float matrix held by a warp, two elements a lane ----
// Lane l holds row l/4, columns 2(l%4) and 2(l%4)+1. The layout is the prelude's own
// (Metal's is opaque): the shared sources only load, multiply and store whole matrices.

inline int mtl_frag_lane() { return (int) (threadIdx.x & 31); }

template <typename T, int R, int C> struct simdgroup_matrix {
    static_assert(R == 8 && C == 8, "only 8x8 simdgroup matrices");
    T e[2];
};
typedef simdgroup_matrix<float, 8, 8> simdgroup_float8x8;

template <typename T, int R, int C> inline simdgroup_matrix<T, R, C> make_filled_simdgroup_matrix(T v) {
    simdgroup_matrix<T, R, C> m;
    m.e[0] = m.e[1] = v;
    return m;
}

template <typename T> inline void simdgroup_load(thread simdgroup_matrix<T, 8, 8> & m, const T * src, long epr = 8) {
    int l = mtl_frag_lane();
    const T * p = src + (l / 4) * epr + 2 * (l % 4);
    m.e[0] = p[0];
    m.e[1] = p[1];
}

template <typename T> inline void simdgroup_store(thread const simdgroup_matrix<T, 8, 8> & m, T * dst, long epr = 8) {
    int l = mtl_frag_lane();
    T * p = dst + (l / 4) * epr + 2 * (l % 4);
    p[0] = m.e[0];
    p[1] = m.e[1];
}

// d = a·b + c. Lane (r, 2j) gathers row r of a and columns 2j, 2j+1 of b by shuffles
// (24 for the 8×8×8 product) and sums in k order, as the simulator does.
inline void simdgroup_multiply_accumulate(thread simdgroup_float8x8 & d, thread const simdgroup_float8x8 & a,
                                          thread const simdgroup_float8x8 & b, thread const simdgroup_float8x8 & c) {
    int l = mtl_frag_lane();
    int r = l / 4, j = l % 4;
    float s0 = c.e[0], s1 = c.e[1];
    for (int k = 0; k < 8; k++) {
        float ak = __nvvm_shfl_sync_idx_f32(0xffffffffu, a.e[k % 2], 4 * r + k / 2, 0x1f);
        float b0 = __nvvm_shfl_sync_idx_f32(0xffffffffu, b.e[0], 4 * k + j, 0x1f);
        float b1 = __nvvm_shfl_sync_idx_f32(0xffffffffu, b.e[1], 4 * k + j, 0x1f);
        s0 += ak * b0;
        s1 += ak * b1;
    }
    d.e[0] = s0;
    d.e[1] = s1;
}

#pragma clang force_cuda_host_device end

// ---- thread and group ids, as the Metal entry points take them ----

#define LANE ((int) (threadIdx.x & 31))                 // thread_index_in_simdgroup
#define SIMD_GROUP ((int) (threadIdx.x / 32))           // simdgroup_index_in_threadgroup
#define TID ((uint) threadIdx.x)                        // thread_index_in_threadgroup
#define GROUP_X ((long) blockIdx.x)                     // threadgroup_position_in_grid
#define GROUP_Y ((long) blockIdx.y)
#define GROUP_Z ((long) blockIdx.z)
#define GID_X ((uint) (blockIdx.x * blockDim.x + threadIdx.x))   // thread_position_in_grid
#define GID_Y ((uint) (blockIdx.y * blockDim.y + threadIdx.y))
#define GID_Z ((uint) (blockIdx.z * blockDim.z + threadIdx.z))

#define KERNEL extern "C" __global__ void

// PER_TYPE(name, (params), (args)) defines the CUDA entry point name_<type> for every
// weight type of quants.metal, each calling the template name<blk_<type>>(args): the
// list is FOR_EACH_WEIGHT_TYPE, generated from quants.metal's structs by CompilePTX,
// as Metal's instantiations are by kernels.Sources.
#define PER_TYPE_ENTRY(name, T, params, args) KERNEL name##_##T params { name<blk_##T> args; }
#define PER_TYPE(name, params, args) FOR_EACH_WEIGHT_TYPE(PER_TYPE_ENTRY, name, params, args)
