// matvec.metal — decode-time matrix × vector: y[t][r] = Σ_k W[r][k] x[t][k].
// Work split: a threadgroup is 2 SIMD groups; each SIMD group owns MV_ROWS consecutive
// weight rows and one token (grid.y); each lane walks 16-element chunks of the row with
// a stride of 32 chunks, dequantizing in registers; one simd_sum per row at the end.
// Rows past the end and K not a multiple of 32*16 are handled by guards.
// matvec_wide_<type>, below, is the same product split for big discrete GPUs (CUDA).

#define MV_ROWS 4

struct MatvecArgs {
    int ncols;   // K
    int nrows;   // rows of W
};

// Shared with CUDA: matvec_rows is the algorithm (see norm.metal); group and tok are
// the threadgroup's position, sg the SIMD group within it.
template <typename B>
inline void matvec_rows(device const uchar * w, device const float * x, device float * y,
                        int ncols, int nrows, int group, int tok, int lane, int sg) {
    int row0 = (group * 2 + sg) * MV_ROWS;
    int rb = row_bytes<B>(ncols);
    int nchunks = (ncols + 15) / 16;
    device const float * xt = x + (long) tok * ncols;
    float sum[MV_ROWS] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int c = lane; c < nchunks; c += 32) {
        float xv[16];
        for (int l = 0; l < 16; l++) {
            int e = 16 * c + l;
            xv[l] = e < ncols ? xt[e] : 0.0f;
        }
        // unrolled, so sum[] stays in registers (CUDA would put it in local memory)
        #pragma clang loop unroll(full)
        for (int r = 0; r < MV_ROWS; r++) {
            if (row0 + r < nrows) {
                float wv[16];
                B::dq16(w + (long) (row0 + r) * rb, c, ncols, wv);
                for (int l = 0; l < 16; l++) {
                    sum[r] += wv[l] * xv[l];
                }
            }
        }
    }
    for (int r = 0; r < MV_ROWS; r++) {
        float s = simd_sum(sum[r]);
        if (lane == 0 && row0 + r < nrows) {
            y[(long) tok * nrows + row0 + r] = s;
        }
    }
}

#ifndef __CUDA__
template <typename B>
kernel void matvec(device const uchar * w [[buffer(0)]],
                   device const float * x [[buffer(1)]],
                   device float * y [[buffer(2)]],
                   constant MatvecArgs & a [[buffer(3)]],
                   uint3 tgpig [[threadgroup_position_in_grid]],
                   ushort tiisg [[thread_index_in_simdgroup]],
                   ushort sgitg [[simdgroup_index_in_threadgroup]]) {
    matvec_rows<B>(w, x, y, a.ncols, a.nrows, tgpig.x, tgpig.y, tiisg, sgitg);
}
#endif

// ---- matvec_wide_<type>: the work split for big discrete GPUs (the backend picks it
// only on CUDA: metal.Info.Target; Metal keeps matvec_<type> above).
// One SIMD group per weight row, MVW_WARPS (8) per threadgroup (256 threads), grid
// (ceil(rows / 8), tokens): a 2048-row matrix is 256 threadgroups, enough to fill 132
// SMs. A row's lanes read consecutive bytes of it at once (a warp-wide coalesced load),
// in 16- or 32-bit words (16-byte vectors for F32 and F16) where the block layout's
// alignment allows: wide_dot<B> below, specialized for F32, F16, Q4_0, Q8_0, Q4_K and
// Q6_K; other types take the generic path over dq16 (lane i decodes 16-element chunks
// i, i+32, ...). F32 sums; a block's (or
// sub-block's) scale multiplies its sum of q·x once.

#define MVW_WARPS 8

// Bandwidth needs bytes in flight: a 2048-row matrix is only ~16 warps an SM, and its
// Q4_0 row 1152 bytes, so the block loops unroll 8 steps (4 for F32/F16) and issue their
// loads together rather than one step's few bytes at a time.

// The quantized types' x rows start at multiples of 32 floats (128 bytes) of buffers
// the backend allocates whole, so x is read in float4s (float2s for Q6_K's layout).

