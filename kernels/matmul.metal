// matmul.metal — prompt-time matrix × matrix with simdgroup_matrix tiles:
// Y[t][r] = Σ_k W[r][k] X[t][k].
// Work split: a threadgroup (4 SIMD groups, 128 threads) computes a 32-row × 32-token
// tile. For each 32-wide slice of K, threads 0..63 dequantize 32 rows × 2 chunks of W
// into threadgroup memory (rows × K), threads 64..127 stage X transposed (K × tokens);
// after a barrier each SIMD group multiplies its 16 × 16 quarter as 2 × 2 8×8 fragments.
// Partial tiles (rows, tokens) and K not a multiple of 32 are zero-padded.

#define MM_TILE 32

struct MatmulArgs {
    int ncols;   // K
    int nrows;   // rows of W
    int ntok;    // rows of X
};

// Shared with CUDA: matmul_tile is the algorithm (see norm.metal); (gx, gy) is the
// threadgroup's position, ws, xs and os its threadgroup arrays of MM_TILE² floats each.
template <typename B>
inline void matmul_tile(device const uchar * w, device const float * x, device float * y,
                        int ncols, int nrows, int ntok, int gx, int gy, uint tid, int sgitg,
                        threadgroup float * ws, threadgroup float * xs, threadgroup float * os) {
    int r0 = gx * MM_TILE, t0 = gy * MM_TILE;
    int rb = row_bytes<B>(ncols);
    int sr = (sgitg / 2) * 16, st = (sgitg % 2) * 16;
    simdgroup_float8x8 acc[2][2];
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
            acc[i][j] = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
        }
    }
    for (int k0 = 0; k0 < ncols; k0 += MM_TILE) {
        if (tid < 64) {
            int row = tid / 2, half_ = tid % 2;
            float v[16];
            if (r0 + row < nrows) {
                B::dq16(w + (long) (r0 + row) * rb, k0 / 16 + half_, ncols, v);
            } else {
                for (int l = 0; l < 16; l++) v[l] = 0.0f;
            }
            for (int l = 0; l < 16; l++) {
                ws[row * MM_TILE + 16 * half_ + l] = (k0 + 16 * half_ + l < ncols) ? v[l] : 0.0f;
            }
        } else {
            int t = (tid - 64) / 2, half_ = (tid - 64) % 2;
            for (int l = 0; l < 16; l++) {
                int k = k0 + 16 * half_ + l;
                float v = (t0 + t < ntok && k < ncols) ? x[(long) (t0 + t) * ncols + k] : 0.0f;
                xs[(16 * half_ + l) * MM_TILE + t] = v;
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (int kk = 0; kk < MM_TILE; kk += 8) {
            simdgroup_float8x8 ma[2], mb[2];
            for (int i = 0; i < 2; i++) {
                simdgroup_load(ma[i], ws + (sr + 8 * i) * MM_TILE + kk, MM_TILE);
                simdgroup_load(mb[i], xs + kk * MM_TILE + st + 8 * i, MM_TILE);
            }
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 2; j++) {
                    simdgroup_multiply_accumulate(acc[i][j], ma[i], mb[j], acc[i][j]);
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
            simdgroup_store(acc[i][j], os + (sr + 8 * i) * MM_TILE + st + 8 * j, MM_TILE);
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (int e = tid; e < MM_TILE * MM_TILE; e += 128) {
        int row = e / MM_TILE, t = e % MM_TILE;
        if (r0 + row < nrows && t0 + t < ntok) {
            y[(long) (t0 + t) * nrows + r0 + row] = os[row * MM_TILE + t];
        }
    }
}

#ifndef __CUDA__
template <typename B>
kernel void matmul(device const uchar * w [[buffer(0)]],
                   device const float * x [[buffer(1)]],
                   device float * y [[buffer(2)]],
                   constant MatmulArgs & a [[buffer(3)]],
                   uint3 tgpig [[threadgroup_position_in_grid]],
                   uint tid [[thread_index_in_threadgroup]],
                   ushort sgitg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float ws[MM_TILE * MM_TILE];   // [row][k]
    threadgroup float xs[MM_TILE * MM_TILE];   // [k][tok]
    threadgroup float os[MM_TILE * MM_TILE];   // [row][tok]
    matmul_tile<B>(w, x, y, a.ncols, a.nrows, a.ntok, tgpig.x, tgpig.y, tid, sgitg, ws, xs, os);
}
#endif
