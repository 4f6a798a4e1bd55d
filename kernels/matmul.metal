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

// ---- matmul_wide_<type>: the prompt matmul for big discrete GPUs (the backend picks it
// on CUDA only, metal.LaunchMatMulFor). A threadgroup of 256 threads computes a 64-row ×
// 64-token tile. For each 32-wide slice of K, threads 0..127 dequantize 64 rows × 2
// chunks of W and threads 128..255 read X a token's 32 consecutive floats a SIMD group
// (coalesced); both are stored K-major in threadgroup memory, rows padded to 65 floats so
// the transposing stores hit distinct banks. Then each thread accumulates a 4 × 4
// micro-tile (rows tr + 16i, tokens tt + 16j) with plain F32 FMAs: consecutive threads
// own consecutive rows, so the tile reads are conflict-free and Y's stores coalesced.

#define MMW_ROWS 64
#define MMW_TOKS 64
#define MMW_K 32
#define MMW_LD 65   // padded row stride of the K-major tiles

// Shared with CUDA: (gx, gy) is the threadgroup's position, ws and xs its threadgroup
// arrays of MMW_K * MMW_LD floats each.
template <typename B>
inline void matmul_wide_tile(device const uchar * w, device const float * x, device float * y,
                             int ncols, int nrows, int ntok, int gx, int gy, uint tid,
                             threadgroup float * ws, threadgroup float * xs) {
    int r0 = gx * MMW_ROWS, t0 = gy * MMW_TOKS;
    int rb = row_bytes<B>(ncols);
    int tr = tid % 16, tt = tid / 16;
    float acc[4][4];
    #pragma clang loop unroll(full)
    for (int i = 0; i < 4; i++) {
        #pragma clang loop unroll(full)
        for (int j = 0; j < 4; j++) {
            acc[i][j] = 0.0f;
        }
    }
    for (int k0 = 0; k0 < ncols; k0 += MMW_K) {
        if (tid < 128) {
            int row = tid / 2, half_ = tid % 2;
            int kc = k0 + 16 * half_;
            float v[16];
            if (r0 + row < nrows && kc < ncols) {
                B::dq16(w + (long) (r0 + row) * rb, kc / 16, ncols, v);
            } else {
                #pragma clang loop unroll(full)
                for (int l = 0; l < 16; l++) v[l] = 0.0f;
            }
            #pragma clang loop unroll(full)
            for (int l = 0; l < 16; l++) {
                ws[(16 * half_ + l) * MMW_LD + row] = (kc + l < ncols) ? v[l] : 0.0f;
            }
        } else {
            int k = (tid - 128) % MMW_K, tb = (tid - 128) / MMW_K;
            for (int i = 0; i < MMW_TOKS / 4; i++) {
                int t = tb + 4 * i;
                xs[k * MMW_LD + t] = (t0 + t < ntok && k0 + k < ncols) ? x[(long) (t0 + t) * ncols + k0 + k] : 0.0f;
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        #pragma clang loop unroll_count(8)   // 64 shared loads of 8 K steps scheduled together
        for (int kk = 0; kk < MMW_K; kk++) {
            float a[4], b[4];
            #pragma clang loop unroll(full)
            for (int i = 0; i < 4; i++) {
                a[i] = ws[kk * MMW_LD + tr + 16 * i];
                b[i] = xs[kk * MMW_LD + tt + 16 * i];
            }
            #pragma clang loop unroll(full)
            for (int i = 0; i < 4; i++) {
                #pragma clang loop unroll(full)
                for (int j = 0; j < 4; j++) {
                    acc[i][j] += a[i] * b[j];
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    #pragma clang loop unroll(full)
    for (int j = 0; j < 4; j++) {
        int t = t0 + tt + 16 * j;
        if (t >= ntok) {
            continue;
        }
        #pragma clang loop unroll(full)
        for (int i = 0; i < 4; i++) {
            int r = r0 + tr + 16 * i;
            if (r < nrows) {
                y[(long) t * nrows + r] = acc[i][j];
            }
        }
    }
}

#ifndef __CUDA__
template <typename B>
kernel void matmul_wide(device const uchar * w [[buffer(0)]],
                        device const float * x [[buffer(1)]],
                        device float * y [[buffer(2)]],
                        constant MatmulArgs & a [[buffer(3)]],
                        uint3 tgpig [[threadgroup_position_in_grid]],
                        uint tid [[thread_index_in_threadgroup]]) {
    threadgroup float ws[MMW_K * MMW_LD];   // [k][row]
    threadgroup float xs[MMW_K * MMW_LD];   // [k][tok]
    matmul_wide_tile<B>(w, x, y, a.ncols, a.nrows, a.ntok, tgpig.x, tgpig.y, tid, ws, xs);
}
#endif