// xld<X> reads x in vectors from device memory (matvec_wide) or threadgroup memory
// (matvec_fused, matvec_fused.metal); where address spaces are erased (CUDA, the
// simulator's run) the two pointer types are one, and so is the specialization.
template <typename X> struct xld;
template <> struct xld<device const float *> {
    static inline float4 f4(device const float * p) { return *(device const float4 *) p; }
    static inline float2 f2(device const float * p) { return *(device const float2 *) p; }
};
#if defined(__METAL_VERSION__) || defined(ADDRESS_SPACE_CHECK)
template <> struct xld<threadgroup const float *> {
    static inline float4 f4(threadgroup const float * p) { return *(threadgroup const float4 *) p; }
    static inline float2 f2(threadgroup const float * p) { return *(threadgroup const float2 *) p; }
};
#endif

// wide_dot<B>::partial is a lane's share of one row's dot product with x (ncols
// elements; X: x's pointer type, device or threadgroup); the SIMD group sums the shares.
template <typename B> struct wide_dot {
    template <typename X> static inline float partial(device const uchar * row, X x, int ncols, int lane) {
        float s = 0.0f;
        int nchunks = (ncols + 15) / 16;
        for (int c = lane; c < nchunks; c += 32) {
            float wv[16];
            B::dq16(row, c, ncols, wv);
            for (int l = 0; l < 16; l++) {
                int e = 16 * c + l;
                s += wv[l] * (e < ncols ? x[e] : 0.0f);
            }
        }
        return s;
    }
};

// F32 and F16 rows: lane i takes 4 consecutive elements at 4(i + 32k), one float4 or
// half4 load each of W and x (a warp reads 512 or 256 consecutive bytes of the row),
// where rows of ncols are 16-byte (8-byte) aligned: ncols a multiple of 4; one element
// at i + 32k otherwise.
template <> struct wide_dot<blk_f32> {
    template <typename X> static inline float partial(device const uchar * row, X x, int ncols, int lane) {
        device const float * w = (device const float *) row;
        float s = 0.0f;
        if (ncols % 4 == 0) {
            #pragma clang loop unroll_count(4)
            for (int e = 4 * lane; e < ncols; e += 128) {
                float4 a = *(device const float4 *) (w + e), b = xld<X>::f4(x + e);
                s += a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
            }
        } else {
            for (int e = lane; e < ncols; e += 32) {
                s += w[e] * x[e];
            }
        }
        return s;
    }
};

template <> struct wide_dot<blk_f16> {
    template <typename X> static inline float partial(device const uchar * row, X x, int ncols, int lane) {
        device const half * w = (device const half *) row;
        float s = 0.0f;
        if (ncols % 4 == 0) {
            #pragma clang loop unroll_count(4)
            for (int e = 4 * lane; e < ncols; e += 128) {
                half4 a = *(device const half4 *) (w + e);
                float4 b = xld<X>::f4(x + e);
                s += float(a[0]) * b[0] + float(a[1]) * b[1] + float(a[2]) * b[2] + float(a[3]) * b[3];
            }
        } else {
            for (int e = lane; e < ncols; e += 32) {
                s += float(w[e]) * x[e];
            }
        }
        return s;
    }
};

// sext8 is the signed value of a byte held in the low 8 bits of v.
inline int sext8(uint v) {
    int b = int(v & 255u);
    return b - ((b & 128) << 1);
}

// Q4_0 (18-byte blocks: f16 scale, 16 bytes of nibbles, element i low and i+16 high):
// 4 lanes a block, 8 blocks a SIMD group step; lane q of a block reads nibble bytes
// 4q..4q+3 as two 16-bit words (blocks are 2-byte aligned), elements 4q..4q+3 and
// 16+4q..16+4q+3.
template <> struct wide_dot<blk_q4_0> {
    template <typename X> static inline float partial(device const uchar * row, X x, int ncols, int lane) {
        int nb = ncols / 32, q = lane % 4;
        float s = 0.0f;
        #pragma clang loop unroll_count(8)   // loads of 8 steps in flight (see above)
        for (int ib = lane / 4; ib < nb; ib += 8) {
            device const ushort * p = (device const ushort *) (row + ib * 18);
            float d = float(as_type<half>(p[0]));
            uint v = uint(p[1 + 2 * q]) | (uint(p[2 + 2 * q]) << 16);
            float4 xl = xld<X>::f4(x + ib * 32 + 4 * q);
            float4 xh = xld<X>::f4(x + ib * 32 + 16 + 4 * q);
            float acc = 0.0f;
            for (int i = 0; i < 4; i++) {
                acc += float(int((v >> (8 * i)) & 15u) - 8) * xl[i];
                acc += float(int((v >> (8 * i + 4)) & 15u) - 8) * xh[i];
            }
            s += d * acc;
        }
        return s;
    }
};

