// attention_flash.metal — attention kernels for GPUs with many cores (the CUDA target):
// a tiled flash-attention prompt kernel and a one-launch decode kernel. Both read the F16
// KV cache of attention.metal's layout (layer_offset + position · kv_dim + kv_head · head_dim).
//
// Prompt (attn_flash): a threadgroup of 64 threads takes 32 queries of one head and walks
// the KV positions 0..(the tile's largest position) in tiles of 32, staged as F32 in
// threadgroup memory with Q; thread (tq, tk) = (tid / 8, tid % 8) scores queries
// tq + 8i against keys tk + 8j (a 4 × 4 micro-tile, float4 reads along the head dim, rows
// padded by 4 floats so the 8 key rows a SIMD group reads fall in different banks), keeps
// an online softmax per query (running max; its share of the row sum), writes the
// probabilities to threadgroup memory and accumulates O for its 4 queries × dims
// 4tk..4tk+3 (+32c), in F32. A query's 8 key lanes are adjacent in one SIMD group:
// row maxima and sums go by simd_shuffle_xor 1, 2, 4. The heaviest (last) query tiles get
// the lowest group ids, so they start first. Head dims: multiples of 32 up to 128.
//
// Decode (attn_decode): one launch per layer. Threadgroup (head, split) takes a share of
// the valid positions 0..pos[0] (read on the device, so the dispatch is the same at every
// step: a CUDA graph replays it): chunk = max(32, ⌈n_kv / nsplit⌉ rounded up to 32), and
// the splits past ⌈n_kv / chunk⌉ exit at once. A split scores 128 positions at a time
// (a thread per position), keeps (max, sum, acc[head_dim]) online and writes them to part;
// then it fences and takes a ticket from the head's counter: the last split to finish
// merges every split's partial results into o and resets the counter to 0 for the next
// step. A single split (n_kv ≤ 32, or a context of ≤ 128) writes o itself. Head dims: up
// to 256.
//
// Shared with CUDA: attn_flash_tile and attn_decode_split are the algorithms (see
// norm.metal); the threadgroup arrays are the entry points'.

#define AF_BQ 32                   // queries per threadgroup
#define AF_BK 32                   // keys per KV tile
#define AF_THREADS 64              // 8 query groups × 8 key groups
#define AF_DMAX 128                // largest head dim
#define AF_DC 64                   // head dims staged at a time for the scores
#define AF_QS (AF_BQ * (AF_DC + 4))     // Q tile: rows of ≤ 64 dims + 4 floats
#define AF_KVS (2 * AF_BK * (AF_DC + 4)) // K and V side by side for head dims ≤ 64; else K's
                                        // 64-dim slices, then all of V (AF_BK · (AF_DMAX + 4) ≤ AF_KVS)
#define AF_PLD (AF_BQ + 4)         // P tile row stride: [key][query]
#define AF_PS (AF_BK * AF_PLD)

#define AD_THREADS 128             // decode: positions scored at a time by a threadgroup
#define AD_MIN_CHUNK 32            // decode: fewest positions a split takes
#define AD_DMAX 256
#define AD_VB 8                    // decode: V rows a thread loads at once

struct AttnFlashArgs {
    int nhead;
    int nkvhead;
    int head_dim;
    int nq;          // prompt: query rows
    int nsplit;      // decode: splits of the valid positions per head (the grid's y)
    float scale;
    float softcap;   // 0: none (attention.metal's attn_score)
    int window;      // 0: none; else the keys more than window-1 positions back are masked
    long layer_offset;
};

// A device-scope fence between a split's writes and its counter update (and before the
// merge's reads): MSL 3.2's atomic_thread_fence, which the CUDA prelude and the simulator
// define too. Older Metal compilers lack it; the kernel only runs on CUDA, so there a
// barrier stands in, to keep the library compiling.
#if defined(__METAL_VERSION__) && __METAL_VERSION__ < 320
#define AF_DEVICE_FENCE() threadgroup_barrier(mem_flags::mem_device)
#else
#define AF_DEVICE_FENCE() atomic_thread_fence(mem_flags::mem_device, memory_order_seq_cst, thread_scope_device)
#endif

