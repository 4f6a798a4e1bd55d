// runtime.h — the simulator's fiber runtime: every simulated GPU thread is a fiber;
// the threads of one threadgroup run on one OS worker and switch at barriers and
// SIMD-group collectives through a hand-written context switch. Inkluded by
// metal_stdlib.h; the implementation is compiled once per kernel library.
#pragma once
#include <stdint.h>

#ifndef ADDRESS_SPACE_CHECK

struct mtl_tinfo {
    uint3 tpig, tgpig, tpitg, ntg, ngrid, tpg;
    uint tiitg, tiisg, sgitg, tpsg, nsg;
};

enum mtl_op { mtl_op_sum, mtl_op_max, mtl_op_min, mtl_op_prefix_excl, mtl_op_prefix_incl };
enum mtl_sh { mtl_sh_abs, mtl_sh_down, mtl_sh_up, mtl_sh_xor, mtl_sh_first };

struct mtl_wait;
typedef void (*mtl_resolver)(mtl_wait **lanes, int width);

// What a fiber is blocked on.
struct mtl_wait {
    int kind; // 0 running, 1 barrier, 2 collective, 3 done
    int pos;  // source position of the collective
    mtl_resolver resolve;
    const void *in;
    void *out;
    int op, arg;
};

extern "C" {
int mtl_lane_impl(void);
void mtl_barrier_impl(void);
void mtl_collective(mtl_wait *w);
void mtl_diag(const char *what);
void *mtl_tg_mem(int index);
unsigned mtl_tg_generation(void);
void mtl_register_fc(int index, void *p, int size);
void mtl_tg_account(unsigned long bytes);
}

static inline int mtl_lane() { return mtl_lane_impl(); }
static inline void mtl_barrier() { mtl_barrier_impl(); }

template <class T> static inline T mtl_max2(T a, T b) {
    if constexpr (mtl_vec_traits<T>::n == 1) return a > b ? a : b;
    else { for (int i = 0; i < mtl_vec_traits<T>::n; i++) a[i] = a[i] > b[i] ? a[i] : b[i]; return a; }
}
template <class T> static inline T mtl_min2(T a, T b) {
    if constexpr (mtl_vec_traits<T>::n == 1) return a < b ? a : b;
    else { for (int i = 0; i < mtl_vec_traits<T>::n; i++) a[i] = a[i] < b[i] ? a[i] : b[i]; return a; }
}

template <class T>
static void mtl_resolve_reduce(mtl_wait **w, int width) {
    int op = -1;
    T acc = T();
    bool have = false;
    for (int l = 0; l < width; l++) {
        if (!w[l]) continue;
        op = w[l]->op;
        T v = *(const T *)w[l]->in;
        if (op == mtl_op_prefix_excl) { *(T *)w[l]->out = have ? acc : T(); acc = have ? acc + v : v; have = true; continue; }
        if (op == mtl_op_prefix_incl) { acc = have ? acc + v : v; have = true; *(T *)w[l]->out = acc; continue; }
        if (!have) { acc = v; have = true; continue; }
        if (op == mtl_op_sum) acc = acc + v;
        else if (op == mtl_op_max) acc = mtl_max2(acc, v);
        else acc = mtl_min2(acc, v);
    }
    if (op == mtl_op_prefix_excl || op == mtl_op_prefix_incl) return;
    for (int l = 0; l < width; l++)
        if (w[l]) *(T *)w[l]->out = acc;
}

template <class T>
static void mtl_resolve_shuffle(mtl_wait **w, int width) {
    int first = -1;
    for (int l = 0; l < width; l++)
        if (w[l]) { first = l; break; }
    for (int l = 0; l < width; l++) {
        if (!w[l]) continue;
        int src = l, a = w[l]->arg;
        switch (w[l]->op) {
        case mtl_sh_abs: src = a; break;
        case mtl_sh_down: src = l + a; break;
        case mtl_sh_up: src = l - a; break;
        case mtl_sh_xor: src = l ^ a; break;
        case mtl_sh_first: src = first; break;
        }
        if (src < 0 || src >= width) { *(T *)w[l]->out = *(const T *)w[l]->in; continue; }
        if (!w[src]) {
            mtl_diag("shuffle reads an inactive lane");
            *(T *)w[l]->out = *(const T *)w[l]->in;
            continue;
        }
        *(T *)w[l]->out = *(const T *)w[src]->in;
    }
}

template <class T>
static inline T mtl_simd_reduce(mtl_op op, T x, int pos) {
    T out;
    mtl_wait w = {2, pos, mtl_resolve_reduce<T>, &x, &out, op, 0};
    mtl_collective(&w);
    return out;
}

template <class T>
static inline T mtl_simd_shuffle(mtl_sh kind, T x, int arg, int pos) {
    T out;
    mtl_wait w = {2, pos, mtl_resolve_shuffle<T>, &x, &out, kind, arg};
    mtl_collective(&w);
    return out;
}

static inline void mtl_resolve_sync(mtl_wait **, int) {}

static inline void mtl_simd_sync(int pos) {
    mtl_wait w = {2, pos, mtl_resolve_sync, nullptr, nullptr, 0, 0};
    mtl_collective(&w);
}

// 8x8 matrix multiply-accumulate over the fragments of all 32 lanes.
static void mtl_resolve_mma(mtl_wait **w, int width) {
    int n = 0;
    for (int l = 0; l < width; l++) n += w[l] != nullptr;
    if (n != 32) { mtl_diag("simdgroup matrix op by a partial SIMD-group"); return; }
    float A[8][8], B[8][8], C[8][8];
    for (int l = 0; l < 32; l++) {
        const float *in = (const float *)w[l]->in;
        int qid = l / 4, r = (qid & 4) + ((l / 2) % 4), c = (qid & 2) * 2 + (l % 2) * 2;
        A[r][c] = in[0]; A[r][c + 1] = in[1];
        B[r][c] = in[2]; B[r][c + 1] = in[3];
        C[r][c] = in[4]; C[r][c + 1] = in[5];
    }
    for (int l = 0; l < 32; l++) {
        int qid = l / 4, r = (qid & 4) + ((l / 2) % 4), c = (qid & 2) * 2 + (l % 2) * 2;
        float *out = (float *)w[l]->out;
        for (int k = 0; k < 2; k++) {
            float s = C[r][c + k];
            for (int i = 0; i < 8; i++) s += A[r][i] * B[i][c + k];
            out[k] = s;
        }
    }
}

static inline void mtl_simd_mma(const float *in, float *out, int pos) {
    mtl_wait w = {2, pos, mtl_resolve_mma, in, out, 0, 0};
    mtl_collective(&w);
}

#else // ADDRESS_SPACE_CHECK: declarations only, enough for -fsyntax-only.
enum mtl_op { mtl_op_sum, mtl_op_max, mtl_op_min, mtl_op_prefix_excl, mtl_op_prefix_incl };
enum mtl_sh { mtl_sh_abs, mtl_sh_down, mtl_sh_up, mtl_sh_xor, mtl_sh_first };
static inline int mtl_lane() { return 0; }
static inline void mtl_barrier() {}
static inline void mtl_simd_sync(int) {}
template <class T> static inline T mtl_simd_reduce(mtl_op, T x, int) { return x; }
template <class T> static inline T mtl_simd_shuffle(mtl_sh, T x, int, int) { return x; }
static inline void mtl_simd_mma(const float *, float *, int) {}
#endif
