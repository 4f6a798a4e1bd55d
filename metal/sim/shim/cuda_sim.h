// cuda_sim.h — what the CUDA device compilation gives kernels/cuda/prelude.cuh (clang's
// CUDA keywords, threadIdx & co., the __nvvm_* builtins), for the simulator: kernels.cu
// is compiled as C++ with this header first, the prelude's own keyword block skipped
// (INFERNO_SIM), and runs on the fiber runtime of the Metal simulator (runtime.h). So
// the CUDA entry points, their parameter lists, their __shared__ arrays and the
// prelude's warp shuffles and math run on the CPU exactly as written for the GPU.
//
// Defined: __CUDA__ (as in any CUDA compilation) and INFERNO_SIM; NOT __CUDA_ARCH__
// (only the GPU build has it): inline PTX and other NVVM-only code must sit under
// #ifdef __CUDA_ARCH__ with a portable stand-in beside it.
#pragma once
// everything the runtime needs, before the kernels' macros
#include <stdint.h>
#include <string.h>
#include <type_traits>
#include <utility>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#pragma clang diagnostic ignored "-Wunknown-attributes"
#pragma clang diagnostic ignored "-Wignored-attributes"
#pragma clang diagnostic ignored "-Wunknown-pragmas"
#pragma clang diagnostic ignored "-Wunused-parameter"
#pragma clang diagnostic ignored "-Wunused-variable"

#define INFERNO_SIM 1
#define __CUDA__ 1
// CUDA's per-block static shared memory limit (48 KiB without an opt-in), checked by the
// runtime as Metal's 32 KiB is for Metal kernels.
#define MTL_TG_LIMIT 49152

typedef unsigned int uint;
typedef uint uint3 __attribute__((ext_vector_type(3)));

template <class V> struct mtl_vec_traits { static const int n = 1; typedef V elem; };
template <class E, int N> struct mtl_vec_traits<E __attribute__((ext_vector_type(N)))> {
    static const int n = N; typedef E elem;
};

#include "runtime.h"

extern "C" const mtl_tinfo *mtl_tinfo_cur(void);
extern "C" void *mtl_tg_dynamic(void);

// ---- keywords ----------------------------------------------------------------------

// The annotation marks entry points for the build's scan of the preprocessed source.
#define __global__ __attribute__((annotate("inferno_cuda_global")))
#define __device__
#define __host__
#define __constant__ const
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// __shared__ is no macro: the build rewrites each `__shared__ T x[N];` in a function body
// to per-threadgroup storage (mtl_cuda_shared) and `extern __shared__ T x[];` to the
// dispatch's dynamic shared memory; one left over does not compile.

// A static __shared__ array: one per OS worker (a worker runs one block at a time), filled
// with 0xFF when each block first reaches it, so a read before any write shows (NaN).
static inline void mtl_cuda_shared(void *p, unsigned long n, unsigned *gen) {
    if (*gen != mtl_tg_generation()) {
        memset(p, 0xFF, n);
        *gen = mtl_tg_generation();
        mtl_tg_account(n);
    }
}

// ---- thread and block ids: the running fiber's -------------------------------------

#define threadIdx (mtl_tinfo_cur()->tpitg)
#define blockIdx (mtl_tinfo_cur()->tgpig)
#define blockDim (mtl_tinfo_cur()->ntg)
#define gridDim (mtl_tinfo_cur()->ngrid)
#define warpSize 32

static inline void __syncthreads() { mtl_barrier(); }

// ---- warp shuffles and votes: the simulator's SIMD-group exchange --------------------
// Each call is one collective of the warp, keyed by its source position (the caller's
// line and column: the prelude's, for its simd_* functions). The lane read follows PTX's
// shfl.sync with c = (segment mask << 8) | clamp; a lane outside the clamp keeps its own
// value. Only full-warp masks are simulated: a partial mask is a diagnostic.

#define MTL_CUDA_SITE int mtl_line = __builtin_LINE(), int mtl_col = __builtin_COLUMN()
#define MTL_CUDA_POS ((mtl_line << 12) | (mtl_col & 4095))

static inline void mtl_cuda_full_mask(unsigned mask) {
    if (mask != 0xffffffffu) mtl_diag("warp shuffle or vote with a partial mask (not simulated)");
}

enum mtl_cuda_shfl { mtl_shfl_up, mtl_shfl_down, mtl_shfl_bfly, mtl_shfl_idx };