// Sum and max over the 8 adjacent lanes of one query (lanes 8r..8r+7 of a SIMD group).
inline float af_sum8(float v) {
    v += simd_shuffle_xor(v, 1);
    v += simd_shuffle_xor(v, 2);
    v += simd_shuffle_xor(v, 4);
    return v;
}
inline float af_max8(float v) {
    v = max(v, simd_shuffle_xor(v, 1));
    v = max(v, simd_shuffle_xor(v, 2));
    v = max(v, simd_shuffle_xor(v, 4));
    return v;
}

inline float4 af_f4(half4 v) { return float4{float(v[0]), float(v[1]), float(v[2]), float(v[3])}; }

// Stages dims c0..c0+w-1 of AF_BK rows of NC caches (positions k0.., from base) as F32
// into dst (row stride ld; cache i at dst + i · dst_stride); rows past kmax are zeros
// (their probabilities are 0, and 0 · NaN would not be). A thread takes 4 dims of a row
// per step, w / 8 ≤ NIT steps, and issues every load before it stores any (so they
// overlap): steps past w / 8 and rows past kmax load row k0's first dims (valid) and store
// nothing or zeros.
template <int NIT, int NC>
inline void af_stage_kv(device const half * c0p, device const half * c1p, threadgroup float * dst, int dst_stride,
                        long base, int kv_dim, int c0, int w, int ld, int k0, int kmax, uint tid) {
    int nit = w / 8;
    int dj = AF_THREADS * 4 / w, de = AF_THREADS * 4 % w;
    int j = (int) tid * 4 / w, e = (int) tid * 4 % w;
    half4 v[NC][NIT];
    int js[NIT], es[NIT];
    #pragma clang loop unroll(full)
    for (int u = 0; u < NIT; u++) {
        bool ok = u < nit && k0 + j <= kmax;
        long off = base + (long) (ok ? k0 + j : k0) * kv_dim + c0 + (ok ? e : 0);
        v[0][u] = *(device const half4 *) (c0p + off);
        if (NC == 2) {
            v[NC - 1][u] = *(device const half4 *) (c1p + off);
        }
        js[u] = j;
        es[u] = e;
        j += dj;
        e += de;
        if (e >= w) {
            e -= w;
            j++;
        }
    }
    #pragma clang loop unroll(full)
    for (int u = 0; u < NIT; u++) {
        if (u < nit) {
            bool ok = k0 + js[u] <= kmax;
            #pragma clang loop unroll(full)
            for (int i = 0; i < NC; i++) {
                float4 f = ok ? af_f4(v[i][u]) : float4{0.0f, 0.0f, 0.0f, 0.0f};
                *(threadgroup float4 *) (dst + i * dst_stride + js[u] * ld + es[u]) = f;
            }
        }
    }
}

// Stages dims c0..c0+w-1 (w ≤ 64) of the AF_BQ query rows from q0 (head h) into dst (row
// stride ld), every load first as af_stage_kv; rows past nq are zeros.
inline void af_stage_q(device const float * q, threadgroup float * dst, int nhead, int D, int nq, int h, int q0, int c0,
                       int w, int ld, uint tid) {
    int nit = w / 8;
    int dr = AF_THREADS * 4 / w, de = AF_THREADS * 4 % w;
    int r = (int) tid * 4 / w, e = (int) tid * 4 % w;
    float4 v[8];
    int rs[8], es[8];
    #pragma clang loop unroll(full)
    for (int u = 0; u < 8; u++) {
        bool ok = u < nit && q0 + r < nq;
        v[u] = *(device const float4 *) (q + ((long) (ok ? q0 + r : q0) * nhead + h) * D + c0 + (ok ? e : 0));
        rs[u] = r;
        es[u] = e;
        r += dr;
        e += de;
        if (e >= w) {
            e -= w;
            r++;
        }
    }
    #pragma clang loop unroll(full)
    for (int u = 0; u < 8; u++) {
        if (u < nit) {
            float4 f = q0 + rs[u] < nq ? v[u] : float4{0.0f, 0.0f, 0.0f, 0.0f};
            *(threadgroup float4 *) (dst + rs[u] * ld + es[u]) = f;
        }
    }
}

