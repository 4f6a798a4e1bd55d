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

// x8Kernels lists the interleaved layouts this machine has kernels for, with how many
// tokens each layout's multi-token (prompt) kernel takes (0: one-token kernel only).
var x8Kernels = map[tensor.DType]int{}

func init() {
	if useDotProd {
		x8Kernels = map[tensor.DType]int{tensor.Q4_0: 4, tensor.Q8_0: 4, tensor.Q4_K: 2, tensor.Q5_K: 0, tensor.Q6_K: 2, tensor.Q3_K: 0, tensor.Q2_K: 0, tensor.IQ4_NL: 0, tensor.IQ4_XS: 0,
			tensor.Q5_0: 0, tensor.Q4_1: 0, tensor.Q5_1: 0}
	}
}

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

// useF16Asm selects dotF16Asm and dotBF16Asm (n a multiple of 8; see dotHalf).
const useF16Asm = true

func dotF16Asm(n int, w, a *byte) float32  { return dotF16NEON(n, w, a) }
func dotBF16Asm(n int, w, a *byte) float32 { return dotBF16NEON(n, w, a) }

// dotF16NEON is Σ float32(w[i])*float32(a[i]) over n (a multiple of 8) fp16 values.
//
//go:noescape
func dotF16NEON(n int, w, a *byte) float32

// dotBF16NEON is dotF16NEON for bfloat16 values.
//
//go:noescape
func dotBF16NEON(n int, w, a *byte) float32

// quantizeQ8_0X8 is tensor.QuantizeQ8_0Act plus the x8 kernels' side data (x8Act), in
// one NEON pass.
func quantizeQ8_0X8(x []float32, nb int, dst []byte, sc []float32, sstride int) {
	quantizeQ8_0NEON(&x[0], nb, &dst[0], &sc[0], sstride)
}

//go:noescape
func quantizeQ8_0NEON(x *float32, nb int, dst *byte, sc *float32, sstride int)

// useQ8KAsm selects quantizeQ8_KAsm, tensor.QuantizeQ8_K for nsb super-blocks.
const useQ8KAsm = true

func quantizeQ8_KAsm(x *float32, nsb int, dst *byte) { quantizeQ8_KNEON(x, nsb, dst) }

//go:noescape
func quantizeQ8_KNEON(x *float32, nsb int, dst *byte)

// dotQ4_0x8 is one Q8_0 activation row against a group of eight repackQ4_0x8Rows rows,
// writing out[0..7]; sa holds per block the activation's float32 scale and 8·Σa as an
// int32, so that the nibbles are used unsigned:
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i] * sa[i].d * float32(Σ_j q[r][i][j]*a[i].q[j] - sa[i].s8) } }
//
//go:noescape
func dotQ4_0x8(nb int, w *byte, sa *float32, a *byte, out *float32)

// dotQ4_0x8x4 is dotQ4_0x8 for four activation rows astride bytes apart (their sa
// 2·nb words apart), token t's results at out + t·ostride bytes; each weight block is
// unpacked once for the four.
//
//go:noescape
func dotQ4_0x8x4(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int)

// dotQ8_0x8 is one Q8_0 activation row (float32 scales as) against a group of eight
// repackQ8_0x8Rows rows, writing out[0..7]:
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i] * as[i] * float32(Σ_j w.q[r][i][j]*a[i].q[j]) } }
//
//go:noescape
func dotQ8_0x8(nb int, w *byte, as *float32, a *byte, out *float32)

// dotQ8_0x8x4 is dotQ8_0x8 for four activation rows astride bytes apart (their scales
// nb floats apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ8_0x8x4(nb int, w *byte, as *float32, a *byte, astride int, out *float32, ostride int)

// dotQ4Kx8 is one Q8_K activation row against a group of eight repackQ4Kx8Rows rows of
// nsb super-blocks, bs holding the activation's eight 32-element sums per super-block:
//
//	for r := range 8 { out[r] = Σ_sb d_a * (d[r]*Σ_j sc[r][j]*Σ_l q·a − dmin[r]*Σ_j m[r][j]*bs[j]) }
//
//go:noescape
func dotQ4Kx8(nsb int, w *byte, a *byte, bs *int16, out *float32)

