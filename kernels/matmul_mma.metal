// matmul_mma.metal — the prompt matmul on tensor cores (the backend picks it on CUDA,
// metal.LaunchMatMulFor): Y[t][r] = Σ_k W[r][k] X[t][k] by warp-wide m16n8k16 bfloat16
// products with float accumulation (PTX mma.sync; a stand-in of the same fragment
// layout built from SIMD shuffles everywhere else, so the simulator checks the kernel).
//
// Work split: a threadgroup of 8 SIMD groups (256 threads) computes a 128-row × 64-token
// tile. For each 64-wide slice of K every thread dequantizes two 16-element chunks of
// W (row tid / 2, mma_stage_w) and reads 4 float4s of X; both go to threadgroup
// memory as bfloat16 pairs, row-major with K contiguous, laid out (mma_word) so that the
// fragment loads (lane 4g+t reads word 8kk + t of a row ≡ g mod 8) hit 32 distinct
// banks. SIMD group s then multiplies rows 32(s % 4).. × tokens 32(s / 4)..: 2 × 4
// m16n8 accumulators, 4 k16 steps a slice (32 × 32 a SIMD group: 16 fragment loads for
// 8 products, where 32 × 16 took 12 for 4). Past the matrix, rows and tokens are
// clamped (their outputs are not stored) and K is zeroed.
//
// bfloat16 rather than float16: activations reach 1e4–1e5 in some models (float16's
// largest is 65504, so they would become inf); bfloat16 keeps float's exponent range,
// and its 8-bit significand costs an NMSE of order 1e-5, under matmul's 5e-4.

#define MMA_ROWS 128
#define MMA_TOKS 64
#define MMA_K 64    // K a slice
#define MMA_WC 2    // W chunks of 16 a thread stages a slice: 128 rows × 4 chunks / 256
#define MMA_XV 4    // X float4s a thread stages a slice: 64 tokens × 16 float4s / 256

struct MatmulMMAArgs {   // matmul.metal's MatmulArgs (each file compiles with quants.metal alone)
    int ncols;   // K
    int nrows;   // rows of W
    int ntok;    // rows of X
};

// Two floats as bfloat16s in one word, lo in the low half (the lower K index, as the
// mma fragments expect); round to nearest even.
inline uint mma_bf16_bits(float f) {
    uint u = as_type<uint>(f);
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}
inline uint mma_pack_bf16(float lo, float hi) {
#if defined(__CUDA_ARCH__)
    return as_type<uint>(__nvvm_ff2bf16x2_rn(hi, lo));   // cvt.rn.bf16x2.f32
#else
    return mma_bf16_bits(lo) | (mma_bf16_bits(hi) << 16);
#endif
}

// d += a·b for a 16×16 A (row-major) and a 16×8 B (column-major), bfloat16 in, float
// accumulation: PTX's mma.sync m16n8k16 .row.col, whose per-lane fragments (lane =
// 4g + t) are
//   a[0] = A[g][2t, 2t+1]    a[1] = A[g+8][2t, 2t+1]   a[2] = A[g][2t+8, 2t+9]   a[3] = A[g+8][2t+8, 2t+9]
//   b[0] = B[2t, 2t+1][g]    b[1] = B[2t+8, 2t+9][g]
//   d[0], d[1] = D[g][2t, 2t+1]   d[2], d[3] = D[g+8][2t, 2t+1]
// (pairs in one word, the first in the low half). The stand-in gathers row g (and g+8)
// of A from lanes 4g..4g+3 and columns 2t, 2t+1 of B from lanes 8t.. and 8t+4.. by
// shuffles of a lane's whole fragment, 12 a product.
inline float mma_lo(uint v) { return as_type<float>(v << 16); }
inline float mma_hi(uint v) { return as_type<float>(v & 0xffff0000u); }

