// metal_stdlib.h — the simulator's stand-in for <metal_stdlib>.
//
// A translated .metal file is compiled as C++ by clang-19 with this header: address-space
// keywords become empty macros (or clang address spaces in the ADDRESS_SPACE_CHECK pass),
// vector types are clang ext_vector_types, and SIMD-group collectives, barriers and
// simdgroup matrices call into the fiber runtime (runtime.h). Inferno's own code.
#pragma once
#include <stdint.h>
#include <string.h>
#include <type_traits>
#ifndef ADDRESS_SPACE_CHECK
// everything the runtime needs, before `double` is poisoned below
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#pragma clang diagnostic ignored "-Wunknown-attributes"
#pragma clang diagnostic ignored "-Wignored-attributes"
#pragma clang diagnostic ignored "-Wunused-parameter"
#pragma clang diagnostic ignored "-Wunused-variable"

#ifdef ADDRESS_SPACE_CHECK
#define device __attribute__((address_space(1)))
#define constant __attribute__((address_space(2))) const
#define threadgroup __attribute__((address_space(3)))
#else
#define device
#define constant const
#define threadgroup
#endif
#define thread
#define kernel

typedef _Float16 half;
typedef __bf16 bfloat;
typedef unsigned int uint;
typedef unsigned short ushort;
typedef unsigned char uchar;
typedef unsigned long ulong;

#define MTL_VEC(T)                                          \
    typedef T T##2 __attribute__((ext_vector_type(2)));     \
    typedef T T##3 __attribute__((ext_vector_type(3)));     \
    typedef T T##4 __attribute__((ext_vector_type(4)));
MTL_VEC(float)
MTL_VEC(half)
MTL_VEC(int)
MTL_VEC(uint)
MTL_VEC(short)
MTL_VEC(ushort)
MTL_VEC(char)
MTL_VEC(uchar)
MTL_VEC(ulong)
#undef MTL_VEC

#pragma GCC poison double

namespace metal {}

// ---- vector construction and conversion ------------------------------------------

template <class V> struct mtl_vec_traits { static const int n = 1; typedef V elem; };
template <class E, int N> struct mtl_vec_traits<E __attribute__((ext_vector_type(N)))> {
    static const int n = N; typedef E elem;
};

template <class V, class A>
static inline void mtl_fill(V &out, int &i, A a) {
    typedef typename mtl_vec_traits<V>::elem E;
    if constexpr (mtl_vec_traits<A>::n == 1) {
        out[i++] = (E)a;
    } else {
        for (int k = 0; k < mtl_vec_traits<A>::n; k++) out[i++] = (E)a[k];
    }
}

// mtl_make<V>(args...): MSL's V(args...): a splat, a conversion, or a concatenation.
template <class V, class... A>
static inline V mtl_make(A... a) {
    typedef typename mtl_vec_traits<V>::elem E;
    V out;
    if constexpr (sizeof...(A) == 1 && (mtl_vec_traits<A>::n + ... + 0) == 1) {
        E s = (E)(a, ...);
        for (int k = 0; k < mtl_vec_traits<V>::n; k++) out[k] = s;
    } else {
        int i = 0;
        (mtl_fill(out, i, a), ...);
    }
    return out;
}

// mtl_cast<V>(x): MSL's (V)x — a value conversion, never a bit reinterpretation.
template <class V, class S>
static inline V mtl_cast(S s) {
    if constexpr (mtl_vec_traits<V>::n == 1) {
        return (V)s;
    } else if constexpr (mtl_vec_traits<S>::n == 1) {
        return mtl_make<V>(s);
    } else {
        static_assert(mtl_vec_traits<S>::n == mtl_vec_traits<V>::n, "vector cast between different lengths");
        return __builtin_convertvector(s, V);
    }
}

