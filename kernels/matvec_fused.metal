// matvec_fused.metal — the decode step's matrix × vector products with their neighbours
// fused in (the backend picks them on CUDA only: metal.LaunchMatVecFused; Metal keeps
// one kernel per op). One launch computes, for few tokens (grid.y):
//   * up to three products of one weight type with the same x (q, k and v):
//     y_m = W_m x', rows of W0, then W1, then W2 numbered on through the grid;
//   * with MVF_NORM, x' = rmsnorm(x) * nw: each SIMD group sums x² itself after its
//     dot (x is a few KiB), so no separate rms_norm launch; the dot products use
//     x * nw and the row's sum is multiplied by 1 / sqrt(mean(x²) + eps) once;
//   * with MVF_RESIDUAL, y0 = res + W0 x' (res may be y0: each element is read and
//     then written by the one lane that owns its row);
//   * with MVF_SWIGLU, y0 = silu(W0 x') * (W1 x'): SIMD groups 2i and 2i+1 of the grid
//     compute row i of W0 and W1 (gate and up, rows0 = rows1; one row's stream each, so
//     twice the SIMD groups and bytes in flight of one group doing both rows in turn),
//     the up sum passed through threadgroup memory; nothing else is written;
//   * with MVF_SPLIT2 (long rows, set by the launch), SIMD groups 2i and 2i+1 of the grid
//     take the two halves of row i's dot (whole blocks each), the odd one's sum passed
//     through threadgroup memory: twice the SIMD groups, half the stream each;
//   * with MVF_ROPE_KV, each W_m has a role (roles, 4 bits each): q's and k's rows are
//     RoPE-rotated (adjacent pairs, as rope without NeoX: a pair is two SIMD groups of
//     one threadgroup, exchanging their sums through threadgroup memory), and k's and
//     v's rows are also stored into the F16 KV cache at pos[tok], as kv_store would.
// Work split as matvec_wide's (matvec.metal): one SIMD group per output row, MVW_WARPS
// (8) per threadgroup, the same wide_dot<B> per type, x read from device memory as
// matvec_wide reads it (cached near the SM, shared by the threadgroups there). x is not
// staged in threadgroup memory: staging cost every threadgroup a round trip and a barrier
// before its first weight load, and 2-3x the weights' bytes of x and norm weight from
// L2 for the 8 rows it computes. With MVF_NORM, wide_dot reads x through xnormed (x·nw)
// and each SIMD group then sums x² itself (x is in its SM's cache), without a barrier.

#define MVF_NORM 1
#define MVF_RESIDUAL 2
#define MVF_SWIGLU 4
#define MVF_ROPE_KV 8
#define MVF_SPLIT2 16   // without NORM, SWIGLU, ROPE_KV; ncols a multiple of 512

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

// x · nw as wide_dot's x (an xld<X> type).
struct xnormed {
    device const float * x;
    device const float * nw;
    inline xnormed operator+(int i) const {
        xnormed p = {x + i, nw + i};
        return p;
    }
    inline float operator[](int i) const { return x[i] * nw[i]; }
};
template <> struct xld<xnormed> {
    static inline float4 f4(xnormed p) { return xld<device const float *>::f4(p.x) * xld<device const float *>::f4(p.nw); }
    static inline float2 f2(xnormed p) { return xld<device const float *>::f2(p.x) * xld<device const float *>::f2(p.nw); }
};

// A lane's share of Σx² over x's ncols elements, read after the dot (x is in the SM's
// cache by then): float4s where rows are 16-byte aligned (ncols a multiple of 4).
inline float sum_squares(device const float * x, int ncols, int lane) {
    float ss = 0.0f;
    if (ncols % 4 == 0) {
        #pragma clang loop unroll_count(4)
        for (int i = 4 * lane; i < ncols; i += 128) {
            float4 v = *(device const float4 *) (x + i);
            ss += v[0] * v[0] + v[1] * v[1] + v[2] * v[2] + v[3] * v[3];
        }
    } else {
        for (int i = lane; i < ncols; i += 32) {
            ss += x[i] * x[i];
        }
    }
    return ss;
}

