// rope.metal — rotary position embedding, in place: pairs (2i, 2i+1) (normal) or
// (i, i + dims/2) (NeoX) rotated by θ = pos · base^(-2i/dims).
// Work split: one thread per (row, head, pair); grid = rows × heads × dims/2.

struct RopeArgs {
    int nhead;
    int head_dim;
    int dims;
    float base;
    int neox;
};

// Shared with CUDA: rope_pair is the algorithm (see norm.metal) for pair i of head h of
// row `row`.
inline void rope_pair(device float * x, device const int * pos, int nhead, int head_dim, int dims,
                      float base, int neox, int i, int h, int row) {
    if (i >= dims / 2 || h >= nhead) {
        return;
    }
    float theta = float(pos[row]) * pow(base, -2.0f * float(i) / float(dims));
    float c = cos(theta), s = sin(theta);
    device float * v = x + ((long) row * nhead + h) * head_dim;
    int i0 = neox ? i : 2 * i;
    int i1 = neox ? i + dims / 2 : 2 * i + 1;
    float x0 = v[i0], x1 = v[i1];
    v[i0] = x0 * c - x1 * s;
    v[i1] = x0 * s + x1 * c;
}

#ifndef __CUDA__
kernel void rope(device float * x [[buffer(0)]],
                 device const int * pos [[buffer(1)]],
                 constant RopeArgs & a [[buffer(2)]],
                 uint3 gid [[thread_position_in_grid]]) {
    rope_pair(x, pos, a.nhead, a.head_dim, a.dims, a.base, a.neox, gid.x, gid.y, gid.z);
}
#endif
