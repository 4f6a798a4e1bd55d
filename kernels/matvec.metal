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

template <int T>
kernel void matvec(device const uchar * w [[buffer(0)]],
                   device const float * x [[buffer(1)]],
                   device float * y [[buffer(2)]],
                   constant MatvecArgs & a [[buffer(3)]],
                   uint3 tgpig [[threadgroup_position_in_grid]],
                   ushort tiisg [[thread_index_in_simdgroup]],
                   ushort sgitg [[simdgroup_index_in_threadgroup]]) {
    int row0 = (int(tgpig.x) * 2 + int(sgitg)) * MV_ROWS;
    int tok = tgpig.y;
    int rb = row_bytes<T>(a.ncols);
    int nchunks = (a.ncols + 15) / 16;
    device const float * xt = x + (long) tok * a.ncols;
    float sum[MV_ROWS] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int c = tiisg; c < nchunks; c += 32) {
        float xv[16];
        for (int l = 0; l < 16; l++) {
            int e = 16 * c + l;
            xv[l] = e < a.ncols ? xt[e] : 0.0f;
        }
        for (int r = 0; r < MV_ROWS; r++) {
            if (row0 + r < a.nrows) {
                float wv[16];
                blk<T>::dq16(w + (long) (row0 + r) * rb, c, a.ncols, wv);
                for (int l = 0; l < 16; l++) {
                    sum[r] += wv[l] * xv[l];
                }
            }
        }
    }
    for (int r = 0; r < MV_ROWS; r++) {
        float s = simd_sum(sum[r]);
        if (tiisg == 0 && row0 + r < a.nrows) {
            y[(long) tok * a.nrows + row0 + r] = s;
        }
    }
}

typedef decltype(matvec<T_F32>) matvec_t;
template [[host_name("matvec_f32")]] kernel matvec_t matvec<T_F32>;
template [[host_name("matvec_f16")]] kernel matvec_t matvec<T_F16>;
template [[host_name("matvec_q4_0")]] kernel matvec_t matvec<T_Q4_0>;
template [[host_name("matvec_q4_1")]] kernel matvec_t matvec<T_Q4_1>;
template [[host_name("matvec_q5_0")]] kernel matvec_t matvec<T_Q5_0>;
template [[host_name("matvec_q5_1")]] kernel matvec_t matvec<T_Q5_1>;
template [[host_name("matvec_q8_0")]] kernel matvec_t matvec<T_Q8_0>;
template [[host_name("matvec_q2_k")]] kernel matvec_t matvec<T_Q2_K>;
template [[host_name("matvec_q3_k")]] kernel matvec_t matvec<T_Q3_K>;
template [[host_name("matvec_q4_k")]] kernel matvec_t matvec<T_Q4_K>;
template [[host_name("matvec_q5_k")]] kernel matvec_t matvec<T_Q5_K>;
template [[host_name("matvec_q6_k")]] kernel matvec_t matvec<T_Q6_K>;
template [[host_name("matvec_iq4_nl")]] kernel matvec_t matvec<T_IQ4_NL>;
template [[host_name("matvec_iq4_xs")]] kernel matvec_t matvec<T_IQ4_XS>;
