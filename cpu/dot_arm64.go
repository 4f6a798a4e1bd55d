//go:build !noasm

package cpu

import (
	"golang.org/x/sys/cpu"

	"github.com/inferno-go/inferno/tensor"
)

// useDotProd selects the NEON kernels of the interleaved layouts: they multiply with
// SDOT (by element), the Armv8.2 dot-product extension every Apple M-series core and
// most servers since Neoverse N1 have.
var useDotProd = cpu.ARM64.HasASIMDDP

// hasX8Kernels: this machine runs the interleaved layouts' kernels (x8Types).
var hasX8Kernels = useDotProd

// hasAVX512BF16: no avx512vnni set on arm64.
const hasAVX512BF16 = false

// hasNEONDot: this machine runs the neon kernel set.
var hasNEONDot = useDotProd

// useF32Asm selects dotF32Asm and axpyF32Asm: NEON is part of every arm64 core.
const useF32Asm = true

// dotF32Asm is Σ a[i]*b[i] for i < n, sixteen lanes at a time with FMLA.
func dotF32Asm(a, b *float32, n int) float32 { return dotF32NEON(a, b, n) }

// axpyF32Asm is y[i] += alpha*x[i] for i < n.
func axpyF32Asm(alpha float32, x, y *float32, n int) { axpyF32NEON(alpha, x, y, n) }

//go:noescape
func dotF32NEON(a, b *float32, n int) float32

//go:noescape
func axpyF32NEON(alpha float32, x, y *float32, n int)

// setKernelsOf are the row dots and activation quantizers of kernel set set (one of
// KernelSets; portable: none).
func setKernelsOf(set string) setKernels {
	if set == SetNEON {
		return setKernels{dotF16: dotF16RowNEON, dotBF16: dotBF16RowNEON, q8_0: quantizeQ8_0NEON, q8K: quantizeQ8_KNEON}
	}
	return setKernels{}
}

// The set's row dots: the kernels over multiples of 8, dotHalf the rest.
func dotF16RowNEON(n int, w, a []byte) float32 {
	return dotHalf(dotF16NEON, tensor.FP16ToFP32, n, w, a)
}
func dotBF16RowNEON(n int, w, a []byte) float32 {
	return dotHalf(dotBF16NEON, tensor.BF16ToFP32, n, w, a)
}

// dotF16NEON is Σ float32(w[i])*float32(a[i]) over n (a multiple of 8) fp16 values.
//
//go:noescape
func dotF16NEON(n int, w, a *byte) float32

// dotBF16NEON is dotF16NEON for bfloat16 values.
//
//go:noescape
func dotBF16NEON(n int, w, a *byte) float32

// quantizeQ8_0NEON is tensor.QuantizeQ8_0Act for nb blocks of x into dst, also writing
// each block's scale as float32 to sc[i*sstride] and, when sstride is 2, 8·Σq as an
// int32 after it (a q8ScaleSum).
//
//go:noescape
func quantizeQ8_0NEON(x *float32, nb int, dst *byte, sc *float32, sstride int)

// quantizeQ8_KNEON is tensor.QuantizeQ8_K for nsb super-blocks of x into dst.
//
//go:noescape
func quantizeQ8_KNEON(x *float32, nsb int, dst *byte)

// asmBuild: this build has assembly kernels (it may still find the CPU without them).
const asmBuild = true
