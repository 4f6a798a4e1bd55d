// kernels.cu — the CUDA kernels: the shared algorithms of the .metal files, and one
// entry point per kernel with the same name, bindings (in order, one parameter each:
// a pointer per buffer, the argument struct by value) and launch geometry as Metal's.
// `make kernels` compiles this file to kernels.ptx (see kernels/ptx.go).
#include "prelude.cuh"

#pragma clang force_cuda_host_device begin
#include "../norm.metal"
#include "../argmax.metal"
#pragma clang force_cuda_host_device end

// One warp per row; grid.x = rows, 32 threads.
KERNEL rms_norm(const float * x, const float * w, float * y, NormArgs a) {
    rms_norm_row(x + GROUP_X * a.ncols, w, y + GROUP_X * a.ncols, a.ncols, a.eps, LANE);
}

// One warp per row; grid.x = rows, 32 threads.
KERNEL argmax(const float * x, int * out, int ncols) {
    argmax_row(x + GROUP_X * ncols, out + GROUP_X, ncols, LANE);
}