// Q8_0 (34-byte blocks: f16 scale, 32 signed bytes): 4 lanes a block, 8 blocks a step;
// lane q reads bytes 8q..8q+7 as four 16-bit words.
template <> struct wide_dot<blk_q8_0> {
    template <typename X> static inline float partial(device const uchar * row, X x, int ncols, int lane) {
        int nb = ncols / 32, q = lane % 4;
        float s = 0.0f;
        #pragma clang loop unroll_count(8)   // loads of 8 steps in flight (see above)
        for (int ib = lane / 4; ib < nb; ib += 8) {
            device const ushort * p = (device const ushort *) (row + ib * 34);
            float d = float(as_type<half>(p[0]));
            float4 x0 = xld<X>::f4(x + ib * 32 + 8 * q);
            float4 x1 = xld<X>::f4(x + ib * 32 + 8 * q + 4);
            float acc = 0.0f;
            for (int i = 0; i < 2; i++) {
                uint v = uint(p[1 + 4 * q + i]), u = uint(p[3 + 4 * q + i]);
                acc += float(sext8(v)) * x0[2 * i] + float(sext8(v >> 8)) * x0[2 * i + 1];
                acc += float(sext8(u)) * x1[2 * i] + float(sext8(u >> 8)) * x1[2 * i + 1];
            }
            s += d * acc;
        }
        return s;
    }
};

// Q4_K (144-byte blocks: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of
// nibbles): a SIMD group a block; lane reads one 32-bit word of nibbles (the group's 128
// bytes in one coalesced load): 64-element group j = lane / 8, bytes 4t..4t+3 of it
// (t = lane % 8), low nibbles sub-block 2j, high 2j+1; d, dmin and the scales as 4 words.
// scale_min_k4 over the scale bytes loaded as words, without a branch: the lanes of a
// SIMD group take different j, so both of ggml's cases are computed and one kept.
// Bytes j & 3, (j & 3) + 4 and (j & 3) + 8 are byte j & 3 of s0, s1 and s2.
inline void scale_min_k4w(int j, uint s0, uint s1, uint s2, thread int & d, thread int & m) {
    uint sh = 8u * uint(j & 3);
    int a = int((s0 >> sh) & 255u), b = int((s1 >> sh) & 255u), c = int((s2 >> sh) & 255u);
    bool low = j < 4;
    d = low ? (a & 63) : ((c & 15) | ((a >> 6) << 4));
    m = low ? (b & 63) : ((c >> 4) | ((b >> 6) << 4));
}

template <> struct wide_dot<blk_q4_k> {
    template <typename X> static inline float partial(device const uchar * row, X x, int ncols, int lane) {
        int nb = ncols / 256, j = lane / 8, t = lane % 8;
        float s = 0.0f;
        #pragma clang loop unroll_count(8)   // loads of 8 steps in flight (see above)
        for (int ib = 0; ib < nb; ib++) {
            device const uchar * b = row + ib * 144;
            device const uint * bw = (device const uint *) b;
            uint v = bw[4 + 8 * j + t];
            uint dm = bw[0], s0 = bw[1], s1 = bw[2], s2 = bw[3];
            int sc0, m0, sc1, m1;
            scale_min_k4w(2 * j, s0, s1, s2, sc0, m0);
            scale_min_k4w(2 * j + 1, s0, s1, s2, sc1, m1);
            float4 xl = xld<X>::f4(x + ib * 256 + 64 * j + 4 * t);
            float4 xh = xld<X>::f4(x + ib * 256 + 64 * j + 32 + 4 * t);
            float a0 = 0.0f, a1 = 0.0f, x0 = 0.0f, x1 = 0.0f;
            for (int i = 0; i < 4; i++) {
                float lo = xl[i], hi = xh[i];
                a0 += float((v >> (8 * i)) & 15u) * lo;
                a1 += float((v >> (8 * i + 4)) & 15u) * hi;
                x0 += lo;
                x1 += hi;
            }
            float d = float(as_type<half>(ushort(dm & 0xffffu))), dmin = float(as_type<half>(ushort(dm >> 16)));
            s += d * (float(sc0) * a0 + float(sc1) * a1) - dmin * (float(m0) * x0 + float(m1) * x1);
        }
        return s;
    }
};

