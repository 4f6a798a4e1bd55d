//go:build !noasm

package cpu

import "github.com/inferno-go/inferno/tensor"

// The avx512vnni kernels of the q5kx8 layout (the AVX2 ones: dotq5kx8.go): the q4kx8
// kernels' scheme (dotq4kx8vnni_amd64.go) with each sub-block's fifth bits ORed in at
// bit 4 while a sub-block pair is unpacked.
var _ = addVNNI(tensor.Q5_K, x8Kernels{one: q5kx8OneVNNI, many: q5kx8FourVNNI, tokens: 4})

func q5kx8OneVNNI(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ5Kx8VNNI(mm.nb, w, &mm.act[t*mm.arb], &mm.side.sums16[t*mm.sideStride], out)
}

func q5kx8FourVNNI(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ5Kx8x4VNNI(mm.nb, w, &mm.act[t*mm.arb], mm.arb, &mm.side.sums16[t*mm.sideStride], out, ostride)
}

// dotQ5Kx8VNNI is dotQ5Kx8 with VPDPBUSD (quants 0..31):
//
//	for r := range 8 { out[r] = Σ_sb d_a * (d[r]*Σ_j sc[r][j]*Σ_l q·a − dmin[r]*Σ_j m[r][j]*bs[j]) }
//
//go:noescape
func dotQ5Kx8VNNI(nsb int, w *byte, a *byte, bs *int16, out *float32)

// dotQ5Kx8x4VNNI is dotQ5Kx8VNNI for four activation rows astride bytes apart (their bs
// 8·nsb apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ5Kx8x4VNNI(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int)