inline void mma_m16n8k16_bf16(thread float * d, thread const uint * a, thread const uint * b, int lane) {
#if defined(__CUDA_ARCH__)
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    int g = lane / 4, t = lane % 4;
    uint4 av;   // (built element by element: CUDA's C++ has no uint4(a, b, c, d))
    uint2 bv;
    for (int i = 0; i < 4; i++) av[i] = a[i];
    for (int i = 0; i < 2; i++) bv[i] = b[i];
    for (int q = 0; q < 4; q++) {   // lane 4g + q holds K = 2q, 2q+1, 2q+8, 2q+9 of rows g, g+8
        uint4 aq = simd_shuffle(av, 4 * g + q);
        uint2 b0 = simd_shuffle(bv, 8 * t + q);       // column 2t
        uint2 b1 = simd_shuffle(bv, 8 * t + 4 + q);   // column 2t+1
        d[0] += mma_lo(aq[0]) * mma_lo(b0[0]) + mma_hi(aq[0]) * mma_hi(b0[0]) + mma_lo(aq[2]) * mma_lo(b0[1]) + mma_hi(aq[2]) * mma_hi(b0[1]);
        d[1] += mma_lo(aq[0]) * mma_lo(b1[0]) + mma_hi(aq[0]) * mma_hi(b1[0]) + mma_lo(aq[2]) * mma_lo(b1[1]) + mma_hi(aq[2]) * mma_hi(b1[1]);
        d[2] += mma_lo(aq[1]) * mma_lo(b0[0]) + mma_hi(aq[1]) * mma_hi(b0[0]) + mma_lo(aq[3]) * mma_lo(b0[1]) + mma_hi(aq[3]) * mma_hi(b0[1]);
        d[3] += mma_lo(aq[1]) * mma_lo(b1[0]) + mma_hi(aq[1]) * mma_hi(b1[0]) + mma_lo(aq[3]) * mma_lo(b1[1]) + mma_hi(aq[3]) * mma_hi(b1[1]);
    }
#endif
}

// Stages W for the tile in two steps, so that the next slice's loads can be in flight
// during this slice's products: load(row, c, lastc, ncols) reads elements [16c, 16c + 32)
// of a row (chunks c and c + 1, each clamped to lastc), words(p) returns them as 16
// bfloat16 pairs. Generic: the type's dq16 twice, all in load (dq16 loads and decodes
// at once). Q4_0 and Q8_0 load their 32-element block as 2-byte words (their blocks are
// 2-byte aligned; a third to a half of two dq16's byte loads, each byte read once) and
// decode in words.
template <typename B>
struct MMAWStage {
    uint p[16];
    inline void load(device const uchar * row, int c, int lastc, int ncols) {
        float v[32];
        B::dq16(row, min(c, lastc), ncols, v);
        B::dq16(row, min(c + 1, lastc), ncols, v + 16);
        #pragma clang loop unroll(full)
        for (int l = 0; l < 16; l++) p[l] = mma_pack_bf16(v[2 * l], v[2 * l + 1]);
    }
    inline void words(thread uint * out) {
        #pragma clang loop unroll(full)
        for (int l = 0; l < 16; l++) out[l] = p[l];
    }
};
template <>
struct MMAWStage<blk_q4_0> {
    ushort q[9];   // the scale, then bytes 2i, 2i + 1 in q[1 + i]
    inline void load(device const uchar * row, int c, int lastc, int ncols) {
        // c is even and lastc odd (K is whole blocks): chunks c, c + 1 are one block.
        device const ushort * b = (device const ushort *) (row + min(c / 2, lastc / 2) * blk_q4_0::BYTES);
        #pragma clang loop unroll(full)
        for (int i = 0; i < 9; i++) q[i] = b[i];
    }
    inline void words(thread uint * p) {
        float d = float(as_type<half>(q[0]));
        #pragma clang loop unroll(full)
        for (int i = 0; i < 8; i++) {   // elements 2i, 2i + 1 (low nibbles), 16 + 2i, 17 + 2i (high)
            uint u = q[1 + i];
            p[i] = mma_pack_bf16(d * float(int(u & 15u) - 8), d * float(int((u >> 8) & 15u) - 8));
            p[8 + i] = mma_pack_bf16(d * float(int((u >> 4) & 15u) - 8), d * float(int(u >> 12) - 8));
        }
    }
};
template <>
struct MMAWStage<blk_q8_0> {
    ushort q[17];   // the scale, then bytes 2i, 2i + 1 in q[1 + i]
    inline void load(device const uchar * row, int c, int lastc, int ncols) {
        device const ushort * b = (device const ushort *) (row + min(c / 2, lastc / 2) * blk_q8_0::BYTES);
        #pragma clang loop unroll(full)
        for (int i = 0; i < 17; i++) q[i] = b[i];
    }
    inline void words(thread uint * p) {
        float d = float(as_type<half>(q[0]));
        #pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) {   // elements 2i, 2i + 1 (signed bytes)
            uint u = q[1 + i];
            p[i] = mma_pack_bf16(d * float(int(u << 24) >> 24), d * float(int(u << 16) >> 24));
        }
    }
};

