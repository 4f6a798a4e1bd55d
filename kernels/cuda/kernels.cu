// kernels.cu — the CUDA kernels: the shared algorithms of the .metal files, and one
// entry point per kernel with the same name, bindings (in order, one parameter each:
// a pointer per buffer, the argument struct by value) and launch geometry as Metal's
// (metal/launch.go: grid in blocks = threadgroups, block size = threadgroup size).
// `make kernels` compiles this file to kernels.ptx (see kernels/ptx.go).
//
// Threadgroup memory: no Metal kernel takes it as a [[threadgroup(i)]] parameter; the
// arrays Metal declares in a kernel body are static __shared__ arrays of the same size
// here, declared in the entry point and passed to the shared function.
#include "prelude.cuh"
#include "weight_types.h"   // generated: FOR_EACH_WEIGHT_TYPE, from quants.metal

// The shared functions are inlined into the entry points, as nvcc would: a call keeps
// their per-thread arrays in local memory and their threadgroup pointers generic.
#pragma clang force_cuda_host_device begin
#pragma clang attribute push (__attribute__((always_inline)), apply_to = function)
#include "../quants.metal"
#include "../get_rows.metal"
#include "../matvec.metal"
#include "../matvec_fused.metal"
#include "../matmul.metal"
#include "../matmul_mma.metal"
#include "../norm.metal"
#include "../argmax.metal"
#include "../rope.metal"
#include "../rope_kv.metal"
#include "../elementwise.metal"
#include "../kv.metal"
#include "../attention.metal"
#include "../arch.metal"
#include "../attention_flash.metal"
#include "../attention_flash_mma.metal"   // after matmul_mma.metal (its mma wrappers) and attention_flash.metal
#pragma clang attribute pop
#pragma clang force_cuda_host_device end

// ---- per weight type: name_<type> for every struct blk_<type> of quants.metal ----

// get_rows_<type>: one warp per id; grid.x = ids, 32 threads.
template <typename B> __device__ __forceinline__ void get_rows(const uchar * table, const int * ids, float * dst, GetRowsArgs a) {
    get_rows_row<B>(table, ids, dst, a.ncols, GROUP_X, LANE);
}
PER_TYPE(get_rows, (const uchar * table, const int * ids, float * dst, GetRowsArgs a), (table, ids, dst, a))

// matvec_<type>: 2 warps of MV_ROWS rows per block; grid = (ceil(rows / 8), tokens),
// 64 threads.
template <typename B> __device__ __forceinline__ void matvec(const uchar * w, const float * x, float * y, MatvecArgs a) {
    matvec_rows<B>(w, x, y, a.ncols, a.nrows, GROUP_X, GROUP_Y, LANE, SIMD_GROUP);
}
PER_TYPE(matvec, (const uchar * w, const float * x, float * y, MatvecArgs a), (w, x, y, a))

// matmul_<type>: a 32-row × 32-token tile per block (4 warps); grid = (ceil(rows / 32),
// ceil(tokens / 32)), 128 threads; 12 KiB of static shared memory.
template <typename B> __device__ __forceinline__ void matmul(const uchar * w, const float * x, float * y, MatmulArgs a) {
    __shared__ float ws[MM_TILE * MM_TILE];   // [row][k]
    __shared__ float xs[MM_TILE * MM_TILE];   // [k][tok]
    __shared__ float os[MM_TILE * MM_TILE];   // [row][tok]
    matmul_tile<B>(w, x, y, a.ncols, a.nrows, a.ntok, GROUP_X, GROUP_Y, TID, SIMD_GROUP, ws, xs, os);
}
PER_TYPE(matmul, (const uchar * w, const float * x, float * y, MatmulArgs a), (w, x, y, a))

// matvec_wide_<type>: one warp per row, MVW_WARPS (8) per block; grid = (ceil(rows / 8),
// tokens), 256 threads. The weights and x are read-only for the kernel's life: restrict
// lets the compiler load them through the non-coherent cache (ld.global.nc).
template <typename B> __device__ __forceinline__ void matvec_wide(const uchar * __restrict__ w, const float * __restrict__ x,
                                                                 float * __restrict__ y, MatvecArgs a) {
    matvec_wide_row<B>(w, x, y, a.ncols, a.nrows, GROUP_X, GROUP_Y, LANE, SIMD_GROUP);
}
PER_TYPE(matvec_wide, (const uchar * __restrict__ w, const float * __restrict__ x, float * __restrict__ y, MatvecArgs a), (w, x, y, a))

