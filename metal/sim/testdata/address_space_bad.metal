#include <metal_stdlib>
using namespace metal;

// A planted mistake: a device pointer passed where a thread pointer is expected.
static float sum4(thread const float * p) {
    return p[0] + p[1] + p[2] + p[3];
}

kernel void bad(device const float * src [[buffer(0)]],
                device float * dst [[buffer(1)]],
                uint gid [[thread_position_in_grid]]) {
    dst[gid] = sum4(src + 4 * gid);
}