template <>
struct MMAWStage<blk_q4_k> {
    // c is even and lastc ≡ 15 mod 16 (K is whole blocks): chunks c, c + 1 are sub-block
    // s of one block, whose 32 bytes of nibbles (low for even s, high for odd) are
    // 4-byte aligned (blocks are 144 bytes): 12 4-byte loads where two dq16 take ~44.
    uint h, sc[3], q[8];   // d | dmin << 16, the 12 scale bytes, the sub-block's bytes
    int s;
    inline void load(device const uchar * row, int c, int lastc, int ncols) {
        int cc = min(c, lastc - 1);
        device const uint * b = (device const uint *) (row + (cc / 16) * blk_q4_k::BYTES);
        s = (cc % 16) / 2;
        h = b[0];
        #pragma clang loop unroll(full)
        for (int i = 0; i < 3; i++) sc[i] = b[1 + i];
        #pragma clang loop unroll(full)
        for (int i = 0; i < 8; i++) q[i] = b[4 + 8 * (s / 2) + i];
    }
    inline uint scale_byte(int i) {   // by masks: a select of sc[] became an indexed load (.local)
        uint v = (sc[0] & (i < 4 ? ~0u : 0u)) | (sc[1] & (i >= 4 && i < 8 ? ~0u : 0u)) | (sc[2] & (i >= 8 ? ~0u : 0u));
        return (v >> (8 * (i & 3))) & 255u;
    }
    inline void words(thread uint * p) {
        uint scl, mnl;   // scale_min_k4
        if (s < 4) {
            scl = scale_byte(s) & 63u;
            mnl = scale_byte(s + 4) & 63u;
        } else {
            scl = (scale_byte(s + 4) & 15u) | ((scale_byte(s - 4) >> 6) << 4);
            mnl = (scale_byte(s + 4) >> 4) | ((scale_byte(s) >> 6) << 4);
        }
        float d = float(as_type<half>(ushort(h & 0xffffu))) * float(scl);
        float m = float(as_type<half>(ushort(h >> 16))) * float(mnl);
        int sh = 4 * (s % 2);
        #pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) {   // elements 2i, 2i + 1 of the sub-block: bytes 2i, 2i + 1
            uint u = q[i / 2] >> (16 * (i % 2) + sh);
            p[i] = mma_pack_bf16(d * float(u & 15u) - m, d * float((u >> 8) & 15u) - m);
        }
    }
};

