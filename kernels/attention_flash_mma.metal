// attention_flash_mma.metal — the prompt's flash attention on tensor cores (the backend
// picks it on CUDA for head dims 64 and 128, metal.LaunchAttnPrefillFor): attn_flash's
// algorithm (attention_flash.metal: causal, any positions, soft-cap, sliding windows,
// GQA, the F16 cache) with both products, S = Q·Kᵀ and O += P·V, as warp-wide m16n8k16
// bfloat16 products with float accumulation (matmul_mma.metal's mma_m16n8k16_bf16: PTX
// mma.sync on CUDA, the stand-in of the same fragment layout everywhere else).
//
// Work split: a threadgroup of 4 SIMD groups takes 64 queries of one head, 16 a SIMD
// group, and walks the KV positions in tiles of 64 (from the first tile any query's
// window reaches to the last position any query sees). The SIMD group's Q rows are A
// fragments in registers for the whole walk. A tile of K is staged as bfloat16 pairs
// [position][dim pair], V transposed, [dim][position pair], so that both products read
// B fragments (two consecutive K indices of one column) as one word (on CUDA four at a
// time by ldmatrix.x4), rows laid out so that a fragment load hits 32 banks. Then:
//   S (16 × 64: 8 m16n8 tiles) = Q·Kᵀ, D/16 k16 steps;
//   masks and scores (scale, soft-cap) on the accumulators: lane 4g + t holds rows g and
//   g + 8, keys 2t, 2t + 1 of each n8 tile; the row maxima across the 4 lanes of a row by
//   two XOR shuffles; the online softmax rescales O and the lane's share of the row sum;
//   P (the probabilities) as A fragments without leaving registers: the C pairs of n8
//   tiles 2k and 2k + 1 are the A words of k16 step k;
//   O (16 × D: D/8 m16n8 tiles) += P·V, 4 k16 steps.
// The global loads of the next tile are issued before this tile's products (registers),
// so their latency overlaps the tensor work. A SIMD group skips the n8 key tiles (and
// k16 steps of P·V) past its last query's position: the causal diagonal costs half.
// The heaviest (last) query tiles get the lowest group ids, so they start first.
//
// bfloat16 (8-bit significand) for q, k, v and p: NMSE of order 1e-5 against the F32
// reference, under the attention cases' 5e-4 (the F16 cache itself rounds to 11 bits).
//
// Head dims: multiples of 16 up to 128; DM, 64 or 128, sizes the fragments and tiles.

#define AFM_BQ 64        // queries per threadgroup: 16 per SIMD group
#define AFM_BK 64        // positions per KV tile
#define AFM_THREADS 128
#define AFM_DMAX 128
#define AFM_KW (AFM_DMAX / 2)    // K tile row: dim pairs (words)
#define AFM_VW (AFM_BK / 2)      // V tile row (one dim): position pairs (words)

// Where word w of row r of a tile is. CUDA pads rows by 4 words (row r starts 4r banks
// on): a fragment's ldmatrix address is then one base register plus a constant. Elsewhere
// (the simulator, Metal) rows are unpadded, w XORed by 4(r % 8): the same fragment banks.
// Either way the 32 lanes of a fragment load hit 32 banks.
#if defined(__CUDA__)
#define AFM_KLD (AFM_KW + 4)
#define AFM_VLD (AFM_VW + 4)
inline int afm_word(int r, int ld, int w) { return r * ld + w; }
#else
#define AFM_KLD AFM_KW
#define AFM_VLD AFM_VW
inline int afm_word(int r, int ld, int w) { return r * ld + (w ^ ((r & 7) << 2)); }
#endif

// B fragments of k16 steps w0 / 8 and w0 / 8 + 1 for the n8 columns of tile rows r0..r0+7
// (K: positions, V: dims): b[i] = words w0 + 8i + t and w0 + 8i + 4 + t of row r0 + g,
// lane 4g + t. On CUDA one ldmatrix.x4 (lanes 8m..8m+7 address matrix m's rows: words
// w0 + 4m..); tilea is the tile's shared-window address.
inline void afm_b2(threadgroup const uint * tile, uint tilea, int ld, int r0, int w0, int lane, thread uint (&b)[2][2]) {
#if defined(__CUDA_ARCH__)
    uint d[4];
    mma_ldmatrix_x4(d, tilea + 4 * (uint) afm_word(r0 + lane % 8, ld, w0 + 4 * (lane / 8)));
    b[0][0] = d[0];
    b[0][1] = d[1];
    b[1][0] = d[2];
    b[1][1] = d[3];
#else
    int g = lane / 4, t = lane % 4;
    #pragma clang loop unroll(full)
    for (int i = 0; i < 2; i++) {
        b[i][0] = tile[afm_word(r0 + g, ld, w0 + 8 * i + t)];
        b[i][1] = tile[afm_word(r0 + g, ld, w0 + 8 * i + 4 + t)];
    }
#endif
}

