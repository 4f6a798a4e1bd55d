//go:build !noasm

package cpu

import (
	"golang.org/x/sys/cpu"

	"github.com/inferno-go/inferno/tensor"
)

// useAVX2 selects the assembly kernels: AVX2 with FMA and F16C.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

// hasX8Kernels: this machine runs the interleaved layouts' kernels (x8Types).
var hasX8Kernels = useAVX2

// hasAVX512VNNI: this machine runs the avx512vnni kernel set: VPDPBUSD on YMM
// registers (AVX512-VNNI with AVX512VL; x/sys/cpu reports AVX-512 only where the OS
// saves the ZMM and mask state), ZMM for the F16/BF16 rows and the activation
// quantizers (AVX512F/BW), besides AVX2 for everything else.
var hasAVX512VNNI = useAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI

const hasNEONDot = false

// useF32Asm selects dotF32Asm and axpyF32Asm.
var useF32Asm = useAVX2

func dotF32Asm(a, b *float32, n int) float32         { return dotF32AVX2(a, b, n) }
func axpyF32Asm(alpha float32, x, y *float32, n int) { axpyF32AVX2(alpha, x, y, n) }

// hasAVX512BF16: the avx512vnni set's BF16 dot multiplies with VDPBF16PS (AVX512-BF16),
// not in every AVX-512 VNNI CPU (Cascade Lake has none); without it the set widens
// bfloat16 to float32 as its AVX2 sibling does, sixteen lanes wide.
var hasAVX512BF16 = hasAVX512VNNI && cpu.X86.HasAVX512BF16

// setKernelsOf are the row dots and activation quantizers of kernel set set (one of
// KernelSets; portable: none).
func setKernelsOf(set string) setKernels {
	switch set {
	case SetAVX2:
		return setKernels{dotF16: dotF16RowAVX2, dotBF16: dotBF16RowAVX2, q8_0: quantizeQ8_0AVX2, q8K: quantizeQ8_KAVX2, f16: quantizeF16AVX2}
	case SetAVX512VNNI:
		k := setKernels{dotF16: dotF16RowAVX512, dotBF16: dotBF16RowAVX512, q8_0: quantizeQ8_0AVX512, q8_1: quantizeQ8_1AVX512, q8K: quantizeQ8_KAVX512, f16: quantizeF16AVX512}
		if hasAVX512BF16 {
			k.dotBF16 = dotBF16RowAVX512BF16
		}
		return k
	case SetAVX512AMX: // AMX tiles are prompt matmuls only: the rest is avx512vnni's
		return setKernelsOf(SetAVX512VNNI)
	}
	return setKernels{}
}

// The sets' row dots: the kernels over whole steps, dotHalf or dotHalf64 the rest.
func dotF16RowAVX2(n int, w, a []byte) float32 {
	return dotHalf(dotF16AVX2, tensor.FP16ToFP32, n, w, a)
}
func dotBF16RowAVX2(n int, w, a []byte) float32 {
	return dotHalf(dotBF16AVX2, tensor.BF16ToFP32, n, w, a)
}
func dotF16RowAVX512(n int, w, a []byte) float32 {
	return dotHalf64(dotF16AVX512, 64, tensor.FP16ToFP32, n, w, a)
}
func dotBF16RowAVX512(n int, w, a []byte) float32 {
	return dotHalf64(dotBF16AVX512, 32, tensor.BF16ToFP32, n, w, a)
}
func dotBF16RowAVX512BF16(n int, w, a []byte) float32 {
	return dotHalf64(dotBF16AVX512BF16, 64, tensor.BF16ToFP32, n, w, a)
}

// dotF16AVX2 is Σ float32(w[i])*float32(a[i]) over n (a multiple of 8) fp16 values.
//
//go:noescape
func dotF16AVX2(n int, w, a *byte) float32

// dotBF16AVX2 is dotF16AVX2 for bfloat16 values.
//
//go:noescape
func dotBF16AVX2(n int, w, a *byte) float32

// dotF16AVX512 is dotF16AVX2 for n a multiple of 64, sixteen lanes wide in
// ggml_vec_dot_f16's AVX-512 order, returning the sum as float64 (dotHalf64).
//
//go:noescape
func dotF16AVX512(n int, w, a *byte) float64

// dotBF16AVX512 is dotBF16AVX2 for n a multiple of 32, sixteen lanes wide in
// ggml_vec_dot_bf16's AVX512F order (for CPUs without AVX512-BF16), returning the sum
// as float64.
//
//go:noescape
func dotBF16AVX512(n int, w, a *byte) float64