// dotQ4Kx8x2 is dotQ4Kx8 for two activation rows astride bytes apart (their bs 8·nsb
// apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ4Kx8x2(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int)

// dotQ5Kx8 is dotQ4Kx8 for a group of eight repackQ5Kx8Rows rows (quants 0..31).
//
//go:noescape
func dotQ5Kx8(nsb int, w *byte, a *byte, bs *int16, out *float32)

// dotQ6Kx8 is one Q8_K activation row against a group of eight repackQ6Kx8Rows rows of
// nsb super-blocks. It takes the group sums from the Q8_K block's bsums itself, so c
// (what the AVX2 kernel reads) is unused:
//
//	for r := range 8 { out[r] = Σ_sb d_a * d[r] * Σ_g sc[r][g] * (Σ_l q·a − 32·bsums[g]) }
//
//go:noescape
func dotQ6Kx8(nsb int, w *byte, a *byte, c *int16, out *float32)

// dotQ3Kx8 is one Q8_K activation row against a group of eight repackQ3Kx8Rows rows of nsb
// super-blocks; c holds per super-block and group 4·Σa as an int32 (q8KGroupSums32):
//
//	for r := range 8 { out[r] = Σ_sb d_a * d[r] * Σ_g sc[r][g] * (Σ_l (q+4)·a − 4·Σa) }
//
//go:noescape
func dotQ3Kx8(nsb int, w *byte, a *byte, c *int16, out *float32)

// dotQ2Kx8 is one Q8_K activation row against a group of eight repackQ2Kx8Rows rows of nsb
// super-blocks; c holds per super-block and group Σa as an int32 (q8KGroupSums32):
//
//	for r := range 8 { out[r] = Σ_sb d_a * (d[r]*Σ_g sc[r][g]*Σ_l q·a − dmin[r]*Σ_g m[r][g]*Σa) }
//
//go:noescape
func dotQ2Kx8(nsb int, w *byte, a *byte, c *int16, out *float32)

// dotIQ4NLx8 is one Q8_0 activation row (float32 scales as) against a group of eight
// IQ4_NL rows in the q4x8 layout (repackQ4_0x8Rows), writing out[0..7]:
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i] * as[i] * float32(Σ_j level(w.q[r][i][j])*a[i].q[j]) } }
//
//go:noescape
func dotIQ4NLx8(nb int, w *byte, as *float32, a *byte, out *float32)

// dotIQ4XSx8 is one Q8_K activation row against a group of eight repackIQ4XSx8Rows rows of
// nsb super-blocks:
//
//	for r := range 8 { out[r] = Σ_sb d_a * d[r] * Σ_j sc[r][j] * Σ_l level(q)·a }
//
//go:noescape
func dotIQ4XSx8(nsb int, w *byte, a *byte, out *float32)

// dotQ5_0x8 is dotQ4_0x8 for a group of eight Q5_0 rows in the q5x8 layout (quants
// 0..31, stored +16).
//
//go:noescape
func dotQ5_0x8(nb int, w *byte, sa *float32, a *byte, out *float32)

// dotQ4_1x8 is one Q8_1 activation row against a group of eight Q4_1 rows in the q41x8
// layout; ds holds per block the activation's d and s (d·Σa) as float32:
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i]*ds[i].d*float32(Σ_j q·a) + w.m[r][i]*ds[i].s } }
//
//go:noescape
func dotQ4_1x8(nb int, w *byte, ds *float32, a *byte, out *float32)

// dotQ5_1x8 is dotQ4_1x8 for a group of eight Q5_1 rows in the q51x8 layout.
//
//go:noescape
func dotQ5_1x8(nb int, w *byte, ds *float32, a *byte, out *float32)

// dotQ6Kx8x2 is dotQ6Kx8 for two activation rows astride bytes apart, token t's
// results at out + t·ostride bytes (c is unused, as for dotQ6Kx8).
//
//go:noescape
func dotQ6Kx8x2(nsb int, w *byte, a *byte, astride int, c *int16, out *float32, ostride int)

// No two-token q5kx8 kernel on arm64 (x8Kernels says so): unreachable.
func dotQ5Kx8x2(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int) {
	panic("no assembly")
}