// ---- matmul_mma_<type>: the tensor-core prompt matmul (matmul_mma.metal) ----
// A 128-row × 64-token tile per block (8 warps, each 32 rows × 32 tokens by mma.sync
// m16n8k16 bf16); grid = (ceil(rows / 128), ceil(tokens / 64)), 256 threads; 27 KiB of
// static shared memory. W and x are read-only for the kernel's life (ld.global.nc).
// launch_bounds(256, 2): at most 128 registers a thread, so two blocks fit an SM (a
// 512-token prompt has 128 blocks for a 2048-row matrix, 352 for a 5632-row one).
template <typename B> __device__ __forceinline__ void matmul_mma(const uchar * __restrict__ w, const float * __restrict__ x,
                                                                float * __restrict__ y, MatmulMMAArgs a) {
    __shared__ __attribute__((aligned(16))) uint ws[MMA_ROWS * MMA_LD];   // [row][k pair]
    __shared__ __attribute__((aligned(16))) uint xs[MMA_TOKS * MMA_LD];   // [token][k pair]
    matmul_mma_tile<B>(w, x, y, a.ncols, a.nrows, a.ntok, GROUP_X, GROUP_Y, TID, ws, xs);
}
#define MATMUL_MMA_ENTRY(name, T, params, args) \
    extern "C" __global__ void __attribute__((launch_bounds(256, 2))) name##_##T params { name<blk_##T> args; }
FOR_EACH_WEIGHT_TYPE(MATMUL_MMA_ENTRY, matmul_mma, (const uchar * __restrict__ w, const float * __restrict__ x, float * __restrict__ y, MatmulMMAArgs a), (w, x, y, a))
// ---- end matmul_mma ----

// ---- decode fusion (matvec_fused.metal) ----

