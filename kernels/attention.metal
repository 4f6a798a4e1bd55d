// attention.metal — causal grouped-query attention over the F16 KV cache.
//
// Decode (one query per head): split over KV blocks of 32 positions. The grid covers the
// whole context (n_ctx positions) and the valid count is read from the device, pos[0] + 1,
// so a decode step's dispatches are the same bytes from token to token (a CUDA graph
// replays them); blocks past the valid positions exit at once. attn_partial runs
// one SIMD group per (head, block): lane j scores position j of the block, simd_max and
// simd_sum give the block's max and sum, the probabilities go through threadgroup
// memory, and each lane accumulates its dims (head_dim/32 of them). attn_merge then runs
// one SIMD group per head and combines the blocks' (max, sum, acc) exactly.
//
// Prompt (flash attention): attn_prefill runs one SIMD group per (head, query row) and
// walks the KV positions 0..pos in blocks of 32 with an online softmax, so no n×n score
// matrix is stored. Head dims: up to 256 (multiples of 32 use every lane; smaller ones,
// like stories260K's 8, leave lanes idle in the V accumulation).
//
// Soft-capping (Gemma 2) maps each scaled score s to softcap·tanh(s/softcap); a sliding
// window (window > 0) masks the keys more than window-1 positions before the query.
//
// Shared with CUDA: attn_partial_block, attn_merge_head and attn_prefill_row are the
// algorithms (see norm.metal); the 32-float threadgroup array p is the entry point's.

#define ATT_BLOCK 32
#define ATT_MAX_DPL 8   // dims per lane: head_dim / 32

struct AttnArgs {
    int nhead;
    int nkvhead;
    int head_dim;
    int n_ctx;       // decode: positions the grid covers (the cache's length)
    int nblocks;     // decode: ceil(n_ctx / 32), the grid's blocks and part's stride
    float scale;
    long layer_offset;
    float softcap;   // 0: none
    int window;      // 0: none
};

// attn_score finishes a raw q·k: scaled, then soft-capped when asked.
inline float attn_score(float d, float scale, float softcap) {
    float s = d * scale;
    return softcap != 0.0f ? softcap * tanh(s * (1.0f / softcap)) : s;
}

inline void attn_partial_block(device const float * q, device const half * kc, device const half * vc,
                               device float * part, device const int * pos, int nhead, int nkvhead,
                               int head_dim, int nblocks, float scale, float softcap, int window,
                               long layer_offset, int h, int b, int lane, threadgroup float * p) {
    int n_kv = pos[0] + 1;
    if (b * ATT_BLOCK >= n_kv) {
        return; // the whole SIMD group: past the valid positions
    }
    int lo = window > 0 ? max(0, n_kv - window) : 0; // keys before lo are outside the window
    int kvh = h / (nhead / nkvhead);
    int kv_dim = nkvhead * head_dim;
    device const float * qh = q + h * head_dim;
    int j = b * ATT_BLOCK + lane;
    bool valid = j >= lo && j < n_kv;
    float s = -INFINITY;
    if (valid) {
        device const half * kr = kc + layer_offset + (long) j * kv_dim + kvh * head_dim;
        float d = 0.0f;
        for (int e = 0; e < head_dim; e++) {
            d += float(kr[e]) * qh[e];
        }
        s = attn_score(d, scale, softcap);
    }
    float m = simd_max(s); // -INFINITY for a block wholly outside the window: its l is 0
    float e = valid ? exp(s - m) : 0.0f;
    float l = simd_sum(e);
    p[lane] = e;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    // layout of part per (head, block): [m, l, acc[head_dim]]
    device float * out = part + ((long) h * nblocks + b) * (2 + head_dim);
    int nj = min(ATT_BLOCK, n_kv - b * ATT_BLOCK);
    for (int dd = lane; dd < head_dim; dd += 32) {
        float acc = 0.0f;
        for (int jj = 0; jj < nj; jj++) {
            acc += p[jj] * float(vc[layer_offset + (long) (b * ATT_BLOCK + jj) * kv_dim + kvh * head_dim + dd]);
        }
        out[2 + dd] = acc;
    }
    if (lane == 0) {
        out[0] = m;
        out[1] = l;
    }
}

inline void attn_merge_head(device const float * part, device float * o, device const int * pos, int head_dim,
                            int nblocks, int h, int lane) {
    device const float * ph = part + (long) h * nblocks * (2 + head_dim);
    int used = (pos[0] + ATT_BLOCK) / ATT_BLOCK; // blocks holding the pos[0] + 1 valid positions
    float M = -INFINITY;
    for (int b = 0; b < used; b++) {
        M = max(M, ph[b * (2 + head_dim)]);
    }
    float L = 0.0f;
    for (int b = 0; b < used; b++) {
        L += ph[b * (2 + head_dim) + 1] * exp(ph[b * (2 + head_dim)] - M);
    }
    for (int dd = lane; dd < head_dim; dd += 32) {
        float acc = 0.0f;
        for (int b = 0; b < used; b++) {
            acc += ph[b * (2 + head_dim) + 2 + dd] * exp(ph[b * (2 + head_dim)] - M);
        }
        o[h * head_dim + dd] = acc / L;
    }
}