#define float2(...) mtl_make<float2>(__VA_ARGS__)
#define float3(...) mtl_make<float3>(__VA_ARGS__)
#define float4(...) mtl_make<float4>(__VA_ARGS__)
#define half2(...) mtl_make<half2>(__VA_ARGS__)
#define half3(...) mtl_make<half3>(__VA_ARGS__)
#define half4(...) mtl_make<half4>(__VA_ARGS__)
#define int2(...) mtl_make<int2>(__VA_ARGS__)
#define int3(...) mtl_make<int3>(__VA_ARGS__)
#define int4(...) mtl_make<int4>(__VA_ARGS__)
#define uint2(...) mtl_make<uint2>(__VA_ARGS__)
#define uint3(...) mtl_make<uint3>(__VA_ARGS__)
#define uint4(...) mtl_make<uint4>(__VA_ARGS__)
#define short2(...) mtl_make<short2>(__VA_ARGS__)
#define short4(...) mtl_make<short4>(__VA_ARGS__)
#define ushort2(...) mtl_make<ushort2>(__VA_ARGS__)
#define ushort4(...) mtl_make<ushort4>(__VA_ARGS__)
#define char4(...) mtl_make<char4>(__VA_ARGS__)
#define uchar4(...) mtl_make<uchar4>(__VA_ARGS__)

template <class T, class S>
static inline T as_type(S s) {
    static_assert(sizeof(T) == sizeof(S), "as_type between different sizes");
    T t;
    memcpy(&t, &s, sizeof(T));
    return t;
}

// ---- math ------------------------------------------------------------------------

#define MTL_UNARY(name, fn)                                                      \
    static inline float name(float x) { return fn(x); }                         \
    static inline half name(half x) { return (half)fn((float)x); }             \
    template <class V, int N = mtl_vec_traits<V>::n, class = std::enable_if_t<(N > 1)>> \
    static inline V name(V v) { for (int i = 0; i < N; i++) v[i] = name(v[i]); return v; }
MTL_UNARY(exp, __builtin_expf)
MTL_UNARY(exp2, __builtin_exp2f)
MTL_UNARY(log, __builtin_logf)
MTL_UNARY(sqrt, __builtin_sqrtf)
MTL_UNARY(floor, __builtin_floorf)
MTL_UNARY(ceil, __builtin_ceilf)
MTL_UNARY(round, __builtin_roundf)
MTL_UNARY(tanh, __builtin_tanhf)
MTL_UNARY(cos, __builtin_cosf)
MTL_UNARY(sin, __builtin_sinf)
MTL_UNARY(fabs, __builtin_fabsf)
static inline float rsqrt(float x) { return 1.0f / __builtin_sqrtf(x); }
static inline float pow(float x, float y) { return __builtin_powf(x, y); }
template <class T> static inline T abs(T x) { return x < 0 ? -x : x; }
template <class T> static inline T max(T a, T b) { return a > b ? a : b; }
template <class T> static inline T min(T a, T b) { return a < b ? a : b; }
template <class T> static inline T fmax(T a, T b) { return a > b ? a : b; }
template <class T> static inline T fmin(T a, T b) { return a < b ? a : b; }
template <class T> static inline T clamp(T x, T lo, T hi) { return min(max(x, lo), hi); }
template <class T, class U> static inline T mix(T a, T b, U t) { return a + (b - a) * t; }
template <class T> static inline T select(T a, T b, bool c) { return c ? b : a; }
template <class V> static inline typename mtl_vec_traits<V>::elem dot(V a, V b) {
    typename mtl_vec_traits<V>::elem s = 0;
    for (int i = 0; i < mtl_vec_traits<V>::n; i++) s += a[i] * b[i];
    return s;
}
static inline bool isinf(float x) { return __builtin_isinf(x); }
static inline bool isnan(float x) { return __builtin_isnan(x); }
namespace metal {
namespace fast { using ::exp; using ::sqrt; using ::rsqrt; using ::log; using ::cos; using ::sin; using ::tanh; using ::pow; }
namespace precise { using ::exp; using ::sqrt; using ::rsqrt; using ::log; using ::cos; using ::sin; using ::tanh; using ::pow; }
}
namespace fast = metal::fast;
namespace precise = metal::precise;

