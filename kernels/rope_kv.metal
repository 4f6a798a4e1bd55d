// rope_kv.metal — the decode step's RoPE of q and k and its KV-cache store in one kernel,
// for NeoX RoPE on CUDA (metal.LaunchRopeKV; adjacent pairs are rotated in matvec_fused's
// q/k/v epilogue instead; elsewhere rope, rope and kv_store). For token t (grid.y) at
// position pos[t], thread g of the grid takes
//   g <  Pq:            pair g of q's heads, rotated in place (rope_pair, as rope does);
//   g <  Pq + Pk:       a pair of k's heads, rotated in place and both elements stored
//                       into the F16 K cache;
//   g <  Pq + Pk + kvd: element e of v stored into the V cache, and of k too where e is
//                       past the rotated dims of its head (dims < head_dim);
// with Pq = nhead · dims/2, Pk = nkvhead · dims/2, kvd = nkvhead · head_dim. Every
// element is written by one thread, so the cache holds exactly what rope then kv_store
// would write.

struct RopeKVArgs {
    int nhead, nkvhead, head_dim, dims;
    float base;
    int neox;
    long layer_offset;   // elements to this layer's slice of the cache
};

// Shared with CUDA (see norm.metal): thread g for token t.
inline void rope_kv_one(device float * q, device float * k, device const float * v, device half * kc, device half * vc,
                        device const int * pos, int nhead, int nkvhead, int head_dim, int dims, float base, int neox,
                        long layer_offset, int g, int t) {
    int half_dims = dims / 2, kvd = nkvhead * head_dim;
    int pq = nhead * half_dims, pk = nkvhead * half_dims;
    long row = layer_offset + (long) pos[t] * kvd;
    if (g < pq) {
        rope_pair(q, pos, nhead, head_dim, dims, base, neox, g % half_dims, g / half_dims, t);
    } else if (g < pq + pk) {
        int i = (g - pq) % half_dims, h = (g - pq) / half_dims;
        rope_pair(k, pos, nkvhead, head_dim, dims, base, neox, i, h, t);
        int e0 = h * head_dim + (neox ? i : 2 * i), e1 = e0 + (neox ? half_dims : 1);
        kc[row + e0] = half(k[(long) t * kvd + e0]);
        kc[row + e1] = half(k[(long) t * kvd + e1]);
    } else if (g < pq + pk + kvd) {
        int e = g - pq - pk;
        vc[row + e] = half(v[(long) t * kvd + e]);
        if (e % head_dim >= dims) {
            kc[row + e] = half(k[(long) t * kvd + e]);
        }
    }
}

#ifndef __CUDA__
kernel void rope_kv(device float * q [[buffer(0)]],
                    device float * k [[buffer(1)]],
                    device const float * v [[buffer(2)]],
                    device half * kc [[buffer(3)]],
                    device half * vc [[buffer(4)]],
                    device const int * pos [[buffer(5)]],
                    constant RopeKVArgs & a [[buffer(6)]],
                    uint2 gid [[thread_position_in_grid]]) {
    rope_kv_one(q, k, v, kc, vc, pos, a.nhead, a.nkvhead, a.head_dim, a.dims, a.base, a.neox, a.layer_offset, gid.x, gid.y);
}
#endif
