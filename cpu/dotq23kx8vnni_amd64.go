//go:build !noasm

package cpu

import "github.com/inferno-go/inferno/tensor"

// The avx512vnni kernels of the q3kx8 and q2kx8 layouts (the AVX2 ones: dotq3kx8.go,
// dotq2kx8.go), one and four tokens at a time, with the types' own side data: a
// 16-element group's four vectors are rebuilt once into Y16..Y19 for every token, whose
// group sum is four VPDPBUSDs (quants unsigned: q+4 for Q3_K, 0..3 for Q2_K).
var (
	_ = addVNNI(tensor.Q3_K, x8Kernels{one: q3kx8OneVNNI, many: q3kx8FourVNNI, tokens: 4})
	_ = addVNNI(tensor.Q2_K, x8Kernels{one: q2kx8OneVNNI, many: q2kx8FourVNNI, tokens: 4})
)

func q3kx8OneVNNI(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ3Kx8VNNI(mm.nb, w, &mm.act[t*mm.arb], &mm.side.sums32[t*mm.sideStride], out)
}

func q3kx8FourVNNI(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ3Kx8x4VNNI(mm.nb, w, &mm.act[t*mm.arb], mm.arb, &mm.side.sums32[t*mm.sideStride], out, ostride)
}

func q2kx8OneVNNI(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ2Kx8VNNI(mm.nb, w, &mm.act[t*mm.arb], &mm.side.sums32[t*mm.sideStride], out)
}

func q2kx8FourVNNI(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ2Kx8x4VNNI(mm.nb, w, &mm.act[t*mm.arb], mm.arb, &mm.side.sums32[t*mm.sideStride], out, ostride)
}

// dotQ3Kx8VNNI is dotQ3Kx8 with VPDPBUSD; c holds per super-block and group 4·Σa:
//
//	for r := range 8 { out[r] = Σ_sb d_a * d[r] * Σ_g sc[r][g] * (Σ_l (q+4)·a − c[g]) }
//
//go:noescape
func dotQ3Kx8VNNI(nsb int, w *byte, a *byte, c *int32, out *float32)

// dotQ3Kx8x4VNNI is dotQ3Kx8VNNI for four activation rows astride bytes apart (their c
// 16·nsb int32 apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ3Kx8x4VNNI(nsb int, w *byte, a *byte, astride int, c *int32, out *float32, ostride int)

// dotQ2Kx8VNNI is dotQ2Kx8 with VPDPBUSD; c holds per super-block and group Σa:
//
//	for r := range 8 { out[r] = Σ_sb d_a * (d[r]*Σ_g sc[r][g]*Σ_l q·a − dmin[r]*Σ_g m[r][g]*c[g]) }
//
//go:noescape
func dotQ2Kx8VNNI(nsb int, w *byte, a *byte, c *int32, out *float32)

// dotQ2Kx8x4VNNI is dotQ2Kx8VNNI for four activation rows astride bytes apart (their c
// 16·nsb int32 apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ2Kx8x4VNNI(nsb int, w *byte, a *byte, astride int, c *int32, out *float32, ostride int)