static inline int mtl_cuda_src_lane(mtl_cuda_shfl mode, int b, int c) {
    int lane = mtl_lane();
    int seg = (c >> 8) & 31, clamp = c & 31;
    int minLane = lane & seg, maxLane = (lane & seg) | (clamp & ~seg);
    int j = lane;
    bool ok = false;
    switch (mode) {
    case mtl_shfl_up: j = lane - b; ok = j >= maxLane; break;
    case mtl_shfl_down: j = lane + b; ok = j <= maxLane; break;
    case mtl_shfl_bfly: j = lane ^ (b & 31); ok = j <= maxLane; break;
    case mtl_shfl_idx: j = minLane | (b & ~seg & 31); ok = j <= maxLane; break;
    }
    return ok ? j : lane;
}

template <class T>
static inline T mtl_cuda_shuffle(mtl_cuda_shfl mode, unsigned mask, T v, int b, int c, int pos) {
    mtl_cuda_full_mask(mask);
    return mtl_simd_shuffle(mtl_sh_abs, v, mtl_cuda_src_lane(mode, b, c), pos);
}

#define MTL_CUDA_SHFL(kind, mode)                                                                    \
    static inline float __nvvm_shfl_sync_##kind##_f32(unsigned mask, float v, int b, int c, MTL_CUDA_SITE) { \
        return mtl_cuda_shuffle(mode, mask, v, b, c, MTL_CUDA_POS);                                  \
    }                                                                                                \
    static inline int __nvvm_shfl_sync_##kind##_i32(unsigned mask, int v, int b, int c, MTL_CUDA_SITE) { \
        return mtl_cuda_shuffle(mode, mask, v, b, c, MTL_CUDA_POS);                                  \
    }
MTL_CUDA_SHFL(up, mtl_shfl_up)
MTL_CUDA_SHFL(down, mtl_shfl_down)
MTL_CUDA_SHFL(bfly, mtl_shfl_bfly)
MTL_CUDA_SHFL(idx, mtl_shfl_idx)
#undef MTL_CUDA_SHFL

static inline int __nvvm_vote_any_sync(unsigned mask, bool p, MTL_CUDA_SITE) {
    mtl_cuda_full_mask(mask);
    return mtl_simd_reduce(mtl_op_max, (int)p, MTL_CUDA_POS) != 0;
}
static inline int __nvvm_vote_all_sync(unsigned mask, bool p, MTL_CUDA_SITE) {
    mtl_cuda_full_mask(mask);
    return mtl_simd_reduce(mtl_op_min, (int)p, MTL_CUDA_POS) != 0;
}
static inline unsigned __nvvm_vote_ballot_sync(unsigned mask, bool p, MTL_CUDA_SITE) {
    mtl_cuda_full_mask(mask);
    return mtl_simd_reduce(mtl_op_sum, p ? 1u << mtl_lane() : 0u, MTL_CUDA_POS); // distinct bits: the sum is the or
}
static inline void __nvvm_bar_warp_sync(unsigned mask, MTL_CUDA_SITE) {
    mtl_cuda_full_mask(mask);
    mtl_simd_sync(MTL_CUDA_POS);
}
static inline int __nvvm_read_ptx_sreg_laneid() { return mtl_lane(); }

// ---- NVVM atomics and fences: host atomics (the simulator's workers are OS threads) ----
// A block waiting on another block's progress (a spin on global memory) hangs here: the
// blocks of a grid run one after another on each worker, never concurrently with their
// own kind by design. "Last block finishes the job" counters work.

#define MTL_CUDA_ATOM(name, T, op)                                                              \
    static inline T __nvvm_atom_##name(volatile T *p, T v) { return op((T *)p, v, __ATOMIC_SEQ_CST); }
