// matmul_mma.metal — the prompt matmul on tensor cores (the backend picks it on CUDA,
// metal.LaunchMatMulFor): Y[t][r] = Σ_k W[r][k] X[t][k] by warp-wide m16n8k16 bfloat16
// products with float accumulation (PTX mma.sync; a stand-in of the same fragment
// layout built from SIMD shuffles everywhere else, so the simulator checks the kernel).
//
// Work split: a threadgroup of 8 SIMD groups (256 threads) computes a 64-row × 64-token
// tile. For each 64-wide slice of K every thread dequantizes one 16-element chunk of W
// (rows tid / 4, chunk tid % 4, the type's dq16) and converts 4 float4s of X; both go
// to threadgroup memory as bfloat16 pairs, row-major with K contiguous, rows padded to
// MMA_LD words so the fragment loads (lane g·4+t reads word g·MMA_LD+t) hit 32
// distinct banks. SIMD group s then multiplies rows 32(s % 2).. × tokens 16(s / 2)..:
// 2 × 2 m16n8 accumulators, 4 k16 steps a slice. Rows, tokens and K past the matrix
// are zero-padded.
//
// bfloat16 rather than float16: activations reach 1e4–1e5 in some models (float16's
// largest is 65504, so they would become inf); bfloat16 keeps float's exponent range,
// and its 8-bit significand costs an NMSE of order 1e-5, under matmul's 5e-4.

#define MMA_ROWS 64
#define MMA_TOKS 64
#define MMA_K 64
#define MMA_LD 36   // words (bfloat16 pairs) a tile row: 32 of data, 4 of padding

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
// shuffles, 32 a product.
inline float mma_lo(uint v) { return as_type<float>(v << 16); }
inline float mma_hi(uint v) { return as_type<float>(v & 0xffff0000u); }

inline void mma_m16n8k16_bf16(thread float * d, thread const uint * a, thread const uint * b, int lane) {
#if defined(__CUDA_ARCH__)
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    int g = lane / 4, t = lane % 4;
    for (int q = 0; q < 4; q++) {   // lane 4g + q holds K = 2q, 2q+1, 2q+8, 2q+9 of rows g, g+8
        uint a0 = simd_shuffle(a[0], 4 * g + q), a1 = simd_shuffle(a[1], 4 * g + q);
        uint a2 = simd_shuffle(a[2], 4 * g + q), a3 = simd_shuffle(a[3], 4 * g + q);
        uint b00 = simd_shuffle(b[0], 8 * t + q), b01 = simd_shuffle(b[1], 8 * t + q);          // column 2t
        uint b10 = simd_shuffle(b[0], 8 * t + 4 + q), b11 = simd_shuffle(b[1], 8 * t + 4 + q);  // column 2t+1
        d[0] += mma_lo(a0) * mma_lo(b00) + mma_hi(a0) * mma_hi(b00) + mma_lo(a2) * mma_lo(b01) + mma_hi(a2) * mma_hi(b01);
        d[1] += mma_lo(a0) * mma_lo(b10) + mma_hi(a0) * mma_hi(b10) + mma_lo(a2) * mma_lo(b11) + mma_hi(a2) * mma_hi(b11);
        d[2] += mma_lo(a1) * mma_lo(b00) + mma_hi(a1) * mma_hi(b00) + mma_lo(a3) * mma_lo(b01) + mma_hi(a3) * mma_hi(b01);
        d[3] += mma_lo(a1) * mma_lo(b10) + mma_hi(a1) * mma_hi(b10) + mma_lo(a3) * mma_lo(b11) + mma_hi(a3) * mma_hi(b11);
    }
#endif
}

// Shared with CUDA: (gx, gy) is the threadgroup's position, ws and xs its threadgroup
// arrays of MMA_ROWS * MMA_LD and MMA_TOKS * MMA_LD words (16-byte aligned).
template <typename B>
inline void matmul_mma_tile(device const uchar * w, device const float * x, device float * y,
                            int ncols, int nrows, int ntok, int gx, int gy, uint tid,
                            threadgroup uint * ws, threadgroup uint * xs) {
    int r0 = gx * MMA_ROWS, t0 = gy * MMA_TOKS;
    int rb = row_bytes<B>(ncols);
    int lane = tid % 32, sg = tid / 32;
    int g = lane / 4, t = lane % 4;
    int wr = 32 * (sg % 2), wt = 16 * (sg / 2);   // the SIMD group's sub-tile
    int srow = tid / 4, schunk = tid % 4;          // the W chunk this thread stages
    int xf = tid % 16, xt = tid / 16;              // the X float4s: tokens xt + 16j
    bool xvec = ncols % 4 == 0;                    // rows 16-byte aligned
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
        {
            int kc = k0 + 16 * schunk;
            float v[16];
            if (r0 + srow < nrows && kc < ncols) {
                B::dq16(w + (long) (r0 + srow) * rb, kc / 16, ncols, v);
            } else {
                #pragma clang loop unroll(full)
                for (int l = 0; l < 16; l++) v[l] = 0.0f;
            }
            #pragma clang loop unroll(full)
            for (int l = 0; l < 8; l++) {
                ws[srow * MMA_LD + 8 * schunk + l] = mma_pack_bf16(v[2 * l], v[2 * l + 1]);
            }
        }
        #pragma clang loop unroll(full)
        for (int j = 0; j < 4; j++) {
            int tk = xt + 16 * j, k = k0 + 4 * xf;
            float4 v = 0.0f;
            if (t0 + tk < ntok) {
                device const float * xp = x + (long) (t0 + tk) * ncols + k;
                if (xvec && k + 4 <= ncols) {
                    v = *(device const float4 *) xp;
                } else {
                    #pragma clang loop unroll(full)
                    for (int e = 0; e < 4; e++) v[e] = k + e < ncols ? xp[e] : 0.0f;
                }
            }
            xs[tk * MMA_LD + 2 * xf] = mma_pack_bf16(v[0], v[1]);
            xs[tk * MMA_LD + 2 * xf + 1] = mma_pack_bf16(v[2], v[3]);
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        #pragma clang loop unroll(full)
        for (int kk = 0; kk < MMA_K / 16; kk++) {
            uint a[2][4], b[2][2];
            #pragma clang loop unroll(full)
            for (int i = 0; i < 2; i++) {
                // (an index, not a threadgroup pointer: the simulator makes a local
                // declared `threadgroup` one per threadgroup)
                int p = (wr + 16 * i + g) * MMA_LD + 8 * kk + t;
                a[i][0] = ws[p];
                a[i][1] = ws[p + 8 * MMA_LD];
                a[i][2] = ws[p + 4];
                a[i][3] = ws[p + 8 * MMA_LD + 4];
            }
            #pragma clang loop unroll(full)
            for (int j = 0; j < 2; j++) {
                int p = (wt + 8 * j + g) * MMA_LD + 8 * kk + t;
                b[j][0] = xs[p];
                b[j][1] = xs[p + 4];
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