// dotBF16AVX512BF16 is dotBF16AVX512 for n a multiple of 64 with VDPBF16PS
// (AVX512-BF16) in ggml_vec_dot_bf16's order: each pair's two products added to a
// float32 lane, denormals as zero.
//
//go:noescape
func dotBF16AVX512BF16(n int, w, a *byte) float64

// quantizeF16AVX2 is tensor.QuantizeF16 for n (a multiple of 8) floats of x into dst
// (VCVTPS2PH, as ggml_fp32_to_fp16_row).
//
//go:noescape
func quantizeF16AVX2(x *float32, n int, dst *byte)

// quantizeF16AVX512 is quantizeF16AVX2 sixteen lanes wide.
//
//go:noescape
func quantizeF16AVX512(x *float32, n int, dst *byte)

// quantizeQ8_KAVX2 is tensor.QuantizeQ8_K for nsb super-blocks of x into dst.
//
//go:noescape
func quantizeQ8_KAVX2(x *float32, nsb int, dst *byte)

// quantizeQ8_KAVX512 is quantizeQ8_KAVX2 sixteen lanes wide (the same bytes).
//
//go:noescape
func quantizeQ8_KAVX512(x *float32, nsb int, dst *byte)

// dotF32AVX2 is Σ a[i]*b[i] for i < n, eight lanes at a time with FMA.
//
//go:noescape
func dotF32AVX2(a, b *float32, n int) float32

// axpyF32AVX2 is y[i] += alpha*x[i] for i < n.
//
//go:noescape
func axpyF32AVX2(alpha float32, x, y *float32, n int)

// expSubAVX2 replaces x[i] by ExpF(x[i]-m) eight at a time for i < n (a multiple of 8),
// stopping before the first block with a lane outside ExpF's fast range; it returns how
// many elements it did:
//
//	for i := 0; i < n; i++ { x[i] = ExpF(x[i] - m) }
//
//go:noescape
func expSubAVX2(x *float32, n int, m float32) int

// streamSumAVX2 is Σ p[i] (wrapping) for i < n, a positive multiple of 16.
//
//go:noescape
func streamSumAVX2(p *uint64, n int) uint64

// attnScoresAVX2 is attention's scores for n keys kstride floats apart (hd a multiple
// of 8), each summed as dotLanes8 does (lane e%8 by FMA, then hsum8):
//
//	for j := range n { out[j] = scale * dotLanes8(q, k[j*kstride:][:hd]) }
//
//go:noescape
func attnScoresAVX2(q, k *float32, kstride, n, hd int, scale float32, out *float32)

// attnValuesAVX2 is attention's output row from the probabilities p of n values
// vstride floats apart (hd a multiple of 8), key j's products in lane j%8 by FMA, the
// lanes added as hsum8:
//
//	var lanes [8][]float32 // hd floats each, zero
//	for j := range n { for e := range hd { lanes[j%8][e] = fma(v[j*vstride+e], p[j], lanes[j%8][e]) } }
//	for e := range hd { out[e] = hsum8(lanes[0..7][e]) }
//
//go:noescape
func attnValuesAVX2(p, v *float32, vstride, n, hd int, out *float32)

// scaleRoundF16AVX2 is x[i] = float32(float16(x[i]*s)) for i < n (a multiple of 8),
// rounding to nearest even as FP32ToFP16 does.
//
//go:noescape
func scaleRoundF16AVX2(x *float32, n int, s float32)

// quantizeQ8_0AVX2 is tensor.QuantizeQ8_0Act for nb blocks of x into dst, also writing
// each block's scale as float32 to sc[i*sstride] and, when sstride is 2, 8·Σq as an
// int32 after it (a q8ScaleSum).
//
//go:noescape
func quantizeQ8_0AVX2(x *float32, nb int, dst *byte, sc *float32, sstride int)

// quantizeQ8_0AVX512 is quantizeQ8_0AVX2 sixteen lanes wide (the same bytes).
//
//go:noescape
func quantizeQ8_0AVX512(x *float32, nb int, dst *byte, sc *float32, sstride int)

// quantizeQ8_1AVX512 is tensor.QuantizeQ8_1Act for nb blocks of x into dst, also
// writing each block's d and s as float32 to ds[2i], ds[2i+1] (a q8_1Scale).
//
//go:noescape
func quantizeQ8_1AVX512(x *float32, nb int, dst *byte, ds *float32)

// asmBuild: this build has assembly kernels (it may still find the CPU without them).
const asmBuild = true