#define MTL_CUDA_ATOM_TYPES(name, op)                                                           \
    MTL_CUDA_ATOM(name##_gen_i, int, op)                                                        \
    MTL_CUDA_ATOM(name##_gen_l, long, op)                                                       \
    MTL_CUDA_ATOM(name##_gen_ll, long long, op)
MTL_CUDA_ATOM_TYPES(add, __atomic_fetch_add)
MTL_CUDA_ATOM_TYPES(and, __atomic_fetch_and)
MTL_CUDA_ATOM_TYPES(or, __atomic_fetch_or)
MTL_CUDA_ATOM_TYPES(xor, __atomic_fetch_xor)
MTL_CUDA_ATOM_TYPES(xchg, __atomic_exchange_n)
#undef MTL_CUDA_ATOM_TYPES
#undef MTL_CUDA_ATOM

template <class T> static inline T mtl_cuda_atom_cas(volatile T *p, T cmp, T v) {
    __atomic_compare_exchange_n((T *)p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return cmp; // the old value, as atom.cas returns it
}
template <class T, class F> static inline T mtl_cuda_atom_update(volatile T *p, F f) {
    T old, next;
    __atomic_load((T *)p, &old, __ATOMIC_SEQ_CST);
    do {
        next = f(old);
    } while (!__atomic_compare_exchange((T *)p, &old, &next, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    return old;
}
static inline int __nvvm_atom_cas_gen_i(volatile int *p, int cmp, int v) { return mtl_cuda_atom_cas(p, cmp, v); }
static inline long long __nvvm_atom_cas_gen_ll(volatile long long *p, long long cmp, long long v) { return mtl_cuda_atom_cas(p, cmp, v); }
static inline int __nvvm_atom_max_gen_i(volatile int *p, int v) { return mtl_cuda_atom_update(p, [v](int o) { return o > v ? o : v; }); }
static inline int __nvvm_atom_min_gen_i(volatile int *p, int v) { return mtl_cuda_atom_update(p, [v](int o) { return o < v ? o : v; }); }
static inline unsigned __nvvm_atom_max_gen_ui(volatile unsigned *p, unsigned v) { return mtl_cuda_atom_update(p, [v](unsigned o) { return o > v ? o : v; }); }
static inline unsigned __nvvm_atom_min_gen_ui(volatile unsigned *p, unsigned v) { return mtl_cuda_atom_update(p, [v](unsigned o) { return o < v ? o : v; }); }
static inline float __nvvm_atom_add_gen_f(volatile float *p, float v) { return mtl_cuda_atom_update(p, [v](float o) { return o + v; }); }
static inline unsigned __nvvm_atom_inc_gen_ui(volatile unsigned *p, unsigned v) { return mtl_cuda_atom_update(p, [v](unsigned o) { return o >= v ? 0u : o + 1; }); }
static inline unsigned __nvvm_atom_dec_gen_ui(volatile unsigned *p, unsigned v) { return mtl_cuda_atom_update(p, [v](unsigned o) { return o == 0 || o > v ? v : o - 1; }); }
static inline void __nvvm_membar_cta() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __nvvm_membar_gl() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __nvvm_membar_sys() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// ---- NVVM math: IEEE versions of the approximations (the simulator computes exactly) --

static inline float __nvvm_ex2_approx_f(float x) { return __builtin_exp2f(x); }
static inline float __nvvm_ex2_approx_ftz_f(float x) { return __builtin_exp2f(x); }
static inline float __nvvm_lg2_approx_f(float x) { return __builtin_log2f(x); }
static inline float __nvvm_lg2_approx_ftz_f(float x) { return __builtin_log2f(x); }
static inline float __nvvm_sin_approx_f(float x) { return __builtin_sinf(x); }
static inline float __nvvm_sin_approx_ftz_f(float x) { return __builtin_sinf(x); }
static inline float __nvvm_cos_approx_f(float x) { return __builtin_cosf(x); }
static inline float __nvvm_cos_approx_ftz_f(float x) { return __builtin_cosf(x); }
static inline float __nvvm_rsqrt_approx_f(float x) { return 1.0f / __builtin_sqrtf(x); }
static inline float __nvvm_rsqrt_approx_ftz_f(float x) { return 1.0f / __builtin_sqrtf(x); }
static inline float __nvvm_rcp_approx_ftz_f(float x) { return 1.0f / x; }
static inline float __nvvm_div_approx_f(float a, float b) { return a / b; }
static inline float __nvvm_fmax_f(float a, float b) { return __builtin_fmaxf(a, b); }
static inline float __nvvm_fmin_f(float a, float b) { return __builtin_fminf(a, b); }
static inline float __nvvm_fabs_f(float x) { return __builtin_fabsf(x); }

// ---- entry points as the generated thunks call them ---------------------------------
// An argument slot holds a device pointer (buffer + offset) or the address of a value's
// bytes; the parameter types come from the entry point itself, so no kernel needs glue.

template <class P> static inline P mtl_cuda_arg(void *p) {
    if constexpr (std::is_pointer_v<P>) {
        return (P)p;
    } else {
        static_assert(std::is_trivially_copyable_v<P>, "kernel parameter passed by value must be trivially copyable");
        P v;
        memcpy((void *)&v, p, sizeof(P));
        return v;
    }
}

template <class... P, size_t... I>
static inline void mtl_cuda_invoke(void (*f)(P...), void **b, std::index_sequence<I...>) {
    f(mtl_cuda_arg<P>(b[I])...);
}

template <class... P> static inline void mtl_cuda_call(void (*f)(P...), void **b) {
    mtl_cuda_invoke(f, b, std::index_sequence_for<P...>{});
}

// The parameter list for the host's checks: a pointer is -1, a value its size in bytes.
template <class... P> static inline int mtl_cuda_params(void (*)(P...), int *out, int max) {
    int sizes[] = {(std::is_pointer_v<P> ? -1 : (int)sizeof(P))..., 0};
    int n = (int)sizeof...(P);
    for (int i = 0; i < n && i < max; i++) out[i] = sizes[i];
    return n;
}