// The global loads of one KV tile: K as units of 8 dims of one position, V as units of 4
// dims of two consecutive positions (2m, 2m + 1: a transposed word's pair). Positions
// past kmax load position kmax (valid) and stage zeros: their probabilities are 0, and
// 0 · NaN would not be.
template <int DM>
struct AFMStage {
    half4 k[DM / 16][2];
    half4 v[DM / 16][2];

    inline void load(device const half * kc, device const half * vc, long base, int kv_dim, int D, int k0, int kmax, int tid) {
        #pragma clang loop unroll(full)
        for (int u = 0; u < DM / 16; u++) {
            int idx = tid + AFM_THREADS * u;
            int row = idx / (DM / 8), c = idx % (DM / 8);
            long off = base + (long) min(k0 + row, kmax) * kv_dim + (8 * c < D ? 8 * c : 0);
            k[u][0] = *(device const half4 *) (kc + off);
            k[u][1] = *(device const half4 *) (kc + off + 4);
        }
        #pragma clang loop unroll(full)
        for (int u = 0; u < DM / 16; u++) {
            int idx = tid + AFM_THREADS * u;
            int m = 8 * (idx / (2 * DM)) + idx % 8, c = (idx / 8) % (DM / 4);
            long off = base + (4 * c < D ? 4 * c : 0);
            v[u][0] = *(device const half4 *) (vc + off + (long) min(k0 + 2 * m, kmax) * kv_dim);
            v[u][1] = *(device const half4 *) (vc + off + (long) min(k0 + 2 * m + 1, kmax) * kv_dim);
        }
    }

    inline void store(threadgroup uint * ks, threadgroup uint * vt, int D, int k0, int kmax, int tid) {
        #pragma clang loop unroll(full)
        for (int u = 0; u < DM / 16; u++) {
            int idx = tid + AFM_THREADS * u;
            int row = idx / (DM / 8), c = idx % (DM / 8);
            if (8 * c < D) {
                float z = k0 + row <= kmax ? 1.0f : 0.0f;
                uint w[4];
                #pragma clang loop unroll(full)
                for (int i = 0; i < 4; i++) {
                    half4 h = k[u][i / 2];
                    w[i] = mma_pack_bf16(z * float(h[2 * (i % 2)]), z * float(h[2 * (i % 2) + 1]));
                }
                int at = afm_word(row, AFM_KLD, 4 * c);   // 4 words, 16-byte aligned
#if defined(__CUDA__)
                uint4 w4;
                for (int i = 0; i < 4; i++) w4[i] = w[i];
                *(threadgroup uint4 *) (ks + at) = w4;
#else
                for (int i = 0; i < 4; i++) ks[at + i] = w[i];
#endif
            }
        }
        #pragma clang loop unroll(full)
        for (int u = 0; u < DM / 16; u++) {
            int idx = tid + AFM_THREADS * u;
            int m = 8 * (idx / (2 * DM)) + idx % 8, c = (idx / 8) % (DM / 4);
            if (4 * c < D) {
                float z0 = k0 + 2 * m <= kmax ? 1.0f : 0.0f, z1 = k0 + 2 * m + 1 <= kmax ? 1.0f : 0.0f;
                #pragma clang loop unroll(full)
                for (int i = 0; i < 4; i++) {
                    vt[afm_word(4 * c + i, AFM_VLD, m)] = mma_pack_bf16(z0 * float(v[u][0][i]), z1 * float(v[u][1][i]));
                }
            }
        }
    }
};