inline void attn_prefill_row(device const float * q, device const half * kc, device const half * vc,
                             device float * o, device const int * pos, int nhead, int nkvhead, int head_dim,
                             float scale, float softcap, int window, long layer_offset, int h, int row, int lane,
                             threadgroup float * p) {
    int kvh = h / (nhead / nkvhead);
    int kv_dim = nkvhead * head_dim;
    int n = pos[row] + 1;
    device const float * qh = q + ((long) row * nhead + h) * head_dim;
    float acc[ATT_MAX_DPL];
    #pragma clang loop unroll(full)
    for (int i = 0; i < ATT_MAX_DPL; i++) acc[i] = 0.0f;
    float M = -INFINITY, L = 0.0f;
    int lo = window > 0 ? max(0, n - window) : 0; // keys before lo are outside the window
    for (int b0 = lo / ATT_BLOCK * ATT_BLOCK; b0 < n; b0 += ATT_BLOCK) {
        int j = b0 + lane;
        bool valid = j >= lo && j < n;
        float s = -INFINITY;
        if (valid) {
            device const half * kr = kc + layer_offset + (long) j * kv_dim + kvh * head_dim;
            float d = 0.0f;
            for (int e = 0; e < head_dim; e++) {
                d += float(kr[e]) * qh[e];
            }
            s = attn_score(d, scale, softcap);
        }
        float mb = simd_max(s);
        float Mn = max(M, mb);
        float corr = exp(M - Mn);
        float e = valid ? exp(s - Mn) : 0.0f;
        L = L * corr + simd_sum(e);
        M = Mn;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        p[lane] = e;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        int nj = min(ATT_BLOCK, n - b0);
        // constant trip counts, unrolled, so acc[] stays in registers (on CUDA too)
        #pragma clang loop unroll(full)
        for (int i = 0; i < ATT_MAX_DPL; i++) {
            int dd = lane + 32 * i;
            if (dd < head_dim) {
                float s2 = acc[i] * corr;
                for (int jj = 0; jj < nj; jj++) {
                    s2 += p[jj] * float(vc[layer_offset + (long) (b0 + jj) * kv_dim + kvh * head_dim + dd]);
                }
                acc[i] = s2;
            }
        }
    }
    device float * orow = o + ((long) row * nhead + h) * head_dim;
    #pragma clang loop unroll(full)
    for (int i = 0; i < ATT_MAX_DPL; i++) {
        if (lane + 32 * i < head_dim) {
            orow[lane + 32 * i] = acc[i] / L;
        }
    }
}

#ifndef __CUDA__
kernel void attn_partial(device const float * q [[buffer(0)]],
                         device const half * kc [[buffer(1)]],
                         device const half * vc [[buffer(2)]],
                         device float * part [[buffer(3)]],
                         device const int * pos [[buffer(4)]],
                         constant AttnArgs & a [[buffer(5)]],
                         uint3 tgpig [[threadgroup_position_in_grid]],
                         ushort tiisg [[thread_index_in_simdgroup]]) {
    threadgroup float p[ATT_BLOCK];
    attn_partial_block(q, kc, vc, part, pos, a.nhead, a.nkvhead, a.head_dim, a.nblocks, a.scale, a.softcap,
                       a.window, a.layer_offset, tgpig.x, tgpig.y, tiisg, p);
}

kernel void attn_merge(device const float * part [[buffer(0)]],
                       device float * o [[buffer(1)]],
                       device const int * pos [[buffer(2)]],
                       constant AttnArgs & a [[buffer(3)]],
                       uint3 tgpig [[threadgroup_position_in_grid]],
                       ushort tiisg [[thread_index_in_simdgroup]]) {
    attn_merge_head(part, o, pos, a.head_dim, a.nblocks, tgpig.x, tiisg);
}

kernel void attn_prefill(device const float * q [[buffer(0)]],
                         device const half * kc [[buffer(1)]],
                         device const half * vc [[buffer(2)]],
                         device float * o [[buffer(3)]],
                         device const int * pos [[buffer(4)]],
                         constant AttnArgs & a [[buffer(5)]],
                         uint3 tgpig [[threadgroup_position_in_grid]],
                         ushort tiisg [[thread_index_in_simdgroup]]) {
    threadgroup float p[ATT_BLOCK];
    attn_prefill_row(q, kc, vc, o, pos, a.nhead, a.nkvhead, a.head_dim, a.scale, a.softcap, a.window,
                     a.layer_offset, tgpig.x, tgpig.y, tiisg, p);
}
#endif
