//go:build !noasm

package cpu

import "github.com/inferno-go/inferno/tensor"

// The avx512vnni kernels of the q4x8 layout (the AVX2 one: dotq4_0x8.go): the nibbles
// are VPDPBUSD's unsigned operand as they are, the activations its signed one, and the
// quants' offset of 8 is taken off with the side data's 8·Σa, as on AVX2.
var _ = addVNNI(tensor.Q4_0, x8Kernels{one: q4_0x8OneVNNI, many: q4_0x8FourVNNI, tokens: 4})

func q4_0x8OneVNNI(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ4_0x8VNNI(mm.nb, w, &mm.side.scaleSums[t*mm.sideStride].d, &mm.act[t*mm.arb], out)
}

func q4_0x8FourVNNI(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ4_0x8x4VNNI(mm.nb, w, &mm.side.scaleSums[t*mm.sideStride].d, &mm.act[t*mm.arb], mm.arb, out, ostride)
}

// dotQ4_0x8VNNI is dotQ4_0x8 with VPDPBUSD:
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i] * sa[i].d * float32(Σ_j q[r][i][j]*a[i].q[j] - sa[i].sum8) } }
//
//go:noescape
func dotQ4_0x8VNNI(nb int, w *byte, sa *float32, a *byte, out *float32)

// dotQ4_0x8x4VNNI is dotQ4_0x8x4 with VPDPBUSD: four activation rows astride bytes
// apart (their sa nb q8ScaleSums apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ4_0x8x4VNNI(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int)
