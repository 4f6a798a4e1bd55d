// elementwise.metal — add and SiLU×mul (SwiGLU).
// Work split: one thread per element; grid = ceil(n / 256) threadgroups of 256.

struct EltArgs {
    int n;
};

kernel void add(device const float * a [[buffer(0)]],
                device const float * b [[buffer(1)]],
                device float * y [[buffer(2)]],
                constant EltArgs & p [[buffer(3)]],
                uint gid [[thread_position_in_grid]]) {
    if ((int) gid < p.n) {
        y[gid] = a[gid] + b[gid];
    }
}

kernel void swiglu(device const float * gate [[buffer(0)]],
                   device const float * up [[buffer(1)]],
                   device float * y [[buffer(2)]],
                   constant EltArgs & p [[buffer(3)]],
                   uint gid [[thread_position_in_grid]]) {
    if ((int) gid < p.n) {
        float g = gate[gid];
        y[gid] = g / (1.0f + exp(-g)) * up[gid];
    }
}
