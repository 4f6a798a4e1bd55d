//go:build !noasm

package cpu

import (
	"golang.org/x/sys/cpu"

	"github.com/inferno-go/inferno/tensor"
)

// useAVX2 selects the assembly kernels: AVX2 with FMA and F16C.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

// x8Kernels lists the interleaved layouts this machine has kernels for, with how many
// tokens each layout's multi-token (prompt) kernel takes (0: one-token kernel only).
var x8Kernels = map[tensor.DType]int{}

func init() {
	if useAVX2 {
		x8Kernels = map[tensor.DType]int{tensor.Q4_0: 4, tensor.Q8_0: 4, tensor.Q4_K: 2, tensor.Q5_K: 2, tensor.Q6_K: 2, tensor.Q3_K: 0, tensor.Q2_K: 0, tensor.IQ4_NL: 0, tensor.IQ4_XS: 0,
			tensor.Q5_0: 0, tensor.Q4_1: 0, tensor.Q5_1: 0}
	}
}

// useF32Asm selects dotF32Asm and axpyF32Asm.
var useF32Asm = useAVX2

func dotF32Asm(a, b *float32, n int) float32         { return dotF32AVX2(a, b, n) }
func axpyF32Asm(alpha float32, x, y *float32, n int) { axpyF32AVX2(alpha, x, y, n) }

// useF16Asm selects dotF16Asm and dotBF16Asm (n a multiple of 8; see dotHalf).
var useF16Asm = useAVX2

func dotF16Asm(n int, w, a *byte) float32  { return dotF16AVX2(n, w, a) }
func dotBF16Asm(n int, w, a *byte) float32 { return dotBF16AVX2(n, w, a) }

// dotF16AVX2 is Σ float32(w[i])*float32(a[i]) over n (a multiple of 8) fp16 values.
//
//go:noescape
func dotF16AVX2(n int, w, a *byte) float32

// dotBF16AVX2 is dotF16AVX2 for bfloat16 values.
//
//go:noescape
func dotBF16AVX2(n int, w, a *byte) float32

// useQ8KAsm selects quantizeQ8_KAsm, tensor.QuantizeQ8_K for nsb super-blocks.
var useQ8KAsm = useAVX2

func quantizeQ8_KAsm(x *float32, nsb int, dst *byte) { quantizeQ8_KAVX2(x, nsb, dst) }

// quantizeQ8_KAVX2 is tensor.QuantizeQ8_K for nsb super-blocks of x into dst.
//
//go:noescape
func quantizeQ8_KAVX2(x *float32, nsb int, dst *byte)

// quantizeQ8_0X8 is tensor.QuantizeQ8_0Act plus the x8 kernels' side data (x8Act), in
// one AVX2 pass.
func quantizeQ8_0X8(x []float32, nb int, dst []byte, sc []float32, sstride int) {
	quantizeQ8_0AVX2(&x[0], nb, &dst[0], &sc[0], sstride)
}

// dotF32AVX2 is Σ a[i]*b[i] for i < n, eight lanes at a time with FMA.
//
//go:noescape
func dotF32AVX2(a, b *float32, n int) float32

// axpyF32AVX2 is y[i] += alpha*x[i] for i < n.
//
//go:noescape
func axpyF32AVX2(alpha float32, x, y *float32, n int)

// dotQ4_0x8 is one Q8_0 activation row against a group of eight repackQ4_0x8Rows rows,
// writing out[0..7]; sa holds per block the activation's float32 scale and 8·Σa as an
// int32, so that the nibbles are used unsigned:
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i] * sa[i].d * float32(Σ_j q[r][i][j]*a[i].q[j] - sa[i].s8) } }
//
//go:noescape
func dotQ4_0x8(nb int, w *byte, sa *float32, a *byte, out *float32)

