//go:build !noasm

package cpu

import "github.com/inferno-go/inferno/tensor"

// The avx512vnni kernels of IQ4_NL (q4x8 layout) and IQ4_XS (iq4xsx8; the AVX2 ones:
// dotiq4x8.go), one and four tokens at a time. The nibbles index a table of the levels
// +128 (VPSHUFB), VPDPBUSD's unsigned operand; 128·Σa comes off per block (IQ4_NL: from
// the Q8_0 side data's 8·Σa) or per 32-element sub-block (IQ4_XS: −128·Σa as int32,
// where each sub-block's sum starts).
var (
	_ = addVNNI(tensor.IQ4_NL, x8Kernels{one: iq4nlx8OneVNNI, many: iq4nlx8FourVNNI, tokens: 4,
		side: sideScaleSums, sideLen: 1, prepare: prepareQ8_0ScaleSums})
	_ = addVNNI(tensor.IQ4_XS, x8Kernels{one: iq4xsx8OneVNNI, many: iq4xsx8FourVNNI, tokens: 4,
		side: sideSums32, sideLen: 8, prepare: prepareIQ4XSx8VNNI})
)

// prepareIQ4XSx8VNNI quantizes token t to Q8_K with −128·Σa of each 32-element sub-block.
func prepareIQ4XSx8VNNI(mm *matmulOp, t int) {
	prepareQ8K(mm, t)
	q8KSubSums32(mm.actRow(t), mm.nb, mm.sums32Row(t), -128)
}

// q8KSubSums32 writes, for each Q8_K super-block of a (nsb of them) and each of its
// eight 32-element sub-blocks, mul·Σa.
func q8KSubSums32(a []byte, nsb int, c []int32, mul int32) {
	var g [16]int32
	for s := 0; s < nsb; s++ {
		q8KGroupSums32(a[s*292:(s+1)*292], 1, g[:], mul)
		for j := 0; j < 8; j++ {
			c[8*s+j] = g[2*j] + g[2*j+1]
		}
	}
}

func iq4nlx8OneVNNI(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotIQ4NLx8VNNI(mm.nb, w, &mm.side.scaleSums[t*mm.sideStride].d, &mm.act[t*mm.arb], out)
}

func iq4nlx8FourVNNI(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotIQ4NLx8x4VNNI(mm.nb, w, &mm.side.scaleSums[t*mm.sideStride].d, &mm.act[t*mm.arb], mm.arb, out, ostride)
}

func iq4xsx8OneVNNI(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotIQ4XSx8VNNI(mm.nb, w, &mm.act[t*mm.arb], &mm.side.sums32[t*mm.sideStride], out)
}

func iq4xsx8FourVNNI(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotIQ4XSx8x4VNNI(mm.nb, w, &mm.act[t*mm.arb], mm.arb, &mm.side.sums32[t*mm.sideStride], out, ostride)
}

// dotIQ4NLx8VNNI is one Q8_0 activation row against a group of eight IQ4_NL rows in the
// q4x8 layout; sa holds each activation block's q8ScaleSum:
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i] * sa[i].d * float32(Σ_j (level(w.q[r][i][j])+128)*a[i].q[j] - 16*sa[i].sum8) } }
//
//go:noescape
func dotIQ4NLx8VNNI(nb int, w *byte, sa *float32, a *byte, out *float32)

// dotIQ4NLx8x4VNNI is dotIQ4NLx8VNNI for four activation rows astride bytes apart (their
// sa nb q8ScaleSums apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotIQ4NLx8x4VNNI(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int)

// dotIQ4XSx8VNNI is one Q8_K activation row against a group of eight iq4xsx8 rows of nsb
// super-blocks; c holds −128·Σa per 32-element sub-block:
//
//	for r := range 8 { out[r] = Σ_sb d_a * d[r] * Σ_j sc[r][j] * (Σ_l (level(q)+128)·a + c[j]) }
//
//go:noescape
func dotIQ4XSx8VNNI(nsb int, w *byte, a *byte, c *int32, out *float32)

// dotIQ4XSx8x4VNNI is dotIQ4XSx8VNNI for four activation rows astride bytes apart (their
// c 8·nsb int32 apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotIQ4XSx8x4VNNI(nsb int, w *byte, a *byte, astride int, c *int32, out *float32, ostride int)
