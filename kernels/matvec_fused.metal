// matvec_fused.metal — the decode step's matrix × vector products with their neighbours
// fused in (the backend picks them on CUDA only: metal.LaunchMatVecFused; Metal keeps
// one kernel per op). One launch computes, for few tokens (grid.y):
//   * up to three products of one weight type with the same x (q, k and v):
//     y_m = W_m x', rows of W0, then W1, then W2 numbered on through the grid;
//   * with MVF_NORM, x' = rmsnorm(x) * nw: each threadgroup sums x² itself while it
//     stages x (x is a few KiB), so no separate rms_norm launch; the dot products use
//     x * nw and the row's sum is multiplied by 1 / sqrt(mean(x²) + eps) once;
//   * with MVF_RESIDUAL, y0 = res + W0 x' (res may be y0: each element is read and
//     then written by the one lane that owns its row);
//   * with MVF_SWIGLU, y0 = silu(W0 x') * (W1 x'): a SIMD group computes row i of both
//     (the gate and up projections, rows0 = rows1), nothing else is written;
//   * with MVF_ROPE_KV, each W_m has a role (roles, 4 bits each): q's and k's rows are
//     RoPE-rotated (adjacent pairs, as rope without NeoX: a pair is two SIMD groups of
//     one threadgroup, exchanging their sums through threadgroup memory), and k's and
//     v's rows are also stored into the F16 KV cache at pos[tok], as kv_store would.
// Work split as matvec_wide's (matvec.metal): one SIMD group per output row, MVW_WARPS
// (8) per threadgroup, the same wide_dot<B> per type; but x is staged in threadgroup
// memory once per threadgroup (MVF_CHUNK floats at a time, so any row length fits)
// instead of every SIMD group reading all of x from device memory for its one row.
// x rows of a multiple of 4 floats are 16-byte aligned (whole buffers, rows of 16k
// bytes) and staged in float4s; float weight rows of another length longer than a
// chunk are not run here (their chunks would not be aligned): FusedMaxUnalignedCols.

#define MVF_CHUNK 6144   // floats of x staged at a time: 24 KiB of threadgroup memory

#define MVF_NORM 1
#define MVF_RESIDUAL 2
#define MVF_SWIGLU 4
#define MVF_ROPE_KV 8

#define MVF_ROLE_Q 1   // rotated
#define MVF_ROLE_K 2   // rotated, stored into kc
#define MVF_ROLE_V 3   // stored into vc

struct MatvecFusedArgs {
    int ncols;                // K, the same for every W
    int rows0, rows1, rows2;  // rows of W0, W1, W2 (0: not used)
    int flags;                // MVF_*
    float eps;                // RMSNorm's, with MVF_NORM
    int roles;                // with MVF_ROPE_KV: W_m's role (MVF_ROLE_*) in bits 4m..4m+3
    int head_dim, rope_dims;  // RoPE: rows of head_dim, the first rope_dims of each rotated
    float rope_base;
    long layer_offset;        // elements to this layer's slice of the KV cache
};

