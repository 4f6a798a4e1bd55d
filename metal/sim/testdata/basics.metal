#include <metal_stdlib>
using namespace metal;

struct Args {
    int n;
    float scale;
};

constant bool FC_NEGATE [[function_constant(0)]];

// out[i] = scale * in[i] (negated when FC_NEGATE), one thread per element
template <typename T>
kernel void scale_t(device const T * src [[buffer(0)]],
                    device float * dst [[buffer(1)]],
                    constant Args & args [[buffer(2)]],
                    uint gid [[thread_position_in_grid]]) {
    if ((int) gid >= args.n) {
        return;
    }
    float v = (float) src[gid] * args.scale;
    dst[gid] = FC_NEGATE ? -v : v;
}

typedef decltype(scale_t<float>) scale_t_t;
template [[host_name("scale_f32")]] kernel scale_t_t scale_t<float>;
template [[host_name("scale_f16")]] kernel scale_t_t scale_t<half>;

// one SIMD group per row: simd_sum of the row
kernel void row_sum(device const float * src [[buffer(0)]],
                    device float * dst [[buffer(1)]],
                    constant int & ncols [[buffer(2)]],
                    uint3 tgpig [[threadgroup_position_in_grid]],
                    ushort tiisg [[thread_index_in_simdgroup]]) {
    float s = 0.0f;
    for (int i = tiisg; i < ncols; i += 32) {
        s += src[tgpig.x * ncols + i];
    }
    s = simd_sum(s);
    if (tiisg == 0) {
        dst[tgpig.x] = s;
    }
}

// reverse a 256-element block through threadgroup memory
kernel void reverse_tg(device const float * src [[buffer(0)]],
                       device float * dst [[buffer(1)]],
                       constant int & use_barrier [[buffer(2)]],
                       uint tid [[thread_index_in_threadgroup]],
                       uint3 tgpig [[threadgroup_position_in_grid]]) {
    threadgroup float buf[256];
    buf[tid] = src[tgpig.x * 256 + tid];
    if (use_barrier) {
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    dst[tgpig.x * 256 + tid] = buf[255 - tid];
}

// vector casts convert values: (float4)int4 must not reinterpret bits
kernel void casts(device const int4 * src [[buffer(0)]],
                  device float4 * dst [[buffer(1)]],
                  uint gid [[thread_position_in_grid]]) {
    int4 v = src[gid];
    half4 h = (half4)(float4)v;
    dst[gid] = (float4)h + float4(0.5f) + float4(float2(1, 2), 3, 4);
}

// dynamic threadgroup memory and collectives in divergent flow
kernel void shuffles(device const float * src [[buffer(0)]],
                     device float * dst [[buffer(1)]],
                     threadgroup float * shmem [[threadgroup(0)]],
                     ushort tiisg [[thread_index_in_simdgroup]],
                     ushort sgitg [[simdgroup_index_in_threadgroup]],
                     uint tid [[thread_index_in_threadgroup]]) {
    float v = src[tid];
    float m = simd_max(v);
    float d = simd_shuffle_down(v, 1);
    float x = simd_shuffle_xor(v, 16);
    float p = simd_prefix_exclusive_sum(v);
    if (tiisg == 0) {
        shmem[sgitg] = m;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    dst[4 * tid + 0] = shmem[0] + shmem[1];
    dst[4 * tid + 1] = d;
    dst[4 * tid + 2] = x;
    dst[4 * tid + 3] = p;
}

// lanes take two branches, each with its own collective: the runtime reconverges them
kernel void divergent(device const float * src [[buffer(0)]],
                      device float * dst [[buffer(1)]],
                      ushort tiisg [[thread_index_in_simdgroup]]) {
    float v = src[tiisg];
    float r;
    if (tiisg < 10) {
        r = simd_sum(v);
    } else {
        r = simd_sum(2.0f * v);
    }
    dst[tiisg] = r;
}

// 8x8 simdgroup matrix product
kernel void mma8(device const float * a [[buffer(0)]],
                 device const float * b [[buffer(1)]],
                 device float * c [[buffer(2)]]) {
    simdgroup_float8x8 ma, mb, mc = make_filled_simdgroup_matrix<float, 8, 8>(1.0f);
    simdgroup_load(ma, a, 8);
    simdgroup_load(mb, b, 8);
    simdgroup_multiply_accumulate(mc, ma, mb, mc);
    simdgroup_store(mc, c, 8);
}

// writes one element past the end of dst
kernel void overflow(device float * dst [[buffer(0)]],
                     uint gid [[thread_position_in_grid]]) {
    dst[gid + 1] = 1.0f;
}
