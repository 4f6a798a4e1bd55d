//go:build !noasm

package cpu

import "github.com/inferno-go/inferno/tensor"

// The avx512vnni kernels of the q6kx8 layout (the AVX2 ones: dotq6kx8.go). A group's
// sums Σ q'·a (q' = q+32, 0..63) are VPDPBUSDs started from −32·Σa, which the side
// data holds per 16-element group as an int32 (q8KGroupSums32), then times the rows'
// scales with VPMULLD: |Σ q'·a − 32·Σa| does not fit AVX2's int16 pairs.
var _ = addVNNI(tensor.Q6_K, x8Kernels{one: q6kx8OneVNNI, many: q6kx8FourVNNI, tokens: 4,
	side: sideSums32, sideLen: 16, prepare: prepareQ6Kx8VNNI})

// prepareQ6Kx8VNNI quantizes token t to Q8_K with −32·Σa of each 16-element group.
func prepareQ6Kx8VNNI(mm *matmulOp, t int) {
	prepareQ8K(mm, t)
	q8KGroupSums32(mm.actRow(t), mm.nb, mm.sums32Row(t), -32)
}

func q6kx8OneVNNI(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ6Kx8VNNI(mm.nb, w, &mm.act[t*mm.arb], &mm.side.sums32[t*mm.sideStride], out)
}

func q6kx8FourVNNI(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ6Kx8x4VNNI(mm.nb, w, &mm.act[t*mm.arb], mm.arb, &mm.side.sums32[t*mm.sideStride], out, ostride)
}

// dotQ6Kx8VNNI is one Q8_K activation row against a group of eight q6kx8 rows of nsb
// super-blocks; c holds per super-block and 16-element group −32·Σa:
//
//	for r := range 8 { out[r] = Σ_sb d_a * d[r] * Σ_g sc[r][g] * (Σ_l q'·a + c[g]) }
//
//go:noescape
func dotQ6Kx8VNNI(nsb int, w *byte, a *byte, c *int32, out *float32)

// dotQ6Kx8x4VNNI is dotQ6Kx8VNNI for four activation rows astride bytes apart (their c
// 16·nsb int32 apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ6Kx8x4VNNI(nsb int, w *byte, a *byte, astride int, c *int32, out *float32, ostride int)