// Shared with CUDA: threadgroup group (8 output rows) for token tok. xs holds
// MVF_CHUNK floats (16-byte aligned), part 2 MVW_WARPS. Every thread reaches every
// barrier: SIMD groups past the last row stage x and sum x² with the others.
template <typename B>
inline void matvec_fused_rows(device const uchar * w0, device const uchar * w1, device const uchar * w2,
                              device const float * x, device const float * nw, device const float * res,
                              device float * y0, device float * y1, device float * y2,
                              device half * kc, device half * vc, device const int * pos,
                              int ncols, int rows0, int rows1, int rows2, int flags, float eps,
                              int roles, int head_dim, int rope_dims, float rope_base, long layer_offset,
                              int group, int tok, int tid, int lane, int sg,
                              threadgroup float * xs, threadgroup float * part) {
    bool swiglu = (flags & MVF_SWIGLU) != 0, norm = (flags & MVF_NORM) != 0;
    int r = group * MVW_WARPS + sg;
    // the weight matrix, output and row this SIMD group computes
    device const uchar * w = w0;
    device float * y = y0;
    int nrows = rows0, m = 0;
    if (!swiglu && r >= rows0) {
        r -= rows0;
        w = w1, y = y1, nrows = rows1, m = 1;
        if (r >= rows1) {
            r -= rows1;
            w = w2, y = y2, nrows = rows2, m = 2;
        }
    }
    bool active = r < nrows;
    device const float * xt = x + (long) tok * ncols;
    device const uchar * wr = w + (long) r * row_bytes<B>(ncols);
    device const uchar * ur = w1 + (long) r * row_bytes<B>(ncols);   // SwiGLU's up row
    float s = 0.0f, su = 0.0f, ss = 0.0f;
    for (int c0 = 0; c0 < ncols; c0 += MVF_CHUNK) {
        int n = min(MVF_CHUNK, ncols - c0);
        if (c0 > 0) {
            threadgroup_barrier(mem_flags::mem_threadgroup);   // the last chunk is consumed
        }
        if (ncols % 4 == 0) {   // x and nw rows 16-byte aligned: float4s, issued together
            #pragma clang loop unroll_count(4)
            for (int i = 4 * tid; i < n; i += 4 * 32 * MVW_WARPS) {
                float4 v = *(device const float4 *) (xt + c0 + i);
                ss += v[0] * v[0] + v[1] * v[1] + v[2] * v[2] + v[3] * v[3];
                if (norm) {
                    float4 g = *(device const float4 *) (nw + c0 + i);
                    for (int j = 0; j < 4; j++) {
                        v[j] *= g[j];
                    }
                }
                *(threadgroup float4 *) (xs + i) = v;
            }
        } else {
            for (int i = tid; i < n; i += 32 * MVW_WARPS) {
                float v = xt[c0 + i];
                ss += v * v;
                xs[i] = norm ? v * nw[c0 + i] : v;
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        if (active) {
            int off = row_bytes<B>(c0);
            s += wide_dot<B>::partial(wr + off, (threadgroup const float *) xs, n, lane);
            if (swiglu) {
                su += wide_dot<B>::partial(ur + off, (threadgroup const float *) xs, n, lane);
            }
        }
    }
    float scale = 1.0f;
    if (norm) {
        ss = simd_sum(ss);
        if (lane == 0) {
            part[sg] = ss;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float tot = 0.0f;
        for (int i = 0; i < MVW_WARPS; i++) {
            tot += part[i];
        }
        scale = 1.0f / sqrt(tot / float(ncols) + eps);
    }
    s = simd_sum(s) * scale;   // (0 in SIMD groups past the last row)
    if (swiglu) {
        su = simd_sum(su) * scale;
    }
    int role = (flags & MVF_ROPE_KV) != 0 ? (roles >> (4 * m)) & 15 : 0;
    if ((flags & MVF_ROPE_KV) != 0) {
        // rows 2i and 2i+1 of q or k (their matrices start at even rows) are SIMD groups
        // sg and sg ^ 1 of one threadgroup; rotated as rope_pair does
        if (lane == 0) {
            part[MVW_WARPS + sg] = s;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        int j = r % head_dim;
        if (active && (role == MVF_ROLE_Q || role == MVF_ROLE_K) && j < rope_dims) {
            float other = part[MVW_WARPS + (sg ^ 1)];
            float theta = float(pos[tok]) * pow(rope_base, -2.0f * float(j / 2) / float(rope_dims));
            float c = cos(theta), sn = sin(theta);
            s = j % 2 == 0 ? s * c - other * sn : other * sn + s * c;
        }
    }
    if (!active || lane != 0) {
        return;
    }
    long o = (long) tok * nrows + r;
    if (swiglu) {
        y[o] = s / (1.0f + exp(-s)) * su;
    } else if ((flags & MVF_RESIDUAL) != 0) {
        y[o] = res[o] + s;
    } else {
        y[o] = s;
    }
    if (role == MVF_ROLE_K || role == MVF_ROLE_V) {
        device half * cache = role == MVF_ROLE_K ? kc : vc;
        cache[layer_offset + (long) pos[tok] * nrows + r] = half(s);
    }
}

#ifndef __CUDA__
template <typename B>
kernel void matvec_fused(device const uchar * w0 [[buffer(0)]],
                         device const uchar * w1 [[buffer(1)]],
                         device const uchar * w2 [[buffer(2)]],
                         device const float * x [[buffer(3)]],
                         device const float * nw [[buffer(4)]],
                         device const float * res [[buffer(5)]],
                         device float * y0 [[buffer(6)]],
                         device float * y1 [[buffer(7)]],
                         device float * y2 [[buffer(8)]],
                         device half * kc [[buffer(9)]],
                         device half * vc [[buffer(10)]],
                         device const int * pos [[buffer(11)]],
                         constant MatvecFusedArgs & a [[buffer(12)]],
                         uint3 tgpig [[threadgroup_position_in_grid]],
                         ushort tiitg [[thread_index_in_threadgroup]],
                         ushort tiisg [[thread_index_in_simdgroup]],
                         ushort sgitg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float4 xs[MVF_CHUNK / 4];
    threadgroup float part[2 * MVW_WARPS];
    matvec_fused_rows<B>(w0, w1, w2, x, nw, res, y0, y1, y2, kc, vc, pos, a.ncols, a.rows0, a.rows1, a.rows2, a.flags, a.eps,
                         a.roles, a.head_dim, a.rope_dims, a.rope_base, a.layer_offset, tgpig.x, tgpig.y, tiitg, tiisg, sgitg,
                         (threadgroup float *) xs, part);
}
#endif
