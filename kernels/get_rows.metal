// get_rows.metal — embedding lookup: dst[i] = dequantize(table row ids[i]).
// Work split: one threadgroup of 32 threads per id; each thread decodes 16-element
// chunks strided by 32 chunks.

struct GetRowsArgs {
    int ncols;
};

// Shared with CUDA: get_rows_row is the algorithm (see norm.metal); the entry points
// only turn thread positions into arguments.
template <typename B>
inline void get_rows_row(device const uchar * table, device const int * ids, device float * dst,
                         int ncols, long i, int lane) {
    device const uchar * row = table + (long) ids[i] * row_bytes<B>(ncols);
    device float * out = dst + i * ncols;
    int nchunks = (ncols + 15) / 16;
    for (int c = lane; c < nchunks; c += 32) {
        float y[16];
        B::dq16(row, c, ncols, y);
        for (int l = 0; l < 16; l++) {
            if (16 * c + l < ncols) {
                out[16 * c + l] = y[l];
            }
        }
    }
}

#ifndef __CUDA__
template <typename B>
kernel void get_rows(device const uchar * table [[buffer(0)]],
                     device const int * ids [[buffer(1)]],
                     device float * dst [[buffer(2)]],
                     constant GetRowsArgs & a [[buffer(3)]],
                     uint3 tgpig [[threadgroup_position_in_grid]],
                     ushort tiisg [[thread_index_in_simdgroup]]) {
    get_rows_row<B>(table, ids, dst, a.ncols, tgpig.x, tiisg);
}
#endif
