//go:build !noasm

package cpu

import "github.com/inferno-go/inferno/tensor"

// The avx512vnni kernels of the q5x8, q41x8 and q51x8 layouts (the AVX2 ones:
// dotlegacyx8.go), one and four tokens at a time: the quants (0..15 or 0..31) are
// VPDPBUSD's unsigned operand as they are; Q5_0 takes off 16·Σa, Q4_1 and Q5_1 add
// m_w·s_a, as on AVX2.
var (
	_ = addVNNI(tensor.Q5_0, x8Kernels{one: q5_0x8OneVNNI, many: q5_0x8FourVNNI, tokens: 4})
	_ = addVNNI(tensor.Q4_1, x8Kernels{one: q4_1x8OneVNNI, many: q4_1x8FourVNNI, tokens: 4})
	_ = addVNNI(tensor.Q5_1, x8Kernels{one: q5_1x8OneVNNI, many: q5_1x8FourVNNI, tokens: 4})
)

func q5_0x8OneVNNI(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ5_0x8VNNI(mm.nb, w, &mm.side.scaleSums[t*mm.sideStride].d, &mm.act[t*mm.arb], out)
}

func q5_0x8FourVNNI(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ5_0x8x4VNNI(mm.nb, w, &mm.side.scaleSums[t*mm.sideStride].d, &mm.act[t*mm.arb], mm.arb, out, ostride)
}

func q4_1x8OneVNNI(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ4_1x8VNNI(mm.nb, w, &mm.side.q8_1[t*mm.sideStride].d, &mm.act[t*mm.arb], out)
}

func q4_1x8FourVNNI(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ4_1x8x4VNNI(mm.nb, w, &mm.side.q8_1[t*mm.sideStride].d, &mm.act[t*mm.arb], mm.arb, out, ostride)
}

func q5_1x8OneVNNI(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ5_1x8VNNI(mm.nb, w, &mm.side.q8_1[t*mm.sideStride].d, &mm.act[t*mm.arb], out)
}

func q5_1x8FourVNNI(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ5_1x8x4VNNI(mm.nb, w, &mm.side.q8_1[t*mm.sideStride].d, &mm.act[t*mm.arb], mm.arb, out, ostride)
}

// dotQ5_0x8VNNI is dotQ5_0x8 with VPDPBUSD (quants 0..31, stored +16; sa as for
// dotQ4_0x8):
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i] * sa[i].d * float32(Σ_j q[r][i][j]*a[i].q[j] - 2*sa[i].sum8) } }
//
//go:noescape
func dotQ5_0x8VNNI(nb int, w *byte, sa *float32, a *byte, out *float32)

// dotQ5_0x8x4VNNI is dotQ5_0x8VNNI for four activation rows astride bytes apart (their
// sa nb q8ScaleSums apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ5_0x8x4VNNI(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int)

// dotQ4_1x8VNNI is dotQ4_1x8 with VPDPBUSD:
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i]*ds[i].d*float32(Σ_j q·a) + w.m[r][i]*ds[i].s } }
//
//go:noescape
func dotQ4_1x8VNNI(nb int, w *byte, ds *float32, a *byte, out *float32)

// dotQ4_1x8x4VNNI is dotQ4_1x8VNNI for four activation rows astride bytes apart (their
// ds nb q8_1Scales apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ4_1x8x4VNNI(nb int, w *byte, ds *float32, a *byte, astride int, out *float32, ostride int)

// dotQ5_1x8VNNI is dotQ4_1x8VNNI for the q51x8 layout (quants 0..31).
//
//go:noescape
func dotQ5_1x8VNNI(nb int, w *byte, ds *float32, a *byte, out *float32)

// dotQ5_1x8x4VNNI is dotQ5_1x8VNNI for four activation rows, as dotQ4_1x8x4VNNI.
//
//go:noescape
func dotQ5_1x8x4VNNI(nb int, w *byte, ds *float32, a *byte, astride int, out *float32, ostride int)
