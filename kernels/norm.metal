// norm.metal — RMSNorm with the weight multiply fused: y = x / sqrt(mean(x²) + eps) * w.
// Work split: one SIMD group (32 threads) per row; lanes stride over the row, one
// simd_sum for the sum of squares.
//
// Shared with CUDA: rms_norm_row is the algorithm, compiled as MSL here and as CUDA by
// cuda/kernels.cu (whose prelude maps Metal's spellings); only the kernel entry point,
// below, is Metal's own.

struct NormArgs {
    int ncols;
    float eps;
};

inline void rms_norm_row(device const float * xr, device const float * w, device float * yr,
                         int ncols, float eps, int lane) {
    float ss = 0.0f;
    for (int i = lane; i < ncols; i += 32) {
        ss += xr[i] * xr[i];
    }
    ss = simd_sum(ss);
    float scale = 1.0f / sqrt(ss / float(ncols) + eps);
    for (int i = lane; i < ncols; i += 32) {
        yr[i] = xr[i] * scale * w[i];
    }
}

#ifndef __CUDA__
kernel void rms_norm(device const float * x [[buffer(0)]],
                     device const float * w [[buffer(1)]],
                     device float * y [[buffer(2)]],
                     constant NormArgs & a [[buffer(3)]],
                     uint3 tgpig [[threadgroup_position_in_grid]],
                     ushort tiisg [[thread_index_in_simdgroup]]) {
    rms_norm_row(x + (long) tgpig.x * a.ncols, w, y + (long) tgpig.x * a.ncols, a.ncols, a.eps, tiisg);
}
#endif
