// kv.metal — write K and V rows (float) into the F16 KV cache at their positions.
// Work split: one thread per element; grid = (kv_dim, tokens).

struct KVArgs {
    int kv_dim;
    long layer_offset;   // elements to this layer's slice of the cache
};

// Shared with CUDA (see norm.metal): element e of token t.
inline void kv_store_one(device const float * k, device const float * v, device half * kc, device half * vc,
                         device const int * pos, int kv_dim, long layer_offset, int e, int t) {
    if (e >= kv_dim) {
        return;
    }
    long dst = layer_offset + (long) pos[t] * kv_dim + e;
    kc[dst] = half(k[(long) t * kv_dim + e]);
    vc[dst] = half(v[(long) t * kv_dim + e]);
}

#ifndef __CUDA__
kernel void kv_store(device const float * k [[buffer(0)]],
                     device const float * v [[buffer(1)]],
                     device half * kc [[buffer(2)]],
                     device half * vc [[buffer(3)]],
                     device const int * pos [[buffer(4)]],
                     constant KVArgs & a [[buffer(5)]],
                     uint2 gid [[thread_position_in_grid]]) {
    kv_store_one(k, v, kc, vc, pos, a.kv_dim, a.layer_offset, gid.x, gid.y);
}
#endif
