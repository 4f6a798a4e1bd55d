//go:build !noasm && (amd64 || arm64)

package cpu

import "github.com/inferno-go/inferno/tensor"

func init() {
	k := x8Kernels{one: q2kx8One}
	registerX8(x8Type{dt: tensor.Q2_K, block: 256, groupBytes: q2kx8GroupBytes, repack: repackQ2Kx8Rows,
		side: sideSums32, sideLen: 16, prepare: prepareQ2Kx8, amd64: k, arm64: k})
}

// prepareQ2Kx8 quantizes token t to Q8_K with Σa of each 16-element group, which the
// kernel multiplies by the groups' mins.
func prepareQ2Kx8(mm *matmulOp, t int) {
	prepareQ8K(mm, t)
	q8KGroupSums32(mm.actRow(t), mm.nb, mm.sums32Row(t), 1)
}

// q2kx8GroupBytes is the size of one group of eight rows of nsb super-blocks in the
// q2kx8 layout: exactly the file's eight rows.
func q2kx8GroupBytes(nsb int) int { return nsb * 672 }

// repackQ2Kx8Rows rewrites Q2_K rows (84-byte super-blocks) in groups of eight rows, per
// super-block: d[8] and dmin[8] as fp16; each 16-element group's eight scale|min<<4
// bytes (one per row, as in the file); then per group g its four vectors' quants (Vk:
// elements 16g+4k..+3 of rows 0..7, row r at bytes 4r..4r+3) packed as L_g = V0 | V1<<2
// | V2<<4 | V3<<6. See dotq2kx8_amd64.s.
func repackQ2Kx8Rows(out, src []byte, nsb, r0, r1 int) {
	levels := kLevels(tensor.Q2_K)
	var q [256]int32
	var sc, mn [16]int32
	for r := r0; r < r1; r++ {
		g8, ri := r/8, r%8
		for s := 0; s < nsb; s++ {
			d := out[(g8*nsb+s)*672 : (g8*nsb+s+1)*672]
			b := src[(r*nsb+s)*84 : (r*nsb+s+1)*84]
			levels(b, &q, &sc, &mn)
			copy(d[2*ri:2*ri+2], b[80:82])
			copy(d[16+2*ri:16+2*ri+2], b[82:84])
			for g := 0; g < 16; g++ {
				d[32+8*g+ri] = b[g]
				for e := 0; e < 4; e++ {
					var l byte
					for k := 0; k < 4; k++ {
						l |= byte(q[16*g+4*k+e]) << (2 * k)
					}
					d[160+32*g+4*ri+e] = l
				}
			}
		}
	}
}

func q2kx8One(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ2Kx8(mm.nb, w, &mm.act[t*mm.arb], &mm.side.sums32[t*mm.sideStride], out)
}

// dotQ2Kx8 is one Q8_K activation row against a group of eight q2kx8 rows of nsb
// super-blocks; c holds per super-block and group Σa (q8KGroupSums32):
//
//	for r := range 8 { out[r] = Σ_sb d_a * (d[r]*Σ_g sc[r][g]*Σ_l q·a − dmin[r]*Σ_g m[r][g]*Σa) }
//
//go:noescape
func dotQ2Kx8(nsb int, w *byte, a *byte, c *int32, out *float32)
