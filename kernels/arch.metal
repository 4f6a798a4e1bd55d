// arch.metal — the ops of the architectures beyond Llama (backend.ArchOps): x·s, a bias
// row added to every row, GELU-tanh(gate)×up, the tanh soft-cap c·tanh(x/c), and RoPE
// whose pair angles are divided by frequency factors (Llama 3.x rope_freqs, Phi-3
// long/short factors) with cos and sin scaled by the attention factor. Soft-capped and
// sliding-window attention are attention.metal's.
// Work split: one thread per element (per pair for rope_ff), as elementwise.metal and
// rope.metal.

struct ArchEltArgs {
    int n;       // elements
    int cols;    // add_row: the bias's length (row width)
    float s;     // scale: the factor; softcap: c
};

struct RopeFFArgs {
    int nhead;
    int head_dim;
    int dims;
    float base;
    int neox;
    float mscale;  // the attention factor (1: none)
};

// Shared with CUDA (see norm.metal): element i of each op.
inline void scale_one(device float * x, int n, float s, uint i) {
    if ((int) i < n) {
        x[i] *= s;
    }
}

inline void add_row_one(device const float * x, device const float * bias, device float * y, int n, int cols, uint i) {
    if ((int) i < n) {
        y[i] = x[i] + bias[(int) i % cols];
    }
}

inline void softcap_one(device float * x, int n, float c, uint i) {
    if ((int) i < n) {
        x[i] = c * tanh(x[i] * (1.0f / c));
    }
}

// The tanh form of GELU in float32 (ggml's CPU rounds it through an fp16 table; the
// difference is within the fp16 rounding, below the GPU's tolerance).
inline void geglu_one(device const float * gate, device const float * up, device float * y, int n, uint i) {
    if ((int) i < n) {
        float g = gate[i];
        y[i] = 0.5f * g * (1.0f + tanh(0.7978845608f * g * (1.0f + 0.044715f * g * g))) * up[i];
    }
}

// rope_ff_pair is rope_pair (rope.metal) with pair i's angle divided by ff[i] and the
// result scaled by mscale.
inline void rope_ff_pair(device float * x, device const int * pos, device const float * ff, int nhead, int head_dim,
                         int dims, float base, int neox, float mscale, int i, int h, int row) {
    if (i >= dims / 2 || h >= nhead) {
        return;
    }
    float theta = float(pos[row]) * pow(base, -2.0f * float(i) / float(dims)) / ff[i];
    float c = cos(theta) * mscale, s = sin(theta) * mscale;
    device float * v = x + ((long) row * nhead + h) * head_dim;
    int i0 = neox ? i : 2 * i;
    int i1 = neox ? i + dims / 2 : 2 * i + 1;
    float x0 = v[i0], x1 = v[i1];
    v[i0] = x0 * c - x1 * s;
    v[i1] = x0 * s + x1 * c;
}

#ifndef __CUDA__
kernel void scale(device float * x [[buffer(0)]],
                  constant ArchEltArgs & p [[buffer(1)]],
                  uint gid [[thread_position_in_grid]]) {
    scale_one(x, p.n, p.s, gid);
}

kernel void add_row(device const float * x [[buffer(0)]],
                    device const float * bias [[buffer(1)]],
                    device float * y [[buffer(2)]],
                    constant ArchEltArgs & p [[buffer(3)]],
                    uint gid [[thread_position_in_grid]]) {
    add_row_one(x, bias, y, p.n, p.cols, gid);
}

kernel void softcap(device float * x [[buffer(0)]],
                    constant ArchEltArgs & p [[buffer(1)]],
                    uint gid [[thread_position_in_grid]]) {
    softcap_one(x, p.n, p.s, gid);
}

kernel void geglu(device const float * gate [[buffer(0)]],
                  device const float * up [[buffer(1)]],
                  device float * y [[buffer(2)]],
                  constant ArchEltArgs & p [[buffer(3)]],
                  uint gid [[thread_position_in_grid]]) {
    geglu_one(gate, up, y, p.n, gid);
}

kernel void rope_ff(device float * x [[buffer(0)]],
                    device const int * pos [[buffer(1)]],
                    device const float * ff [[buffer(2)]],
                    constant RopeFFArgs & a [[buffer(3)]],
                    uint3 gid [[thread_position_in_grid]]) {
    rope_ff_pair(x, pos, ff, a.nhead, a.head_dim, a.dims, a.base, a.neox, a.mscale, gid.x, gid.y, gid.z);
}
#endif