// O += P V for a thread's 4 queries and dims 4tk + 32c (c < NC, those below D).
template <int NC>
inline void af_pv(threadgroup const float * ps, threadgroup const float * vs, int ldv, int D, int tq, int tk,
                  thread float (&acc)[4][16]) {
    for (int j = 0; j < AF_BK; j++) {
        float4 p = *(threadgroup const float4 *) (ps + j * AF_PLD + tq * 4);
        #pragma clang loop unroll(full)
        for (int c = 0; c < NC; c++) {
            if (32 * c < D) {
                float4 v = *(threadgroup const float4 *) (vs + j * ldv + 4 * tk + 32 * c);
                #pragma clang loop unroll(full)
                for (int i = 0; i < 4; i++) {
                    acc[i][4 * c + 0] += p[i] * v.x;
                    acc[i][4 * c + 1] += p[i] * v.y;
                    acc[i][4 * c + 2] += p[i] * v.z;
                    acc[i][4 * c + 3] += p[i] * v.w;
                }
            }
        }
    }
}

inline void attn_flash_tile(device const float * q, device const half * kc, device const half * vc, device float * o,
                            device const int * pos, int nhead, int nkvhead, int D, int nq, float scale,
                            float softcap, int window, long layer_offset, int h, int qt, uint tid, threadgroup float * qs,
                            threadgroup float * kvs, threadgroup float * ps) {
    int lane = (int) tid & 31;
    int tq = (int) tid / 8; // queries tq + 8i
    int tk = (int) tid % 8; // keys tk + 8j; output dims 4tk + 32c
    int kv_dim = nkvhead * D;
    long base = layer_offset + (long) (h / (nhead / nkvhead)) * D;
    int q0 = qt * AF_BQ;
    // rows past nq are padding: position 0 keeps them finite; they are never stored
    int pq[4];
    #pragma clang loop unroll(full)
    for (int i = 0; i < 4; i++) {
        int r = q0 + tq + 8 * i;
        pq[i] = r < nq ? pos[r] : 0;
    }
    // the last key any query of the tile sees (positions need not be consecutive)
    int kmax = (int) simd_max(q0 + lane < nq ? (float) pos[q0 + lane] : 0.0f);
    // Head dims ≤ 64: Q staged once, K and V side by side. Larger: the scores take
    // 64-dim slices of Q and K in turn, then V (row stride D + 4) replaces K.
    bool whole = D <= AF_DC;
    int lds = min(D, AF_DC) + 4; // Q and K rows
    int ldv = D + 4;             // V rows
    threadgroup float * ks = kvs;
    threadgroup float * vs = whole ? kvs + AF_BK * lds : kvs;
    if (whole) {
        af_stage_q(q, qs, nhead, D, nq, h, q0, 0, D, lds, tid);
    }

    float acc[4][16];
    float M[4], L[4];
    #pragma clang loop unroll(full)
    for (int i = 0; i < 4; i++) {
        M[i] = -INFINITY;
        L[i] = 0.0f;
        #pragma clang loop unroll(full)
        for (int d = 0; d < 16; d++) acc[i][d] = 0.0f;
    }
    for (int k0 = 0; k0 <= kmax; k0 += AF_BK) {
        float s[4][4];
        #pragma clang loop unroll(full)
        for (int i = 0; i < 4; i++) {
            #pragma clang loop unroll(full)
            for (int j = 0; j < 4; j++) s[i][j] = 0.0f;
        }
        for (int c0 = 0; c0 < D; c0 += AF_DC) {
            int w = min(AF_DC, D - c0);
            threadgroup_barrier(mem_flags::mem_threadgroup); // the last tile's (slice's) reads are done
            if (!whole) {
                af_stage_q(q, qs, nhead, D, nq, h, q0, c0, w, lds, tid);
            }
            if (whole) { // K and V side by side (ldv = lds)
                af_stage_kv<8, 2>(kc, vc, ks, AF_BK * lds, base, kv_dim, 0, D, lds, k0, kmax, tid);
            } else {
                af_stage_kv<8, 1>(kc, kc, ks, 0, base, kv_dim, c0, w, lds, k0, kmax, tid);
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
            for (int e = 0; e < w; e += 4) {
                float4 qv[4], kv[4];
                #pragma clang loop unroll(full)
                for (int i = 0; i < 4; i++) {
                    qv[i] = *(threadgroup const float4 *) (qs + (tq + 8 * i) * lds + e);
                    kv[i] = *(threadgroup const float4 *) (ks + (tk + 8 * i) * lds + e);
                }
                #pragma clang loop unroll(full)
                for (int i = 0; i < 4; i++) {
                    #pragma clang loop unroll(full)
                    for (int j = 0; j < 4; j++) {
                        s[i][j] += qv[i].x * kv[j].x;
                        s[i][j] += qv[i].y * kv[j].y;
                        s[i][j] += qv[i].z * kv[j].z;
                        s[i][j] += qv[i].w * kv[j].w;
                    }
                }
            }
        }
        // online softmax: the causal mask, the tile's row max, rescale what came before
        #pragma clang loop unroll(full)
        for (int i = 0; i < 4; i++) {
            float mx = -INFINITY;
            #pragma clang loop unroll(full)
            for (int j = 0; j < 4; j++) {
                int kp = k0 + tk + 8 * j;
                bool seen = kp <= pq[i] && (window <= 0 || kp > pq[i] - window);
                s[i][j] = seen ? attn_score(s[i][j], scale, softcap) : -INFINITY;
                mx = max(mx, s[i][j]);
            }
            // -INFINITY only while every key so far is outside a sliding window: then
            // nothing is accumulated yet, and the tile adds nothing
            float Mn = max(M[i], af_max8(mx));
            bool none = Mn == -INFINITY;
            float corr = none ? 1.0f : exp(M[i] - Mn);
            M[i] = Mn;
            float ls = 0.0f;
            #pragma clang loop unroll(full)
            for (int j = 0; j < 4; j++) {
                s[i][j] = none ? 0.0f : exp(s[i][j] - Mn);
                ls += s[i][j];
            }
            L[i] = L[i] * corr + ls;
            #pragma clang loop unroll(full)
            for (int d = 0; d < 16; d++) acc[i][d] *= corr;
        }
        #pragma clang loop unroll(full)
        for (int j = 0; j < 4; j++) {
            *(threadgroup float4 *) (ps + (tk + 8 * j) * AF_PLD + tq * 4) = float4{s[0][j], s[1][j], s[2][j], s[3][j]};
        }
        if (!whole) {
            threadgroup_barrier(mem_flags::mem_threadgroup); // the scores' reads of K are done
            af_stage_kv<AF_DMAX / 8, 1>(vc, vc, vs, 0, base, kv_dim, 0, D, ldv, k0, kmax, tid);
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        // head dims ≤ 64 take the loop without the guards of the larger ones
        if (whole) {
            af_pv<2>(ps, vs, ldv, D, tq, tk, acc);
        } else {
            af_pv<4>(ps, vs, ldv, D, tq, tk, acc);
        }
    }
    #pragma clang loop unroll(full)
    for (int i = 0; i < 4; i++) {
        float inv = 1.0f / af_sum8(L[i]);
        int r = q0 + tq + 8 * i;
        if (r < nq) {
            device float * orow = o + ((long) r * nhead + h) * D + 4 * tk;
            #pragma clang loop unroll(full)
            for (int c = 0; c < 4; c++) {
                if (32 * c < D) {
                    *(device float4 *) (orow + 32 * c) = float4{acc[i][4 * c] * inv, acc[i][4 * c + 1] * inv,
                                                                acc[i][4 * c + 2] * inv, acc[i][4 * c + 3] * inv};
                }
            }
        }
    }
}

// part: per (head, split) [max, sum, acc[head_dim]]; count: per head, zero between steps.
inline void attn_decode_split(device const float * q, device const half * kc, device const half * vc,
                              device float * part, device atomic_int * count, device float * o,
                              device const int * pos, int nhead, int nkvhead, int D, int nsplit, float scale,
                              float softcap, int window, long layer_offset, int h, int s, uint tid, threadgroup float * qs,
                              threadgroup float * ps, threadgroup float * red, threadgroup float * accs,
                              threadgroup int * last) {
    // q first: its load does not wait for the position's
    for (int e = (int) tid; e < D; e += AD_THREADS) {
        qs[e] = q[h * D + e];
    }
    int n_kv = pos[0] + 1;
    int lo = window > 0 ? max(0, n_kv - window) : 0; // keys before lo are outside the window
    int nv = n_kv - lo;
    int chunk = max(AD_MIN_CHUNK, ((nv + nsplit - 1) / nsplit + 31) / 32 * 32);
    int nact = (nv + chunk - 1) / chunk;
    if (s >= nact) {
        return; // the whole threadgroup: no positions left for this split
    }
    int j0 = lo + s * chunk, j1 = min(j0 + chunk, n_kv);
    int lane = (int) tid & 31, sg = (int) tid / 32;
    int kv_dim = nkvhead * D;
    long base = layer_offset + (long) (h / (nhead / nkvhead)) * D;
    // PV: thread (g, d2) sums positions g, g + ng, ... of dims 2·d2 and 2·d2 + 1 (a half2
    // load when D is even); ⌈D/2⌉ ≤ 128 pairs
    int np = (D + 1) / 2;
    int ng = AD_THREADS / np;
    int g = (int) tid / np, d2 = (int) tid % np;
    float M = -INFINITY, L = 0.0f, a0 = 0.0f, a1 = 0.0f;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (int jb = j0; jb < j1; jb += AD_THREADS) {
        int j = jb + (int) tid;
        float sc = -INFINITY;
        if (j < j1) {
            device const half * kr = kc + base + (long) j * kv_dim;
            float d = 0.0f;
            if (D % 4 == 0) {
                #pragma clang loop unroll_count(16)
                for (int e = 0; e < D; e += 4) {
                    float4 k4 = af_f4(*(device const half4 *) (kr + e));
                    float4 q4 = *(threadgroup const float4 *) (qs + e);
                    d += k4.x * q4.x + k4.y * q4.y + k4.z * q4.z + k4.w * q4.w;
                }
            } else {
                for (int e = 0; e < D; e++) {
                    d += float(kr[e]) * qs[e];
                }
            }
            sc = attn_score(d, scale, softcap);
        }
        float m = simd_max(sc);
        if (lane == 0) {
            red[sg] = m;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        m = max(max(red[0], red[1]), max(red[2], red[3]));
        float Mn = max(M, m); // finite: position jb is valid
        float p = j < j1 ? exp(sc - Mn) : 0.0f;
        ps[tid] = p;
        float sum = simd_sum(p);
        if (lane == 0) {
            red[4 + sg] = sum;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float corr = exp(M - Mn);
        L = L * corr + (red[4] + red[5] + red[6] + red[7]);
        M = Mn;
        a0 *= corr;
        a1 *= corr;
        int nj = min(AD_THREADS, j1 - jb);
        if (g < ng) {
            device const half * vr = vc + base + (long) jb * kv_dim + 2 * d2;
            // AD_VB rows a step, loaded before they are used so that their loads overlap
            // (rows past nj: a valid row's address, probability 0)
            for (int jj = g; jj < nj; jj += AD_VB * ng) {
                float pv[AD_VB], v0[AD_VB], v1[AD_VB];
                #pragma clang loop unroll(full)
                for (int u = 0; u < AD_VB; u++) {
                    int jx = jj + u * ng;
                    int jc = jx < nj ? jx : jj;
                    device const half * r = vr + (long) jc * kv_dim;
                    if (D % 2 == 0) {
                        half2 hv = *(device const half2 *) r;
                        v0[u] = float(hv[0]);
                        v1[u] = float(hv[1]);
                    } else {
                        v0[u] = float(r[0]);
                        v1[u] = float(r[2 * d2 + 1 < D ? 1 : 0]); // past D: never output
                    }
                    pv[u] = jx < nj ? ps[jc] : 0.0f;
                }
                #pragma clang loop unroll(full)
                for (int u = 0; u < AD_VB; u++) {
                    a0 += pv[u] * v0[u];
                    a1 += pv[u] * v1[u];
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup); // red and ps are rewritten next
    }
    accs[2 * tid] = a0;
    accs[2 * tid + 1] = a1;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    // one split: the result is final (no partials, no counter)
    device float * out = nact == 1 ? o + h * D : part + ((long) h * nsplit + s) * (2 + D);
    int first = nact == 1 ? 0 : 2;
    float inv = nact == 1 ? 1.0f / L : 1.0f;
    for (int d = (int) tid; d < D; d += AD_THREADS) {
        float a = 0.0f;
        for (int gg = 0; gg < ng; gg++) {
            a += accs[2 * (gg * np + d / 2) + d % 2];
        }
        out[first + d] = a * inv;
    }
    if (nact == 1) {
        return;
    }
    if (tid == 0) {
        out[0] = M;
        out[1] = L;
    }
    // publish this split's results, then count it; the last split of the head merges
    AF_DEVICE_FENCE();
    threadgroup_barrier(mem_flags::mem_device);
    if (tid == 0) {
        last[0] = atomic_fetch_add_explicit(count + h, 1, memory_order_relaxed) == nact - 1;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (last[0] == 0) {
        return;
    }
    AF_DEVICE_FENCE();
    // volatile: read from L2, never from lines this SM's L1 may hold from before the writes
    device const volatile float * ph = part + (long) h * nsplit * (2 + D);
    // the splits' maxima and sums, a thread each (nact ≤ 32), into accs[0..63]
    if ((int) tid < nact) {
        accs[tid] = ph[tid * (2 + D)];
        accs[32 + tid] = ph[tid * (2 + D) + 1];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float MM = -INFINITY;
    for (int b = 0; b < nact; b++) {
        MM = max(MM, accs[b]);
    }
    float LL = 0.0f;
    for (int b = 0; b < nact; b++) {
        LL += accs[32 + b] * exp(accs[b] - MM);
    }
    for (int d = (int) tid; d < D; d += AD_THREADS) {
        float a = 0.0f;
        // AD_VB splits a step, every load before its use (past nact: split 0, weight 0)
        for (int b = 0; b < nact; b += AD_VB) {
            float v[AD_VB];
            #pragma clang loop unroll(full)
            for (int u = 0; u < AD_VB; u++) {
                v[u] = ph[(b + u < nact ? b + u : 0) * (2 + D) + 2 + d];
            }
            #pragma clang loop unroll(full)
            for (int u = 0; u < AD_VB; u++) {
                a += b + u < nact ? v[u] * exp(accs[b + u] - MM) : 0.0f;
            }
        }
        o[h * D + d] = a / LL;
    }
    if (tid == 0) {
        atomic_store_explicit(count + h, 0, memory_order_relaxed); // ready for the next step
    }
}

#ifndef __CUDA__
kernel void attn_flash(device const float * q [[buffer(0)]],
                       device const half * kc [[buffer(1)]],
                       device const half * vc [[buffer(2)]],
                       device float * o [[buffer(3)]],
                       device const int * pos [[buffer(4)]],
                       constant AttnFlashArgs & a [[buffer(5)]],
                       uint3 tgpig [[threadgroup_position_in_grid]],
                       uint tid [[thread_index_in_threadgroup]]) {
    // float4 arrays: the tiles are read and written as float4
    threadgroup float4 qs[AF_QS / 4];
    threadgroup float4 kvs[AF_KVS / 4];
    threadgroup float4 ps[AF_PS / 4];
    attn_flash_tile(q, kc, vc, o, pos, a.nhead, a.nkvhead, a.head_dim, a.nq, a.scale, a.softcap, a.window, a.layer_offset, tgpig.x,
                    (a.nq + AF_BQ - 1) / AF_BQ - 1 - tgpig.y, tid, (threadgroup float *) qs,
                    (threadgroup float *) kvs, (threadgroup float *) ps);
}

kernel void attn_decode(device const float * q [[buffer(0)]],
                        device const half * kc [[buffer(1)]],
                        device const half * vc [[buffer(2)]],
                        device float * part [[buffer(3)]],
                        device atomic_int * count [[buffer(4)]],
                        device float * o [[buffer(5)]],
                        device const int * pos [[buffer(6)]],
                        constant AttnFlashArgs & a [[buffer(7)]],
                        uint3 tgpig [[threadgroup_position_in_grid]],
                        uint tid [[thread_index_in_threadgroup]]) {
    threadgroup float4 qs[AD_DMAX / 4];
    threadgroup float ps[AD_THREADS];
    threadgroup float red[8];
    threadgroup float accs[2 * AD_THREADS];
    threadgroup int last[1];
    attn_decode_split(q, kc, vc, part, count, o, pos, a.nhead, a.nkvhead, a.head_dim, a.nsplit, a.scale, a.softcap, a.window,
                      a.layer_offset, tgpig.x, tgpig.y, tid, (threadgroup float *) qs, ps, red, accs, last);
}
#endif
