// get_rows.metal — embedding lookup: dst[i] = dequantize(table row ids[i]).
// Work split: one threadgroup of 32 threads per id; each thread decodes 16-element
// chunks strided by 32 chunks.

struct GetRowsArgs {
    int ncols;
};

template <int T>
kernel void get_rows(device const uchar * table [[buffer(0)]],
                     device const int * ids [[buffer(1)]],
                     device float * dst [[buffer(2)]],
                     constant GetRowsArgs & a [[buffer(3)]],
                     uint3 tgpig [[threadgroup_position_in_grid]],
                     ushort tiisg [[thread_index_in_simdgroup]]) {
    device const uchar * row = table + (long) ids[tgpig.x] * row_bytes<T>(a.ncols);
    device float * out = dst + (long) tgpig.x * a.ncols;
    int nchunks = (a.ncols + 15) / 16;
    for (int c = tiisg; c < nchunks; c += 32) {
        float y[16];
        blk<T>::dq16(row, c, a.ncols, y);
        for (int l = 0; l < 16; l++) {
            if (16 * c + l < a.ncols) {
                out[16 * c + l] = y[l];
            }
        }
    }
}

typedef decltype(get_rows<T_F32>) get_rows_t;
template [[host_name("get_rows_f32")]] kernel get_rows_t get_rows<T_F32>;
template [[host_name("get_rows_f16")]] kernel get_rows_t get_rows<T_F16>;
template [[host_name("get_rows_q4_0")]] kernel get_rows_t get_rows<T_Q4_0>;
template [[host_name("get_rows_q4_1")]] kernel get_rows_t get_rows<T_Q4_1>;
template [[host_name("get_rows_q5_0")]] kernel get_rows_t get_rows<T_Q5_0>;
template [[host_name("get_rows_q5_1")]] kernel get_rows_t get_rows<T_Q5_1>;
template [[host_name("get_rows_q8_0")]] kernel get_rows_t get_rows<T_Q8_0>;
template [[host_name("get_rows_q2_k")]] kernel get_rows_t get_rows<T_Q2_K>;
template [[host_name("get_rows_q3_k")]] kernel get_rows_t get_rows<T_Q3_K>;
template [[host_name("get_rows_q4_k")]] kernel get_rows_t get_rows<T_Q4_K>;
template [[host_name("get_rows_q5_k")]] kernel get_rows_t get_rows<T_Q5_K>;
template [[host_name("get_rows_q6_k")]] kernel get_rows_t get_rows<T_Q6_K>;
template [[host_name("get_rows_iq4_nl")]] kernel get_rows_t get_rows<T_IQ4_NL>;
template [[host_name("get_rows_iq4_xs")]] kernel get_rows_t get_rows<T_IQ4_XS>;
