// get_rows.metal — embedding lookup: dst[i] = dequantize(table row ids[i]).
// Work split: one threadgroup of 32 threads per id; each thread decodes 16-element
// chunks strided by 32 chunks.

struct GetRowsArgs {
    int ncols;
};

template <typename B>
kernel void get_rows(device const uchar * table [[buffer(0)]],
                     device const int * ids [[buffer(1)]],
                     device float * dst [[buffer(2)]],
                     constant GetRowsArgs & a [[buffer(3)]],
                     uint3 tgpig [[threadgroup_position_in_grid]],
                     ushort tiisg [[thread_index_in_simdgroup]]) {
    device const uchar * row = table + (long) ids[tgpig.x] * row_bytes<B>(a.ncols);
    device float * out = dst + (long) tgpig.x * a.ncols;
    int nchunks = (a.ncols + 15) / 16;
    for (int c = tiisg; c < nchunks; c += 32) {
        float y[16];
        B::dq16(row, c, a.ncols, y);
        for (int l = 0; l < 16; l++) {
            if (16 * c + l < a.ncols) {
                out[16 * c + l] = y[l];
            }
        }
    }
}