// Shared with CUDA: (h, qt) is the threadgroup's head and query tile, ks and vt its
// threadgroup arrays of AFM_BK * AFM_KLD and AFM_DMAX * AFM_VLD words.
template <int DM>
inline void attn_flash_mma_tile(device const float * q, device const half * kc, device const half * vc, device float * o,
                                device const int * pos, int nhead, int nkvhead, int D, int nq, float scale, float softcap,
                                int window, long layer_offset, int h, int qt, uint tid, threadgroup uint * ks,
                                threadgroup uint * vt) {
    int lane = (int) tid % 32, sg = (int) tid / 32;
    int g = lane / 4, t = lane % 4;
    int kv_dim = nkvhead * D;
    long base = layer_offset + (long) (h / (nhead / nkvhead)) * D;
    int q0 = qt * AFM_BQ;
    // the SIMD group's rows g and g + 8 (past nq: row nq - 1, computed, never stored)
    int r0 = min(q0 + 16 * sg + g, nq - 1), r1 = min(q0 + 16 * sg + g + 8, nq - 1);
    int pq0 = pos[r0], pq1 = pos[r1];
    // the threadgroup's last position seen and first one inside a window (positions need
    // not be consecutive), from all 64 rows; the SIMD group's last one
    int pa = pos[min(q0 + lane, nq - 1)], pb = pos[min(q0 + 32 + lane, nq - 1)];
    int kmax = (int) simd_max((float) max(pa, pb));
    int kmin = -(int) simd_max(-(float) min(pa, pb));
    int wmax = (int) simd_max((float) max(pq0, pq1));
    int kstart = window > 0 ? max(0, kmin - window + 1) / AFM_BK * AFM_BK : 0;

    // Q as A fragments: a[0] = row g, dims 2t, 2t + 1 of the k16 step; a[1] row g + 8;
    // a[2], a[3] dims 2t + 8, 2t + 9
    uint qa[DM / 16][4];
    device const float * q0p = q + ((long) r0 * nhead + h) * D;
    device const float * q1p = q + ((long) r1 * nhead + h) * D;
    #pragma clang loop unroll(full)
    for (int kk = 0; kk < DM / 16; kk++) {
        int e = 16 * kk < D ? 16 * kk + 2 * t : 0;
        float2 x0 = *(device const float2 *) (q0p + e), x1 = *(device const float2 *) (q1p + e);
        float2 x2 = *(device const float2 *) (q0p + e + 8), x3 = *(device const float2 *) (q1p + e + 8);
        qa[kk][0] = mma_pack_bf16(x0[0], x0[1]);
        qa[kk][1] = mma_pack_bf16(x1[0], x1[1]);
        qa[kk][2] = mma_pack_bf16(x2[0], x2[1]);
        qa[kk][3] = mma_pack_bf16(x3[0], x3[1]);
    }
    float acc[DM / 8][4];
    #pragma clang loop unroll(full)
    for (int n = 0; n < DM / 8; n++) {
        #pragma clang loop unroll(full)
        for (int e = 0; e < 4; e++) acc[n][e] = 0.0f;
    }
    float M[2] = {-INFINITY, -INFINITY}, L[2] = {0.0f, 0.0f};
    int pq[2] = {pq0, pq1};

#if defined(__CUDA_ARCH__)
    uint ksa = mma_smem(ks), vta = mma_smem(vt);
#else
    uint ksa = 0, vta = 0;
#endif
    AFMStage<DM> st;
    st.load(kc, vc, base, kv_dim, D, kstart, kmax, (int) tid);
    for (int k0 = kstart; k0 <= kmax; k0 += AFM_BK) {
        threadgroup_barrier(mem_flags::mem_threadgroup);   // the last tile's reads are done
        st.store(ks, vt, D, k0, kmax, (int) tid);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        st.load(kc, vc, base, kv_dim, D, min(k0 + AFM_BK, kmax), kmax, (int) tid);   // the next tile's (or discarded)

        // S = Q·Kᵀ for the n8 key tiles up to the SIMD group's last position
        float s[8][4];
        #pragma clang loop unroll(full)
        for (int j = 0; j < 8; j++) {
            #pragma clang loop unroll(full)
            for (int e = 0; e < 4; e++) s[j][e] = 0.0f;
        }
        #pragma clang loop unroll(full)
        for (int j = 0; j < 8; j++) {
            if (k0 + 8 * j <= wmax) {
                #pragma clang loop unroll(full)
                for (int kk = 0; kk < DM / 16; kk += 2) {
                    if (16 * kk < D) {
                        uint b[2][2];
                        afm_b2(ks, ksa, AFM_KLD, 8 * j, 8 * kk, lane, b);
                        mma_m16n8k16_bf16(s[j], qa[kk], b[0], lane);
                        if (16 * kk + 16 < D) {
                            mma_m16n8k16_bf16(s[j], qa[kk + 1], b[1], lane);
                        }
                    }
                }
            }
        }
        // online softmax per row (e / 2 = 0: row g, 1: row g + 8)
        #pragma clang loop unroll(full)
        for (int r = 0; r < 2; r++) {
            float mx = -INFINITY;
            #pragma clang loop unroll(full)
            for (int j = 0; j < 8; j++) {
                #pragma clang loop unroll(full)
                for (int e = 0; e < 2; e++) {
                    int kp = k0 + 8 * j + 2 * t + e;
                    bool seen = kp <= pq[r] && (window <= 0 || kp > pq[r] - window);
                    float v = seen ? attn_score(s[j][2 * r + e], scale, softcap) : -INFINITY;
                    s[j][2 * r + e] = v;
                    mx = max(mx, v);
                }
            }
            mx = max(mx, simd_shuffle_xor(mx, 1));
            mx = max(mx, simd_shuffle_xor(mx, 2));
            // -INFINITY only while every key so far is outside a sliding window: then
            // nothing is accumulated yet, and the tile adds nothing
            float Mn = max(M[r], mx);
            bool none = Mn == -INFINITY;
            float corr = none ? 1.0f : exp(M[r] - Mn);
            M[r] = Mn;
            float ls = 0.0f;
            #pragma clang loop unroll(full)
            for (int j = 0; j < 8; j++) {
                #pragma clang loop unroll(full)
                for (int e = 0; e < 2; e++) {
                    float p = none ? 0.0f : exp(s[j][2 * r + e] - Mn);
                    s[j][2 * r + e] = p;
                    ls += p;
                }
            }
            L[r] = L[r] * corr + ls;
            #pragma clang loop unroll(full)
            for (int n = 0; n < DM / 8; n++) {
                acc[n][2 * r] *= corr;
                acc[n][2 * r + 1] *= corr;
            }
        }
        // O += P·V: P's A fragments of k16 step kk are the C pairs of n8 tiles 2kk, 2kk + 1
        uint pf[4][4];
        #pragma clang loop unroll(full)
        for (int kk = 0; kk < 4; kk++) {
            pf[kk][0] = mma_pack_bf16(s[2 * kk][0], s[2 * kk][1]);
            pf[kk][1] = mma_pack_bf16(s[2 * kk][2], s[2 * kk][3]);
            pf[kk][2] = mma_pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]);
            pf[kk][3] = mma_pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3]);
        }
        #pragma clang loop unroll(full)
        for (int n = 0; n < DM / 8; n++) {
            if (8 * n < D) {
                #pragma clang loop unroll(full)
                for (int kk = 0; kk < 4; kk += 2) {
                    if (k0 + 16 * kk <= wmax) {   // (past wmax P is 0)
                        uint b[2][2];
                        afm_b2(vt, vta, AFM_VLD, 8 * n, 8 * kk, lane, b);
                        mma_m16n8k16_bf16(acc[n], pf[kk], b[0], lane);
                        mma_m16n8k16_bf16(acc[n], pf[kk + 1], b[1], lane);
                    }
                }
            }
        }
    }
    #pragma clang loop unroll(full)
    for (int r = 0; r < 2; r++) {
        float l = L[r];
        l += simd_shuffle_xor(l, 1);
        l += simd_shuffle_xor(l, 2);
        float inv = 1.0f / l;
        int row = q0 + 16 * sg + g + 8 * r;
        if (row < nq) {
            device float * orow = o + ((long) row * nhead + h) * D + 2 * t;
            #pragma clang loop unroll(full)
            for (int n = 0; n < DM / 8; n++) {
                if (8 * n < D) {
                    float2 v;
                    v[0] = acc[n][2 * r] * inv;
                    v[1] = acc[n][2 * r + 1] * inv;
                    *(device float2 *) (orow + 8 * n) = v;
                }
            }
        }
    }
}

