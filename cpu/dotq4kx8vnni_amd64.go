//go:build !noasm

package cpu

import "github.com/inferno-go/inferno/tensor"

// The avx512vnni kernels of the q4kx8 layout (the AVX2 ones: dotq4kx8.go). With
// VPDPBUSD's int32 sums and the sixteen more YMM registers of AVX-512 a sub-block pair
// is unpacked once into Y16..Y31 and stays there for four tokens.
var _ = addVNNI(tensor.Q4_K, x8Kernels{one: q4kx8OneVNNI, many: q4kx8FourVNNI, tokens: 4})

func q4kx8OneVNNI(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ4Kx8VNNI(mm.nb, w, &mm.act[t*mm.arb], &mm.side.sums16[t*mm.sideStride], out)
}

func q4kx8FourVNNI(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ4Kx8x4VNNI(mm.nb, w, &mm.act[t*mm.arb], mm.arb, &mm.side.sums16[t*mm.sideStride], out, ostride)
}

// dotQ4Kx8VNNI is dotQ4Kx8 with VPDPBUSD:
//
//	for r := range 8 { out[r] = Σ_sb d_a * (d[r]*Σ_j sc[r][j]*Σ_l q·a − dmin[r]*Σ_j m[r][j]*bs[j]) }
//
//go:noescape
func dotQ4Kx8VNNI(nsb int, w *byte, a *byte, bs *int16, out *float32)

// dotQ4Kx8x4VNNI is dotQ4Kx8VNNI for four activation rows astride bytes apart (their bs
// 8·nsb apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ4Kx8x4VNNI(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int)
