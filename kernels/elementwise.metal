// elementwise.metal — add and SiLU×mul (SwiGLU).
// Work split: one thread per element; grid = ceil(n / 256) threadgroups of 256.

struct EltArgs {
    int n;
};

// Shared with CUDA (see norm.metal): element i of each op.
inline void add_one(device const float * a, device const float * b, device float * y, int n, uint i) {
    if ((int) i < n) {
        y[i] = a[i] + b[i];
    }
}

inline void swiglu_one(device const float * gate, device const float * up, device float * y, int n, uint i) {
    if ((int) i < n) {
        float g = gate[i];
        y[i] = g / (1.0f + exp(-g)) * up[i];
    }
}

#ifndef __CUDA__
kernel void add(device const float * a [[buffer(0)]],
                device const float * b [[buffer(1)]],
                device float * y [[buffer(2)]],
                constant EltArgs & p [[buffer(3)]],
                uint gid [[thread_position_in_grid]]) {
    add_one(a, b, y, p.n, gid);
}

kernel void swiglu(device const float * gate [[buffer(0)]],
                   device const float * up [[buffer(1)]],
                   device float * y [[buffer(2)]],
                   constant EltArgs & p [[buffer(3)]],
                   uint gid [[thread_position_in_grid]]) {
    swiglu_one(gate, up, y, p.n, gid);
}
#endif
