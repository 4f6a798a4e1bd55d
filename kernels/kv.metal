// kv.metal — write K and V rows (float) into the F16 KV cache at their positions.
// Work split: one thread per element; grid = (kv_dim, tokens).

struct KVArgs {
    int kv_dim;
    long layer_offset;   // elements to this layer's slice of the cache
};

kernel void kv_store(device const float * k [[buffer(0)]],
                     device const float * v [[buffer(1)]],
                     device half * kc [[buffer(2)]],
                     device half * vc [[buffer(3)]],
                     device const int * pos [[buffer(4)]],
                     constant KVArgs & a [[buffer(5)]],
                     uint2 gid [[thread_position_in_grid]]) {
    int e = gid.x, t = gid.y;
    if (e >= a.kv_dim) {
        return;
    }
    long dst = a.layer_offset + (long) pos[t] * a.kv_dim + e;
    kc[dst] = half(k[(long) t * a.kv_dim + e]);
    vc[dst] = half(v[(long) t * a.kv_dim + e]);
}