// Shared with CUDA: threadgroup group (8 output rows) for token tok; part holds
// MVW_WARPS floats (RoPE's and SwiGLU's exchange). Every thread reaches the barrier.
template <typename B>
inline void matvec_fused_rows(device const uchar * w0, device const uchar * w1, device const uchar * w2,
                              device const float * x, device const float * nw, device const float * res,
                              device float * y0, device float * y1, device float * y2,
                              device half * kc, device half * vc, device const int * pos,
                              int ncols, int rows0, int rows1, int rows2, int flags, float eps,
                              int roles, int head_dim, int rope_dims, float rope_base, long layer_offset,
                              int group, int tok, int lane, int sg, threadgroup float * part) {
    bool swiglu = (flags & MVF_SWIGLU) != 0, norm = (flags & MVF_NORM) != 0;
    int r = group * MVW_WARPS + sg;
    // the weight matrix, output and row this SIMD group computes
    device const uchar * w = w0;
    device float * y = y0;
    int nrows = rows0, m = 0;
    bool up = swiglu && (sg & 1) != 0;   // SwiGLU: the odd SIMD group of a pair, up's row
    // MVF_SPLIT2: this half's first column c0 (arithmetic, not a branch: with one, NVPTX
    // lost the x loads' .nc); full is x's row length
    int split1 = (flags / MVF_SPLIT2) & 1, full = ncols;
    bool split = split1 != 0;
    ncols = full >> split1;
    int c0 = (sg & split1) * ncols;
    r >>= split1;
    if (swiglu) {
        r >>= 1;
        w = up ? w1 : w0;
    }
    up = up || (sg & split1) != 0;        // (the odd half: its sum goes to the even one)
    if (!swiglu && r >= rows0) {
        r -= rows0;
        w = w1, y = y1, nrows = rows1, m = 1;
        if (r >= rows1) {
            r -= rows1;
            w = w2, y = y2, nrows = rows2, m = 2;
        }
    }
    bool active = r < nrows;
    device const float * xt = x + (long) tok * full + c0;
    device const uchar * wr = w + (long) r * row_bytes<B>(full) + row_bytes<B>(c0);
    float s = 0.0f, scale = 1.0f;
    if (active && norm) {
        xnormed xn = {xt, nw};
        s = wide_dot<B>::partial(wr, xn, ncols, lane);
        scale = 1.0f / sqrt(simd_sum(sum_squares(xt, ncols, lane)) / float(ncols) + eps);
    } else if (active) {
        s = wide_dot<B>::partial(wr, xt, ncols, lane);
    }
    s = simd_sum(s) * scale;   // (0 in SIMD groups past the last row)
    float su = 0.0f;
    if (swiglu || split) {
        // the up sum (the second half's), from the pair's odd SIMD group to its even one
        if (lane == 0) {
            part[sg] = s;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        su = part[sg | 1];
        if (split) {
            s += su;
        }
    }
    int role = (flags & MVF_ROPE_KV) != 0 ? (roles >> (4 * m)) & 15 : 0;
    if ((flags & MVF_ROPE_KV) != 0) {
        // rows 2i and 2i+1 of q or k (their matrices start at even rows) are SIMD groups
        // sg and sg ^ 1 of one threadgroup; rotated as rope_pair does
        if (lane == 0) {
            part[sg] = s;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        int j = r % head_dim;
        if (active && (role == MVF_ROLE_Q || role == MVF_ROLE_K) && j < rope_dims) {
            float other = part[sg ^ 1];
            float theta = float(pos[tok]) * pow(rope_base, -2.0f * float(j / 2) / float(rope_dims));
            float c = cos(theta), sn = sin(theta);
            s = j % 2 == 0 ? s * c - other * sn : other * sn + s * c;
        }
    }
    if (!active || lane != 0 || up) {
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
                         ushort tiisg [[thread_index_in_simdgroup]],
                         ushort sgitg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float part[MVW_WARPS];
    matvec_fused_rows<B>(w0, w1, w2, x, nw, res, y0, y1, y2, kc, vc, pos, a.ncols, a.rows0, a.rows1, a.rows2, a.flags, a.eps,
                         a.roles, a.head_dim, a.rope_dims, a.rope_base, a.layer_offset, tgpig.x, tgpig.y, tiisg, sgitg, part);
}
#endif