#ifndef __CUDA__
kernel void attn_flash_mma(device const float * q [[buffer(0)]],
                           device const half * kc [[buffer(1)]],
                           device const half * vc [[buffer(2)]],
                           device float * o [[buffer(3)]],
                           device const int * pos [[buffer(4)]],
                           constant AttnFlashArgs & a [[buffer(5)]],
                           uint3 tgpig [[threadgroup_position_in_grid]],
                           uint tid [[thread_index_in_threadgroup]]) {
    threadgroup uint ks[AFM_BK * AFM_KLD];     // [position][dim pair]
    threadgroup uint vt[AFM_DMAX * AFM_VLD];   // [dim][position pair]
    int qt = (a.nq + AFM_BQ - 1) / AFM_BQ - 1 - (int) tgpig.y;
    if (a.head_dim <= 64) {
        attn_flash_mma_tile<64>(q, kc, vc, o, pos, a.nhead, a.nkvhead, a.head_dim, a.nq, a.scale, a.softcap, a.window,
                                a.layer_offset, tgpig.x, qt, tid, ks, vt);
    } else {
        attn_flash_mma_tile<128>(q, kc, vc, o, pos, a.nhead, a.nkvhead, a.head_dim, a.nq, a.scale, a.softcap, a.window,
                                 a.layer_offset, tgpig.x, qt, tid, ks, vt);
    }
}
#endif
