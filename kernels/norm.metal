// norm.metal — RMSNorm with the weight multiply fused: y = x / sqrt(mean(x²) + eps) * w.
// Work split: one SIMD group (32 threads) per row; lanes stride over the row, one
// simd_sum for the sum of squares. rms_norm_wide, below, gives a row 8 SIMD groups (CUDA).
//
// Shared with CUDA: rms_norm_row is the algorithm, compiled as MSL here and as CUDA by
// cuda/kernels.cu (whose prelude maps Metal's spellings); only the kernel entry point,
// below, is Metal's own.

struct NormArgs {
    int ncols;
    float eps;
};

inline void rms_norm_row(device const float * xr, device const float * w, device float * yr,
                         int ncols, float eps, int lane) {
    float ss = 0.0f;
    for (int i = lane; i < ncols; i += 32) {
        ss += xr[i] * xr[i];
    }
    ss = simd_sum(ss);
    float scale = 1.0f / sqrt(ss / float(ncols) + eps);
    for (int i = lane; i < ncols; i += 32) {
        yr[i] = xr[i] * scale * w[i];
    }
}

#ifndef __CUDA__
kernel void rms_norm(device const float * x [[buffer(0)]],
                     device const float * w [[buffer(1)]],
                     device float * y [[buffer(2)]],
                     constant NormArgs & a [[buffer(3)]],
                     uint3 tgpig [[threadgroup_position_in_grid]],
                     ushort tiisg [[thread_index_in_simdgroup]]) {
    rms_norm_row(x + (long) tgpig.x * a.ncols, w, y + (long) tgpig.x * a.ncols, a.ncols, a.eps, tiisg);
}
#endif

// ---- rms_norm_wide: for wide rows on big discrete GPUs (the backend picks it only on
// CUDA). One threadgroup of NORM_WARPS SIMD groups per row; each SIMD group reduces with
// simd_sum, threadgroup memory holds their partial sums.

#define NORM_WARPS 8

// Shared with CUDA: row xr by the threadgroup's 8 SIMD groups; part holds NORM_WARPS
// floats. Every thread adds the partial sums in the same order, so all get one scale.
inline void rms_norm_wide_row(device const float * xr, device const float * w, device float * yr,
                              int ncols, float eps, int tid, int lane, int sg, threadgroup float * part) {
    float ss = 0.0f;
    for (int i = tid; i < ncols; i += 32 * NORM_WARPS) {
        ss += xr[i] * xr[i];
    }
    ss = simd_sum(ss);
    if (lane == 0) {
        part[sg] = ss;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float tot = 0.0f;
    for (int i = 0; i < NORM_WARPS; i++) {
        tot += part[i];
    }
    float scale = 1.0f / sqrt(tot / float(ncols) + eps);
    for (int i = tid; i < ncols; i += 32 * NORM_WARPS) {
        yr[i] = xr[i] * scale * w[i];
    }
}

#ifndef __CUDA__
kernel void rms_norm_wide(device const float * x [[buffer(0)]],
                          device const float * w [[buffer(1)]],
                          device float * y [[buffer(2)]],
                          constant NormArgs & a [[buffer(3)]],
                          uint3 tgpig [[threadgroup_position_in_grid]],
                          ushort tiitg [[thread_index_in_threadgroup]],
                          ushort tiisg [[thread_index_in_simdgroup]],
                          ushort sgitg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float part[NORM_WARPS];
    rms_norm_wide_row(x + (long) tgpig.x * a.ncols, w, y + (long) tgpig.x * a.ncols, a.ncols, a.eps,
                      tiitg, tiisg, sgitg, part);
}
#endif