template <>
struct MMAWStage<blk_q6_k> {
    // c is even (K is whole blocks): chunks c, c + 1 are 32 consecutive bytes of ql and of
    // qh and two adjacent scale bytes; blocks are 210 bytes, 2-byte aligned: 34 2-byte
    // loads where two dq16 take 70 byte loads. Decoded in load, as the generic path (34
    // raw words would be too many registers to carry across the products).
    uint p[16];
    inline void load(device const uchar * row, int c, int lastc, int ncols) {
        int cc = min(c, lastc - 1);
        device const uchar * b = row + (cc / 16) * blk_q6_k::BYTES;
        int e = 16 * (cc % 16), nn = e / 128, quarter = (e % 128) / 32;
        device const ushort * ql = (device const ushort *) (b + 64 * nn + 32 * (quarter % 2));
        device const ushort * qh = (device const ushort *) (b + 128 + 32 * nn);
        uint sw = *(device const ushort *) (b + 192 + 8 * nn + 2 * quarter);
        float dd = float(as_type<half>(*(device const ushort *) (b + 208)));
        float d0 = dd * float(int(sw << 24) >> 24), d1 = dd * float(int(sw << 16) >> 24);
        int shl = (quarter / 2) * 4, shh = 2 * quarter;
        #pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) {   // elements 2i, 2i + 1: bytes 2i, 2i + 1 of ql and qh
            uint u = ql[i], v = qh[i];
            int q0 = int(((u >> shl) & 15u) | (((v >> shh) & 3u) << 4));
            int q1 = int(((u >> (8 + shl)) & 15u) | (((v >> (8 + shh)) & 3u) << 4));
            float d = i < 8 ? d0 : d1;
            p[i] = mma_pack_bf16(d * float(q0 - 32), d * float(q1 - 32));
        }
    }
    inline void words(thread uint * out) {
        #pragma clang loop unroll(full)
        for (int l = 0; l < 16; l++) out[l] = p[l];
    }
};

// X for the tile: this thread's MMA_XV float4s of tokens t + 16j at K index k (clamped
// into the matrix: loads are unconditional).
inline void mma_load_x(device const float * x, thread float4 * xv, int k, int t, int ncols, int ntok, bool xvec) {
    if (xvec) {
        #pragma clang loop unroll(full)
        for (int j = 0; j < MMA_XV; j++) {
            long tk = min(t + 16 * j, ntok - 1);
            xv[j] = *(device const float4 *) (x + tk * ncols + min(k, ncols - 4));
        }
    } else {
        #pragma clang loop unroll(full)
        for (int j = 0; j < MMA_XV; j++) {
            long tk = min(t + 16 * j, ntok - 1);
            #pragma clang loop unroll(full)
            for (int e = 0; e < 4; e++) xv[j][e] = x[tk * ncols + min(k + e, ncols - 1)];
        }
    }
}

// Where word w of tile row r is. CUDA pads rows to 36 words (row r starts 4r banks on):
// every fragment load is then one base register plus a constant, and the staging
// stores (16-byte W, 8-byte X) are conflict-free. Elsewhere (the simulator) rows are 32
// words with w XORed by 4(r % 8), the same fragment banks without padding.
#if defined(__CUDA__)
#define MMA_LD 36
inline int mma_word(int r, int w) { return r * MMA_LD + w; }
#else
#define MMA_LD 32
inline int mma_word(int r, int w) { return r * MMA_LD + (w ^ ((r & 7) << 2)); }
#endif

#if defined(__CUDA_ARCH__)
// ldmatrix (CUDA): four 8 × 8 bfloat16 matrices, lanes 8m..8m+7 giving the 16-byte rows
// of matrix m; lane 4g + t receives word t of row g of matrix m in d[m], the fragment
// layout of mma.sync. One instruction for what takes four 4-byte shared loads.
inline uint mma_smem(threadgroup const uint * p) {
    uint a;
    asm("{ .reg .u64 s; cvta.to.shared.u64 s, %1; cvt.u32.u64 %0, s; }" : "=r"(a) : "l"(p));
    return a;
}
inline void mma_ldmatrix_x4(thread uint * d, uint addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3]) : "r"(addr) : "memory");
}
#endif

// Staging stores: 16 W words of row r from word w (w a multiple of 4) and 2 X words.
inline void mma_store_w(threadgroup uint * ws, int r, int w, thread const uint * p) {
#if defined(__CUDA__)
    #pragma clang loop unroll(full)
    for (int q = 0; q < 4; q++) {
        uint4 v;
        for (int e = 0; e < 4; e++) v[e] = p[4 * q + e];
        *(threadgroup uint4 *) (ws + mma_word(r, w + 4 * q)) = v;
    }
#else
    for (int l = 0; l < 16; l++) ws[mma_word(r, w + l)] = p[l];
#endif
}
inline void mma_store_x(threadgroup uint * xs, int r, int w, uint lo, uint hi) {
#if defined(__CUDA__)
    uint2 v;
    v[0] = lo;
    v[1] = hi;
    *(threadgroup uint2 *) (xs + mma_word(r, w)) = v;
#else
    xs[mma_word(r, w)] = lo;
    xs[mma_word(r, w + 1)] = hi;
#endif
}