// matvec_fused_<type>: as matvec_wide (8 warps, a warp per output row), grid =
// (ceil(output rows / 8), tokens), 256 threads; x staged in 24 KiB (+ 32 bytes) of static
// shared memory. W, x and the norm weight are read-only (ld.global.nc); res and y0 may
// be one buffer (the residual in place), so neither is restrict; with RoPE and the KV
// store, kc, vc (F16 caches) and pos are bound too.
template <typename B> __device__ __forceinline__ void matvec_fused(
    const uchar * __restrict__ w0, const uchar * __restrict__ w1, const uchar * __restrict__ w2,
    const float * __restrict__ x, const float * __restrict__ nw, const float * res,
    float * y0, float * y1, float * y2, half * kc, half * vc, const int * pos, MatvecFusedArgs a) {
    __shared__ float4 xs[MVF_CHUNK / 4];
    __shared__ float part[2 * MVW_WARPS];
    matvec_fused_rows<B>(w0, w1, w2, x, nw, res, y0, y1, y2, kc, vc, pos, a.ncols, a.rows0, a.rows1, a.rows2, a.flags, a.eps,
                         a.roles, a.head_dim, a.rope_dims, a.rope_base, a.layer_offset, GROUP_X, GROUP_Y, TID, LANE, SIMD_GROUP,
                         (float *) xs, part);
}
// Q4_K's entry under launch_bounds(256, 4): at most 64 registers a thread (100 without),
// so four blocks (32 warps) fit an SM. Measured on the H200 (docs/cuda.md, run 14) it
// pays for Q4_K and costs the other types, which keep the compiler's choice.
template <typename B> struct mvf_min_blocks { static constexpr int value = 0; };
template <> struct mvf_min_blocks<blk_q4_k> { static constexpr int value = 4; };
#define MATVEC_FUSED_ENTRY(name, T, params, args) \
    extern "C" __global__ void __attribute__((launch_bounds(256, mvf_min_blocks<blk_##T>::value))) name##_##T params { name<blk_##T> args; }
FOR_EACH_WEIGHT_TYPE(MATVEC_FUSED_ENTRY, matvec_fused, (const uchar * __restrict__ w0, const uchar * __restrict__ w1, const uchar * __restrict__ w2,
                     const float * __restrict__ x, const float * __restrict__ nw, const float * res,
                     float * y0, float * y1, float * y2, half * kc, half * vc, const int * pos, MatvecFusedArgs a),
         (w0, w1, w2, x, nw, res, y0, y1, y2, kc, vc, pos, a))

// RoPE of q and k and the KV store in one kernel (NeoX RoPE): one thread per q pair, k
// pair and KV element; grid = (ceil((q pairs + k pairs + kv_dim) / 256), tokens), 256 threads.
KERNEL rope_kv(float * q, float * k, const float * v, half * kc, half * vc, const int * pos, RopeKVArgs a) {
    rope_kv_one(q, k, v, kc, vc, pos, a.nhead, a.nkvhead, a.head_dim, a.dims, a.base, a.neox, a.layer_offset, GID_X, GID_Y);
}

// ---- single kernels ----

// One warp per row; grid.x = rows, 32 threads.
KERNEL rms_norm(const float * x, const float * w, float * y, NormArgs a) {
    rms_norm_row(x + GROUP_X * a.ncols, w, y + GROUP_X * a.ncols, a.ncols, a.eps, LANE);
}

// One block of NORM_WARPS (8) warps per row; grid.x = rows, 256 threads; the warps' partial
// sums in 32 bytes of static shared memory.
KERNEL rms_norm_wide(const float * __restrict__ x, const float * __restrict__ w, float * __restrict__ y, NormArgs a) {
    __shared__ float part[NORM_WARPS];
    rms_norm_wide_row(x + GROUP_X * a.ncols, w, y + GROUP_X * a.ncols, a.ncols, a.eps, TID, LANE, SIMD_GROUP, part);
}

// One warp per row; grid.x = rows, 32 threads.
KERNEL argmax(const float * x, int * out, int ncols) {
    argmax_row(x + GROUP_X * ncols, out + GROUP_X, ncols, LANE);
}

// One thread per (pair, head, row); grid = (ceil(dims / 2 / 32), heads, rows), 32 threads.
KERNEL rope(float * x, const int * pos, RopeArgs a) {
    rope_pair(x, pos, a.nhead, a.head_dim, a.dims, a.base, a.neox, GID_X, GID_Y, GID_Z);
}

// One thread per element; grid.x = ceil(n / 256), 256 threads.
KERNEL add(const float * a, const float * b, float * y, EltArgs p) {
    add_one(a, b, y, p.n, GID_X);
}

// One thread per element; grid.x = ceil(n / 256), 256 threads.
KERNEL swiglu(const float * gate, const float * up, float * y, EltArgs p) {
    swiglu_one(gate, up, y, p.n, GID_X);
}

// One thread per element; grid = (ceil(kv_dim / 32), tokens), 32 threads.
KERNEL kv_store(const float * k, const float * v, half * kc, half * vc, const int * pos, KVArgs a) {
    kv_store_one(k, v, kc, vc, pos, a.kv_dim, a.layer_offset, GID_X, GID_Y);
}

// One warp per (head, 32-position block); grid = (heads, ceil(n_ctx / 32)), 32 threads,
// the blocks past pos[0] exit; the block's probabilities in 128 bytes of static shared memory.
KERNEL attn_partial(const float * q, const half * kc, const half * vc, float * part, const int * pos, AttnArgs a) {
    __shared__ float p[ATT_BLOCK];
    attn_partial_block(q, kc, vc, part, pos, a.nhead, a.nkvhead, a.head_dim, a.nblocks, a.scale, a.softcap,
                       a.window, a.layer_offset, GROUP_X, GROUP_Y, LANE, p);
}

// One warp per head; grid.x = heads, 32 threads.
KERNEL attn_merge(const float * part, float * o, const int * pos, AttnArgs a) {
    attn_merge_head(part, o, pos, a.head_dim, a.nblocks, GROUP_X, LANE);
}

// One warp per (head, query row); grid = (heads, rows), 32 threads; a block's
// probabilities in 128 bytes of static shared memory.
KERNEL attn_prefill(const float * q, const half * kc, const half * vc, float * o, const int * pos, AttnArgs a) {
    __shared__ float p[ATT_BLOCK];
    attn_prefill_row(q, kc, vc, o, pos, a.nhead, a.nkvhead, a.head_dim, a.scale, a.softcap, a.window,
                     a.layer_offset, GROUP_X, GROUP_Y, LANE, p);
}

// ---- issue 14: the ops of backend.ArchOps (arch.metal) ----

// One thread per element; grid.x = ceil(n / 256), 256 threads.
KERNEL scale(float * x, ArchEltArgs p) {
    scale_one(x, p.n, p.s, GID_X);
}

// One thread per element; grid.x = ceil(n / 256), 256 threads.
KERNEL add_row(const float * x, const float * bias, float * y, ArchEltArgs p) {
    add_row_one(x, bias, y, p.n, p.cols, GID_X);
}

// One thread per element; grid.x = ceil(n / 256), 256 threads.
KERNEL softcap(float * x, ArchEltArgs p) {
    softcap_one(x, p.n, p.s, GID_X);
}

// One thread per element; grid.x = ceil(n / 256), 256 threads.
KERNEL geglu(const float * gate, const float * up, float * y, ArchEltArgs p) {
    geglu_one(gate, up, y, p.n, GID_X);
}

// One thread per (pair, head, row); grid = (ceil(dims / 2 / 32), heads, rows), 32 threads.
KERNEL rope_ff(float * x, const int * pos, const float * ff, RopeFFArgs a) {
    rope_ff_pair(x, pos, ff, a.nhead, a.head_dim, a.dims, a.base, a.neox, a.mscale, GID_X, GID_Y, GID_Z);
}

// ---- attention_flash.metal (the CUDA target's attention) ----

// Flash attention for a prompt: 32 queries of one head per block, 64 threads; grid =
// (heads, ceil(rows / 32)), the last query tile first; 30 KiB of static shared memory
// (Q tile, K and V tiles, probabilities). The caches and q are read-only here.
KERNEL attn_flash(const float * __restrict__ q, const half * __restrict__ kc, const half * __restrict__ vc,
                  float * __restrict__ o, const int * __restrict__ pos, AttnFlashArgs a) {
    __shared__ __attribute__((aligned(16))) float qs[AF_QS];
    __shared__ __attribute__((aligned(16))) float kvs[AF_KVS];
    __shared__ __attribute__((aligned(16))) float ps[AF_PS];
    attn_flash_tile(q, kc, vc, o, pos, a.nhead, a.nkvhead, a.head_dim, a.nq, a.scale, a.softcap, a.window, a.layer_offset, GROUP_X,
                    (a.nq + AF_BQ - 1) / AF_BQ - 1 - (int) GROUP_Y, TID, qs, kvs, ps);
}

// Decode attention in one launch: block (head, split) of 128 threads; grid = (heads,
// nsplit); the last split of a head to finish merges (count: one int per head, zero
// between launches).
KERNEL attn_decode(const float * __restrict__ q, const half * __restrict__ kc, const half * __restrict__ vc,
                   float * part, atomic_int * count, float * __restrict__ o, const int * __restrict__ pos,
                   AttnFlashArgs a) {
    __shared__ __attribute__((aligned(16))) float qs[AD_DMAX];
    __shared__ float ps[AD_THREADS];
    __shared__ float red[8];
    __shared__ float accs[2 * AD_THREADS];
    __shared__ int last[1];
    attn_decode_split(q, kc, vc, part, count, o, pos, a.nhead, a.nkvhead, a.head_dim, a.nsplit, a.scale, a.softcap, a.window,
                      a.layer_offset, GROUP_X, GROUP_Y, TID, qs, ps, red, accs, last);
}

// ---- attn_flash_mma (attention_flash_mma.metal): the prompt's attention on tensor cores ----
// 64 queries of one head per block, 4 warps of 16 (mma.sync m16n8k16 bf16), KV tiles of 64
// positions; grid = (heads, ceil(rows / 64)), the last query tile first; 35 KiB of static
// shared memory (K tile [position][dim pair], V tile [dim][position pair], bf16, rows
// padded by 4 words). B fragments by ldmatrix.x4. Head
// dims ≤ 64 take the 64-wide fragments, larger ones (≤ 128) the 128-wide. The caches, q
// and pos are read-only here.
extern "C" __global__ void __attribute__((launch_bounds(128))) attn_flash_mma(
    const float * __restrict__ q, const half * __restrict__ kc, const half * __restrict__ vc, float * __restrict__ o,
    const int * __restrict__ pos, AttnFlashArgs a) {
    __shared__ __attribute__((aligned(16))) uint ks[AFM_BK * AFM_KLD];     // [position][dim pair]
    __shared__ __attribute__((aligned(16))) uint vt[AFM_DMAX * AFM_VLD];   // [dim][position pair]
    int qt = (a.nq + AFM_BQ - 1) / AFM_BQ - 1 - (int) GROUP_Y;
    if (a.head_dim <= 64) {
        attn_flash_mma_tile<64>(q, kc, vc, o, pos, a.nhead, a.nkvhead, a.head_dim, a.nq, a.scale, a.softcap, a.window,
                                a.layer_offset, GROUP_X, qt, TID, ks, vt);
    } else {
        attn_flash_mma_tile<128>(q, kc, vc, o, pos, a.nhead, a.nkvhead, a.head_dim, a.nq, a.scale, a.softcap, a.window,
                                 a.layer_offset, GROUP_X, qt, TID, ks, vt);
    }
}
// ---- end attn_flash_mma ----