#ifndef INFINITY
#define INFINITY __builtin_inff()
#endif
#ifndef FLT_MAX
#define FLT_MAX 3.402823466e+38f
#endif

// ---- runtime interface -----------------------------------------------------------

#include "runtime.h"

#ifdef ADDRESS_SPACE_CHECK
#define MTL_TG_LOCAL static threadgroup
#define MTL_TG_INIT(x)
#else
#define MTL_TG_LOCAL static thread_local
// Fill a threadgroup array with 0xFF the first time a threadgroup reaches it, so reads of
// uninitialised threadgroup memory show up (as NaN for floats).
#define MTL_TG_INIT(x)                                                        \
    do {                                                                      \
        static thread_local unsigned mtl_gen_##x;                             \
        if (mtl_gen_##x != mtl_tg_generation()) {                             \
            memset((void *)(x), 0xFF, sizeof(x));                             \
            mtl_gen_##x = mtl_tg_generation();                                \
            mtl_tg_account(sizeof(x));                                        \
        }                                                                     \
    } while (0)

template <class T> static inline T mtl_attr(uint3 v) {
    if constexpr (mtl_vec_traits<T>::n == 1) return (T)v.x;
    else if constexpr (mtl_vec_traits<T>::n == 2) return mtl_make<T>(v.x, v.y);
    else return mtl_make<T>(v.x, v.y, v.z);
}
template <class T> static inline T mtl_attr(uint v) { return (T)v; }

// Kernel arguments as the generated entry points pass them: they convert to whatever
// the kernel (possibly a template instance) declares.
struct mtl_arg_ptr {
    void *p;
    template <class T> operator T *() const { return (T *)p; }
    template <class T> operator T &() const { return *(T *)p; }
};
template <class V> struct mtl_arg_attr {
    V v;
    template <class T> operator T() const { return mtl_attr<T>(v); }
};
#endif

enum class mem_flags { mem_none = 0, mem_device = 1, mem_threadgroup = 2 };
static inline void threadgroup_barrier(mem_flags) { mtl_barrier(); }

// Device atomics (MSL's spellings): an int counter shared by threadgroups, which the
// simulator runs on several OS threads; every order is sequentially consistent here.
struct atomic_int { int v; };
enum memory_order { memory_order_relaxed, memory_order_seq_cst };
enum thread_scope { thread_scope_thread, thread_scope_simdgroup, thread_scope_threadgroup, thread_scope_device };
template <class P> static inline int atomic_fetch_add_explicit(P p, int v, memory_order) {
    return __atomic_fetch_add(&p->v, v, __ATOMIC_SEQ_CST);
}
template <class P> static inline void atomic_store_explicit(P p, int v, memory_order) {
    __atomic_store_n(&p->v, v, __ATOMIC_SEQ_CST);
}
static inline void atomic_thread_fence(mem_flags, memory_order, thread_scope) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void simdgroup_barrier(mem_flags) { mtl_simd_sync(__LINE__); }

// SIMD-group collectives carry their source position (line, expansion counter) so the
// runtime can reconverge lanes the way a GPU does.
#define MTL_POS ((__LINE__ << 12) | (__COUNTER__ & 4095))
#define simd_sum(x) mtl_simd_reduce(mtl_op_sum, (x), MTL_POS)
#define simd_max(x) mtl_simd_reduce(mtl_op_max, (x), MTL_POS)
#define simd_min(x) mtl_simd_reduce(mtl_op_min, (x), MTL_POS)
#define simd_prefix_exclusive_sum(x) mtl_simd_reduce(mtl_op_prefix_excl, (x), MTL_POS)
#define simd_prefix_inclusive_sum(x) mtl_simd_reduce(mtl_op_prefix_incl, (x), MTL_POS)
#define simd_broadcast(x, lane) mtl_simd_shuffle(mtl_sh_abs, (x), (int)(lane), MTL_POS)
#define simd_shuffle(x, lane) mtl_simd_shuffle(mtl_sh_abs, (x), (int)(lane), MTL_POS)
#define simd_shuffle_down(x, d) mtl_simd_shuffle(mtl_sh_down, (x), (int)(d), MTL_POS)
#define simd_shuffle_up(x, d) mtl_simd_shuffle(mtl_sh_up, (x), (int)(d), MTL_POS)
#define simd_shuffle_xor(x, m) mtl_simd_shuffle(mtl_sh_xor, (x), (int)(m), MTL_POS)
#define simd_broadcast_first(x) mtl_simd_shuffle(mtl_sh_first, (x), 0, MTL_POS)
#define simd_any(c) (mtl_simd_reduce(mtl_op_max, (int)(bool)(c), MTL_POS) != 0)
#define simd_all(c) (mtl_simd_reduce(mtl_op_min, (int)(bool)(c), MTL_POS) != 0)
#define simd_is_first() (mtl_simd_shuffle(mtl_sh_first, (int)mtl_lane(), 0, MTL_POS) == (int)mtl_lane())

