// argmax.metal — greedy sampling on the GPU: the index of the largest logit (the first
// one on ties), so a decode step returns a token id instead of the logits.
// Work split: one SIMD group per row; each lane scans a strided slice, then simd_max
// on the values and simd_min on the indices that hold the maximum.
//
// Shared with CUDA: argmax_row is the algorithm (see norm.metal); lane 0 writes *out.

inline void argmax_row(device const float * xr, device int * out, int ncols, int lane) {
    float best = -INFINITY;
    int idx = 0x7fffffff;
    for (int i = lane; i < ncols; i += 32) {
        if (xr[i] > best) {
            best = xr[i];
            idx = i;
        }
    }
    float m = simd_max(best);
    int cand = best == m ? idx : 0x7fffffff;
    int first = simd_min(cand);
    if (lane == 0) {
        *out = first;
    }
}

#ifndef __CUDA__
kernel void argmax(device const float * x [[buffer(0)]],
                   device int * out [[buffer(1)]],
                   constant int & ncols [[buffer(2)]],
                   uint3 tgpig [[threadgroup_position_in_grid]],
                   ushort tiisg [[thread_index_in_simdgroup]]) {
    argmax_row(x + (long) tgpig.x * ncols, out + tgpig.x, ncols, tiisg);
}
#endif