// Shared with CUDA: (gx, gy) is the threadgroup's position, ws and xs its threadgroup
// arrays of MMA_ROWS * MMA_LD and MMA_TOKS * MMA_LD words.
template <typename B>
inline void matmul_mma_tile(device const uchar * w, device const float * x, device float * y,
                            int ncols, int nrows, int ntok, int gx, int gy, uint tid,
                            threadgroup uint * ws, threadgroup uint * xs) {
    int r0 = gx * MMA_ROWS, t0 = gy * MMA_TOKS;
    int rb = row_bytes<B>(ncols);
    int lane = tid % 32, sg = tid / 32;
    int g = lane / 4, t = lane % 4;
    int wr = 32 * (sg % 4), wt = 32 * (sg / 4);   // the SIMD group's sub-tile
    // Staging: this thread's W chunks are 2·(tid % 2) + c (c < MMA_WC) of row tid / 2 in
    // the slice; its X float4s are float4 tid % 16 of the slice in tokens tid / 16 + 16j
    // (a SIMD group reads 256 consecutive bytes of each of two tokens' rows).
    int srow = tid / 2, schunk = 2 * (tid % 2);
    device const uchar * wrow = w + (long) min(r0 + srow, nrows - 1) * rb;   // clamped: loads stay
    int lastc = (ncols - 1) / 16;                                           // in the matrix, unconditional
    int xf = tid % 16, xt = tid / 16;
    bool xvec = ncols % 4 == 0;   // x rows 16-byte aligned
    float acc[2][4][4];
    #pragma clang loop unroll(full)
    for (int i = 0; i < 2; i++) {
        #pragma clang loop unroll(full)
        for (int j = 0; j < 4; j++) {
            #pragma clang loop unroll(full)
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;
        }
    }
    // Register double-buffering: slice k0 + MMA_K's loads are issued before slice k0's
    // products (clamped, unconditional: the last slice's are discarded), so the memory
    // latency overlaps the tensor work, not the barrier. Every load of a slice is issued
    // before the first use of any (no branch between them).
#if defined(__CUDA_ARCH__)
    // ldmatrix rows (byte offsets; + 32 a k16 step): A's matrices m are rows 8(m % 2)..,
    // K words 4(m / 2).. of the 16 × 16 (a[m]); B's, for tiles j, j + 1, are tokens
    // 8(m / 2).., K words 4(m % 2).. (b[j][0], b[j][1], b[j + 1][0], b[j + 1][1]).
    uint wsa = mma_smem(ws), xsa = mma_smem(xs);
    int lm = lane / 8, lr = lane % 8;
    uint aoff[2], boff[2];
    #pragma clang loop unroll(full)
    for (int i = 0; i < 2; i++) {
        aoff[i] = 4 * mma_word(wr + 16 * i + 8 * (lm % 2) + lr, 4 * (lm / 2));
        boff[i] = 4 * mma_word(wt + 16 * i + 8 * (lm / 2) + lr, 4 * (lm % 2));
    }
#endif
    float4 xv[MMA_XV];
    MMAWStage<B> wst;
    mma_load_x(x, xv, 4 * xf, t0 + xt, ncols, ntok, xvec);
    wst.load(wrow, schunk, lastc, ncols);
    for (int k0 = 0; k0 < ncols; k0 += MMA_K) {
        int k = k0 + 4 * xf;
        uint wp[8 * MMA_WC];
        wst.words(wp);
        // Past the matrix the loads read clamped (finite) elements: rows and tokens past it
        // only reach outputs that are not stored; K past it is zeroed on the X side, by a
        // multiply (a select of the loaded value would become a branch around its load).
        mma_store_w(ws, srow, 8 * schunk, wp);
        float4 kin;
        #pragma clang loop unroll(full)
        for (int e = 0; e < 4; e++) kin[e] = k + e < ncols ? 1.0f : 0.0f;
        #pragma clang loop unroll(full)
        for (int j = 0; j < MMA_XV; j++) {
            float4 u = xv[j] * kin;
            mma_store_x(xs, xt + 16 * j, 2 * xf, mma_pack_bf16(u[0], u[1]), mma_pack_bf16(u[2], u[3]));
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        mma_load_x(x, xv, k + MMA_K, t0 + xt, ncols, ntok, xvec);
        wst.load(wrow, (k0 + MMA_K) / 16 + schunk, lastc, ncols);
        #pragma clang loop unroll(full)
        for (int kk = 0; kk < MMA_K / 16; kk++) {
            uint a[2][4], b[4][2];
#if defined(__CUDA_ARCH__)
            #pragma clang loop unroll(full)
            for (int i = 0; i < 2; i++) mma_ldmatrix_x4(a[i], wsa + aoff[i] + 32 * kk);
            #pragma clang loop unroll(full)
            for (int j = 0; j < 4; j += 2) {
                uint bq[4];
                mma_ldmatrix_x4(bq, xsa + boff[j / 2] + 32 * kk);
                b[j][0] = bq[0];
                b[j][1] = bq[1];
                b[j + 1][0] = bq[2];
                b[j + 1][1] = bq[3];
            }
#else
            #pragma clang loop unroll(full)
            for (int i = 0; i < 2; i++) {
                // (indices, not threadgroup pointers: the simulator makes a local declared
                // `threadgroup` one per threadgroup)
                int r = wr + 16 * i + g;
                a[i][0] = ws[mma_word(r, 8 * kk + t)];
                a[i][1] = ws[mma_word(r + 8, 8 * kk + t)];
                a[i][2] = ws[mma_word(r, 8 * kk + 4 + t)];
                a[i][3] = ws[mma_word(r + 8, 8 * kk + 4 + t)];
            }
            #pragma clang loop unroll(full)
            for (int j = 0; j < 4; j++) {
                int r = wt + 8 * j + g;
                b[j][0] = xs[mma_word(r, 8 * kk + t)];
                b[j][1] = xs[mma_word(r, 8 * kk + 4 + t)];
            }
#endif
            #pragma clang loop unroll(full)
            for (int i = 0; i < 2; i++) {
                #pragma clang loop unroll(full)
                for (int j = 0; j < 4; j++) {
                    mma_m16n8k16_bf16(acc[i][j], a[i], b[j], lane);
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    #pragma clang loop unroll(full)
    for (int i = 0; i < 2; i++) {
        #pragma clang loop unroll(full)
        for (int j = 0; j < 4; j++) {
            #pragma clang loop unroll(full)
            for (int e = 0; e < 4; e++) {
                int r = r0 + wr + 16 * i + g + 8 * (e / 2), tk = t0 + wt + 8 * j + 2 * t + e % 2;
                if (r < nrows && tk < ntok) {
                    y[(long) tk * nrows + r] = acc[i][j][e];
                }
            }
        }
    }
}

#ifndef __CUDA__
template <typename B>
kernel void matmul_mma(device const uchar * w [[buffer(0)]],
                       device const float * x [[buffer(1)]],
                       device float * y [[buffer(2)]],
                       constant MatmulMMAArgs & a [[buffer(3)]],
                       uint3 tgpig [[threadgroup_position_in_grid]],
                       uint tid [[thread_index_in_threadgroup]]) {
    threadgroup uint ws[MMA_ROWS * MMA_LD];   // [row][k pair]
    threadgroup uint xs[MMA_TOKS * MMA_LD];   // [token][k pair]
    matmul_mma_tile<B>(w, x, y, a.ncols, a.nrows, a.ntok, tgpig.x, tgpig.y, tid, ws, xs);
}
#endif
