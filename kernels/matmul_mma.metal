// matmul_mma.metal — the prompt matmul on tensor cores (the backend picks it on CUDA,
// metal.LaunchMatMulFor): Y[t][r] = Σ_k W[r][k] X[t][k] by warp-wide m16n8k16 bfloat16
// products with float accumulation (PTX mma.sync; a stand-in of the same fragment
// layout built from SIMD shuffles everywhere else, so the simulator checks the kernel).
//
// Work split: a threadgroup of 8 SIMD groups (256 threads) computes a 64-row × 64-token
// tile. For each 128-wide slice of K every thread dequantizes two 16-element chunks of
// W (row tid / 4, the type's dq16) and reads 8 float4s of X; both go to threadgroup
// memory as bfloat16 pairs, row-major with K contiguous, laid out (mma_word) so that the
// fragment loads (lane 4g+t reads word 8kk + t of a row ≡ g mod 8) hit 32 distinct
// banks. SIMD group s then multiplies rows 32(s % 2).. × tokens 16(s / 2)..: 2 × 2
// m16n8 accumulators, 8 k16 steps a slice. Past the matrix, rows and tokens are clamped
// (their outputs are not stored) and K is zeroed.
//
// bfloat16 rather than float16: activations reach 1e4–1e5 in some models (float16's
// largest is 65504, so they would become inf); bfloat16 keeps float's exponent range,
// and its 8-bit significand costs an NMSE of order 1e-5, under matmul's 5e-4.

#define MMA_ROWS 64
#define MMA_TOKS 64
#define MMA_K 128   // K a slice
#define MMA_WC 2    // W chunks of 16 a thread stages a slice: 64 rows × 8 chunks / 256
#define MMA_XV 8    // X float4s a thread stages a slice: 64 tokens × 32 float4s / 256

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

// Where word w of tile row r is. CUDA pads rows to 68 words (row r starts 4r banks on):
// every fragment load is then one base register plus a constant. That is 34 KiB, over
// Metal's 32 KiB, so elsewhere (the simulator) rows are 64 words with w XORed by 4(r % 8),
// the same banks without padding.
#if defined(__CUDA__)
#define MMA_LD 68
inline int mma_word(int r, int w) { return r * MMA_LD + w; }
#else
#define MMA_LD 64
inline int mma_word(int r, int w) { return r * MMA_LD + (w ^ ((r & 7) << 2)); }
#endif

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
    int wr = 32 * (sg % 2), wt = 16 * (sg / 2);   // the SIMD group's sub-tile
    // Staging: this thread's W chunks are 2·(tid % 4) + c (c < MMA_WC) of row tid / 4 in
    // the slice; its X float4s are float4 tid % 32 of the slice in tokens tid / 32 + 8j
    // (a SIMD group reads 512 consecutive bytes of a token's row).
    int srow = tid / 4, schunk = 2 * (tid % 4);
    device const uchar * wrow = w + (long) min(r0 + srow, nrows - 1) * rb;   // clamped: loads stay
    int lastc = (ncols - 1) / 16;                                           // in the matrix, unconditional
    int xf = tid % 32, xt = tid / 32;
    bool xvec = ncols % 4 == 0;   // x rows 16-byte aligned
    float acc[2][2][4];
    #pragma clang loop unroll(full)
    for (int i = 0; i < 2; i++) {
        #pragma clang loop unroll(full)
        for (int j = 0; j < 2; j++) {
            #pragma clang loop unroll(full)
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;
        }
    }
    for (int k0 = 0; k0 < ncols; k0 += MMA_K) {
        // Every load of the slice is issued before the first use of any (no branch between
        // them): the slice costs one memory latency, not one per chunk.
        float4 xv[MMA_XV];
        int k = k0 + 4 * xf;
        if (xvec) {
            #pragma clang loop unroll(full)
            for (int j = 0; j < MMA_XV; j++) {
                long tk = min(t0 + xt + 8 * j, ntok - 1);
                xv[j] = *(device const float4 *) (x + tk * ncols + min(k, ncols - 4));
            }
        } else {
            #pragma clang loop unroll(full)
            for (int j = 0; j < MMA_XV; j++) {
                long tk = min(t0 + xt + 8 * j, ntok - 1);
                #pragma clang loop unroll(full)
                for (int e = 0; e < 4; e++) xv[j][e] = x[tk * ncols + min(k + e, ncols - 1)];
            }
        }
        float v[MMA_WC][16];
        #pragma clang loop unroll(full)
        for (int c = 0; c < MMA_WC; c++) {
            B::dq16(wrow, min(k0 / 16 + schunk + c, lastc), ncols, v[c]);
        }
        // Past the matrix the loads read clamped (finite) elements: rows and tokens past it
        // only reach outputs that are not stored; K past it is zeroed on the X side, by a
        // multiply (a select of the loaded value would become a branch around its load).
        #pragma clang loop unroll(full)
        for (int c = 0; c < MMA_WC; c++) {
            #pragma clang loop unroll(full)
            for (int l = 0; l < 8; l++) {
                ws[mma_word(srow, 8 * (schunk + c) + l)] = mma_pack_bf16(v[c][2 * l], v[c][2 * l + 1]);
            }
        }
        float4 kin;
        #pragma clang loop unroll(full)
        for (int e = 0; e < 4; e++) kin[e] = k + e < ncols ? 1.0f : 0.0f;
        #pragma clang loop unroll(full)
        for (int j = 0; j < MMA_XV; j++) {
            int tk = xt + 8 * j;
            float4 u = xv[j] * kin;
            xs[mma_word(tk, 2 * xf)] = mma_pack_bf16(u[0], u[1]);
            xs[mma_word(tk, 2 * xf + 1)] = mma_pack_bf16(u[2], u[3]);
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        #pragma clang loop unroll(full)
        for (int kk = 0; kk < MMA_K / 16; kk++) {
            uint a[2][4], b[2][2];
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
            for (int j = 0; j < 2; j++) {
                int r = wt + 8 * j + g;
                b[j][0] = xs[mma_word(r, 8 * kk + t)];
                b[j][1] = xs[mma_word(r, 8 * kk + 4 + t)];
            }
            #pragma clang loop unroll(full)
            for (int i = 0; i < 2; i++) {
                #pragma clang loop unroll(full)
                for (int j = 0; j < 2; j++) {
                    mma_m16n8k16_bf16(acc[i][j], a[i], b[j], lane);
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    #pragma clang loop unroll(full)
    for (int i = 0; i < 2; i++) {
        #pragma clang loop unroll(full)
        for (int j = 0; j < 2; j++) {
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