// ---- simdgroup matrices (Apple's 8x8 fragment layout: two elements per lane) -------

template <class T, int R, int C>
struct simdgroup_matrix {
    static_assert(R == 8 && C == 8, "only 8x8 simdgroup matrices");
    T e[2];
    simdgroup_matrix() { e[0] = e[1] = 0; }
    T *thread_elements() { return e; }
};
typedef simdgroup_matrix<float, 8, 8> simdgroup_float8x8;
typedef simdgroup_matrix<half, 8, 8> simdgroup_half8x8;

template <class T, int R, int C>
static inline simdgroup_matrix<T, R, C> make_filled_simdgroup_matrix(T v) {
    simdgroup_matrix<T, R, C> m;
    m.e[0] = m.e[1] = v;
    return m;
}

// Row and column of a lane's first element (MLX's BaseMMAFrag).
static inline void mtl_frag_coord(int lane, int &row, int &col) {
    int qid = lane / 4;
    row = (qid & 4) + ((lane / 2) % 4);
    col = (qid & 2) * 2 + (lane % 2) * 2;
}

template <class T, class S>
static inline void simdgroup_load(simdgroup_matrix<T, 8, 8> &m, const S *src, ulong epr = 8,
                                  ulong2 origin = 0, bool transpose = false) {

    int r, c;
    mtl_frag_coord(mtl_lane(), r, c);
    for (int k = 0; k < 2; k++) {
        long row = r, col = c + k;
        if (transpose) { long t = row; row = col; col = t; }
        m.e[k] = (T)src[(origin[1] + row) * epr + origin[0] + col];
    }
}

template <class T, class S>
static inline void simdgroup_store(const simdgroup_matrix<T, 8, 8> &m, S *dst, ulong epr = 8,
                                   ulong2 origin = 0, bool transpose = false) {
    int r, c;
    mtl_frag_coord(mtl_lane(), r, c);
    for (int k = 0; k < 2; k++) {
        long row = r, col = c + k;
        if (transpose) { long t = row; row = col; col = t; }
        dst[(origin[1] + row) * epr + origin[0] + col] = (S)m.e[k];
    }
}

template <class TD, class TA, class TB, class TC>
static inline void simdgroup_multiply_accumulate(simdgroup_matrix<TD, 8, 8> &d, const simdgroup_matrix<TA, 8, 8> &a,
                                                 const simdgroup_matrix<TB, 8, 8> &b, const simdgroup_matrix<TC, 8, 8> &c) {
    float in[6] = {(float)a.e[0], (float)a.e[1], (float)b.e[0], (float)b.e[1], (float)c.e[0], (float)c.e[1]};
    float out[2];
    mtl_simd_mma(in, out, MTL_POS);
    d.e[0] = (TD)out[0];
    d.e[1] = (TD)out[1];
}

template <class TD, class TA, class TB>
static inline void simdgroup_multiply(simdgroup_matrix<TD, 8, 8> &d, const simdgroup_matrix<TA, 8, 8> &a,
                                      const simdgroup_matrix<TB, 8, 8> &b) {
    simdgroup_matrix<TD, 8, 8> z;
    simdgroup_multiply_accumulate(d, a, b, z);
}
