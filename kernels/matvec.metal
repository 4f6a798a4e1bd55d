// matvec.metal — decode-time matrix × vector: y[t][r] = Σ_k W[r][k] x[t][k].
// Work split: a threadgroup is 2 SIMD groups; each SIMD group owns MV_ROWS consecutive
// weight rows and one token (grid.y); each lane walks 16-element chunks of the row with
// a stride of 32 chunks, dequantizing in registers; one simd_sum per row at the end.
// Rows past the end and K not a multiple of 32*16 are handled by guards.

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