// dotQ4_0x8x4 is dotQ4_0x8 for four activation rows astride bytes apart (their
// sa 2·nb words apart), token t's results at out + t·ostride bytes; each weight block
// is unpacked once for the four.
//
//go:noescape
func dotQ4_0x8x4(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int)

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
// of 8):
//
//	for j := range n { out[j] = scale * Σ_e q[e]*k[j*kstride+e] }
//
//go:noescape
func attnScoresAVX2(q, k *float32, kstride, n, hd int, scale float32, out *float32)

// attnAccumAVX2 is attention's weighted sum of n values vstride floats apart (hd a
// multiple of 32), with acc in registers but the same FMAs as an axpy per key:
//
//	for j := range n { for e := range hd { acc[e] += p[j] * v[j*vstride+e] } }
//
//go:noescape
func attnAccumAVX2(p, v *float32, vstride, n, hd int, acc *float32)

// scaleRoundF16AVX2 is x[i] = float32(float16(x[i]*s)) for i < n (a multiple of 8),
// rounding to nearest even as FP32ToFP16 does.
//
//go:noescape
func scaleRoundF16AVX2(x *float32, n int, s float32)

// dotQ8_0x8 is one Q8_0 activation row (float32 scales as) against a group of eight
// repackQ8_0x8Rows rows, writing out[0..7]:
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i] * as[i] * float32(Σ_j w.q[r][i][j]*a[i].q[j]) } }
//
//go:noescape
func dotQ8_0x8(nb int, w *byte, as *float32, a *byte, out *float32)

// dotQ8_0x8x4 is dotQ8_0x8 for four activation rows astride bytes apart (their
// scales nb floats apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ8_0x8x4(nb int, w *byte, as *float32, a *byte, astride int, out *float32, ostride int)

// quantizeQ8_0AVX2 is tensor.QuantizeQ8_0Act for nb blocks of x into dst, also writing
// each block's scale as float32 to sc[i*sstride] and, when sstride is 2, 8·Σq as int32
// bits to sc[i*sstride+1] (what the x8 kernels take).
//
//go:noescape
func quantizeQ8_0AVX2(x *float32, nb int, dst *byte, sc *float32, sstride int)

// dotQ4Kx8 is one Q8_K activation row against a group of eight repackQ4Kx8Rows rows of
// nsb super-blocks, bs holding the activation's eight 32-element sums per super-block:
//
//	for r := range 8 { out[r] = Σ_sb d_a * (d[r]*Σ_j sc[r][j]*Σ_l q·a − dmin[r]*Σ_j m[r][j]*bs[j]) }
//
//go:noescape
func dotQ4Kx8(nsb int, w *byte, a *byte, bs *int16, out *float32)

// dotQ4Kx8x2 is dotQ4Kx8 for two activation rows astride bytes apart (their bs
// 8·nsb apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ4Kx8x2(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int)

// dotQ6Kx8 is one Q8_K activation row against a group of eight repackQ6Kx8Rows rows of
// nsb super-blocks; c holds per super-block and 16-element group the int16 pair
// (16·Σa, 16·Σa), see q8KGroupSums:
//
//	for r := range 8 { out[r] = Σ_sb d_a * d[r] * Σ_g sc[r][g] * Σ_l (q+32−32)·a }
//
//go:noescape
func dotQ6Kx8(nsb int, w *byte, a *byte, c *int16, out *float32)

// dotQ5Kx8x2 is dotQ5Kx8 for two activation rows astride bytes apart (their bs 8·nsb
// apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ5Kx8x2(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int)

// dotQ6Kx8x2 is dotQ6Kx8 for two activation rows astride bytes apart (their c 32·nsb
// apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ6Kx8x2(nsb int, w *byte, a *byte, astride int, c *int16, out *float32, ostride int)

// dotQ5Kx8 is dotQ4Kx8 for a group of eight repackQ5Kx8Rows rows (quants 0..31).
//
//go:noescape
func dotQ5Kx8(nsb int, w *byte, a *byte, bs *int16, out *float32)

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