// Q6_K (210-byte blocks: 128 bytes of low nibbles, 64 of high 2-bit pairs, 16 signed
// scales, f16 d; 2-byte aligned): a SIMD group a block; lane takes half nn = lane / 16
// and positions l, l+1 (l = 2 (lane % 16)) of it, reading each byte array as 16-bit
// words: elements 128nn + l + {0, 32, 64, 96} and the next.
template <> struct wide_dot<blk_q6_k> {
    template <typename X> static inline float partial(device const uchar * row, X x, int ncols, int lane) {
        int nb = ncols / 256, nn = lane / 16, l = 2 * (lane % 16);
        float s = 0.0f;
        #pragma clang loop unroll_count(8)   // loads of 8 steps in flight (see above)
        for (int ib = 0; ib < nb; ib++) {
            device const uchar * b = row + ib * 210;
            uint ql0 = uint(*(device const ushort *) (b + 64 * nn + l));
            uint ql1 = uint(*(device const ushort *) (b + 64 * nn + 32 + l));
            uint qh = uint(*(device const ushort *) (b + 128 + 32 * nn + l));
            device const char * sc = (device const char *) (b + 192 + 8 * nn + l / 16);
            X xb = x + ib * 256 + 128 * nn + l;
            float acc = 0.0f;
            for (int k = 0; k < 4; k++) {       // quarter: elements 32k + l, 32k + l + 1
                uint lo = (k % 2 == 0 ? ql0 : ql1) >> (4 * (k / 2));
                uint h = qh >> (2 * k);
                float a = 0.0f;
                float2 xk = xld<X>::f2(xb + 32 * k);
                for (int e = 0; e < 2; e++) {
                    int qv = int(((lo >> (8 * e)) & 15u) | (((h >> (8 * e)) & 3u) << 4)) - 32;
                    a += float(qv) * xk[e];
                }
                acc += float(sc[2 * k]) * a;
            }
            s += float(as_type<half>(*(device const ushort *) (b + 208))) * acc;
        }
        return s;
    }
};

// Shared with CUDA: the algorithm for row group * MVW_WARPS + sg and token tok. A SIMD
// group past the last row leaves at once (its lanes together: simd_sum needs all 32).
template <typename B>
inline void matvec_wide_row(device const uchar * w, device const float * x, device float * y,
                            int ncols, int nrows, int group, int tok, int lane, int sg) {
    int r = group * MVW_WARPS + sg;
    if (r >= nrows) {
        return;
    }
    float s = wide_dot<B>::partial(w + (long) r * row_bytes<B>(ncols), x + (long) tok * ncols, ncols, lane);
    s = simd_sum(s);
    if (lane == 0) {
        y[(long) tok * nrows + r] = s;
    }
}

#ifndef __CUDA__
template <typename B>
kernel void matvec_wide(device const uchar * w [[buffer(0)]],
                        device const float * x [[buffer(1)]],
                        device float * y [[buffer(2)]],
                        constant MatvecArgs & a [[buffer(3)]],
                        uint3 tgpig [[threadgroup_position_in_grid]],
                        ushort tiisg [[thread_index_in_simdgroup]],
                        ushort sgitg [[simdgroup_index_in_threadgroup]]) {
    matvec_wide_row<B>(w, x, y, a.ncols, a.nrows, tgpig.x, tgpig.y, tiisg, sgitg);
}
#endif
