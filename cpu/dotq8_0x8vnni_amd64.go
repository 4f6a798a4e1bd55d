//go:build !noasm

package cpu

import "github.com/inferno-go/inferno/tensor"

// The avx512vnni kernels of the q8x8 layout (the AVX2 one: dotq8_0x8.go). VPDPBUSD
// multiplies unsigned by signed bytes, so the weights are offset by +128 (XOR 0x80) and
// 128·Σa taken off: each block's sum starts from −128·Σa, which the side data holds
// after the activation's scale (prepareQ8_0VNNI).
var _ = addVNNI(tensor.Q8_0, x8Kernels{one: q8_0x8OneVNNI, many: q8_0x8FourVNNI, tokens: 4,
	side: sideScaleSums, sideLen: 1, prepare: prepareQ8_0VNNI})

// prepareQ8_0VNNI quantizes token t to Q8_0 with each block's scale and −128·Σa (in
// q8ScaleSum's sum8).
func prepareQ8_0VNNI(mm *matmulOp, t int) {
	prepareQ8_0ScaleSums(mm, t)
	ss := mm.side.scaleSums[t*mm.sideStride : (t+1)*mm.sideStride]
	for i := range ss {
		ss[i].sum8 *= -16
	}
}

func q8_0x8OneVNNI(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ8_0x8VNNI(mm.nb, w, &mm.side.scaleSums[t*mm.sideStride].d, &mm.act[t*mm.arb], out)
}

func q8_0x8FourVNNI(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ8_0x8x4VNNI(mm.nb, w, &mm.side.scaleSums[t*mm.sideStride].d, &mm.act[t*mm.arb], mm.arb, out, ostride)
}

// dotQ8_0x8VNNI is one Q8_0 activation row against a group of eight q8x8 rows, writing
// out[0..7]; sa holds each activation block's scale and −128·Σa:
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i] * sa[i].d * float32(sa[i].c + Σ_j (w.q[r][i][j]+128)*a[i].q[j]) } }
//
//go:noescape
func dotQ8_0x8VNNI(nb int, w *byte, sa *float32, a *byte, out *float32)

// dotQ8_0x8x4VNNI is dotQ8_0x8VNNI for four activation rows astride bytes apart (their
// sa nb q8ScaleSums apart), token t's results at out + t·ostride bytes; each weight
// block is offset once for the four.
//
//go:noescape
func dotQ8_0x8x4VNNI(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int)
