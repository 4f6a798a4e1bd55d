// norm.metal — RMSNorm with the weight multiply fused: y = x / sqrt(mean(x²) + eps) * w.
// Work split: one SIMD group (32 threads) per row; lanes stride over the row, one
// simd_sum for the sum of squares.

struct NormArgs {
    int ncols;
    float eps;
};

kernel void rms_norm(device const float * x [[buffer(0)]],
                     device const float * w [[buffer(1)]],
                     device float * y [[buffer(2)]],
                     constant NormArgs & a [[buffer(3)]],
                     uint3 tgpig [[threadgroup_position_in_grid]],
                     ushort tiisg [[thread_index_in_simdgroup]]) {
    device const float * xr = x + (long) tgpig.x * a.ncols;
    device float * yr = y + (long) tgpig.x * a.ncols;
    float ss = 0.0f;
    for (int i = tiisg; i < a.ncols; i += 32) {
        ss += xr[i] * xr[i];
    }
    ss = simd_sum(ss);
    float scale = 1.0f / sqrt(ss / float(a.ncols) + a.eps);
    for (int i = tiisg; i < a.ncols; i += 32) {
        yr[i] = xr[i] * scale * w[i];
    }
}
