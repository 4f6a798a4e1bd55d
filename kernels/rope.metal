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

kernel void rope(device float * x [[buffer(0)]],
                 device const int * pos [[buffer(1)]],
                 constant RopeArgs & a [[buffer(2)]],
                 uint3 gid [[thread_position_in_grid]]) {
    int i = gid.x, h = gid.y, row = gid.z;
    if (i >= a.dims / 2 || h >= a.nhead) {
        return;
    }
    float theta = float(pos[row]) * pow(a.base, -2.0f * float(i) / float(a.dims));
    float c = cos(theta), s = sin(theta);
    device float * v = x + ((long) row * a.nhead + h) * a.head_dim;
    int i0 = a.neox ? i : 2 * i;
    int i1 = a.neox ? i + a.dims / 2 : 2 * i + 1;
    float x0 = v[i0], x1 = v[i1];
    v[i0] = x0 * c - x1 * s;
    v[i1] = x0 * s + x1 * c;
}
