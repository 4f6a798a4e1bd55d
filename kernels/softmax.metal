// softmax.metal — row softmax of scale·x: y = exp(s - max) / Σ exp(s - max).
// Work split: one SIMD group per row; lanes stride over the row; simd_max then simd_sum.

struct SoftmaxArgs {
    int ncols;
    float scale;
};

kernel void softmax(device const float * x [[buffer(0)]],
                    device float * y [[buffer(1)]],
                    constant SoftmaxArgs & a [[buffer(2)]],
                    uint3 tgpig [[threadgroup_position_in_grid]],
                    ushort tiisg [[thread_index_in_simdgroup]]) {
    device const float * xr = x + (long) tgpig.x * a.ncols;
    device float * yr = y + (long) tgpig.x * a.ncols;
    float m = -INFINITY;
    for (int i = tiisg; i < a.ncols; i += 32) {
        m = max(m, xr[i] * a.scale);
    }
    m = simd_max(m);
    float s = 0.0f;
    for (int i = tiisg; i < a.ncols; i += 32) {
        float e = exp(xr[i] * a.scale - m);
        yr[i] = e;
        s += e;
    }
    s = simd_sum(s);
    for (int i = tiisg; i < a.ncols; i += 32) {
        yr[i] = yr[i] / s;
    }
}
