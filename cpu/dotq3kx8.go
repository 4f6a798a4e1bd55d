//go:build !noasm && (amd64 || arm64)

package cpu

import "github.com/inferno-go/inferno/tensor"

func init() {
	k := x8Kernels{one: q3kx8One}
	registerX8(x8Type{dt: tensor.Q3_K, block: 256, groupBytes: q3kx8GroupBytes, repack: repackQ3Kx8Rows,
		side: sideSums32, sideLen: 16, prepare: prepareQ3Kx8, amd64: k, arm64: k})
}

// prepareQ3Kx8 quantizes token t to Q8_K with 4·Σa of each 16-element group: what the
// kernel subtracts for the quants' offset (it multiplies q+4).
func prepareQ3Kx8(mm *matmulOp, t int) {
	prepareQ8K(mm, t)
	q8KGroupSums32(mm.actRow(t), mm.nb, mm.sums32Row(t), 4)
}

// q3kx8GroupBytes is the size of one group of eight rows of nsb super-blocks in the
// q3kx8 layout.
func q3kx8GroupBytes(nsb int) int { return nsb * 928 }

// repackQ3Kx8Rows rewrites Q3_K rows (110-byte super-blocks) in groups of eight rows, per
// super-block: d[8] as float32; each 16-element group's eight signed scales (one byte
// per row); then per pair of groups p the low two bits of each group's four vectors
// (Vk: elements 16g+4k..+3 of rows 0..7, row r at bytes 4r..4r+3) packed as L_g =
// lo2(V0) | lo2(V1)<<2 | lo2(V2)<<4 | lo2(V3)<<6, and their third bits as H_p =
// hb(V0(2p)) | hb(V1(2p))<<1 | ... | hb(V3(2p+1))<<7, of the unsigned quants q+4 (0..7).
// See dotq3kx8_amd64.s.
func repackQ3Kx8Rows(out, src []byte, nsb, r0, r1 int) {
	levels := kLevels(tensor.Q3_K)
	var q [256]int32
	var sc, mn [16]int32
	for r := r0; r < r1; r++ {
		g8, ri := r/8, r%8
		for s := 0; s < nsb; s++ {
			d := out[(g8*nsb+s)*928 : (g8*nsb+s+1)*928]
			dw, _ := levels(src[(r*nsb+s)*110:(r*nsb+s+1)*110], &q, &sc, &mn)
			putF32(d[4*ri:], dw)
			for g := 0; g < 16; g++ {
				d[32+8*g+ri] = byte(int8(sc[g]))
				pair := d[160+96*(g/2) : 160+96*(g/2)+96]
				for e := 0; e < 4; e++ {
					var lo, hb byte
					for k := 0; k < 4; k++ {
						u := byte(q[16*g+4*k+e] + 4)
						lo |= (u & 3) << (2 * k)
						hb |= (u >> 2) << k
					}
					pair[32*(g%2)+4*ri+e] = lo
					pair[64+4*ri+e] |= hb << (4 * (g % 2))
				}
			}
		}
	}
}

func q3kx8One(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ3Kx8(mm.nb, w, &mm.act[t*mm.arb], &mm.side.sums32[t*mm.sideStride], out)
}

// dotQ3Kx8 is one Q8_K activation row against a group of eight q3kx8 rows of nsb
// super-blocks; c holds per super-block and group 4·Σa (q8KGroupSums32):
//
//	for r := range 8 { out[r] = Σ_sb d_a * d[r] * Σ_g sc[r][g] * (Σ_l (q+4)·a − 4·Σa) }
//
//go:noescape
func dotQ3Kx8(nsb int, w *byte, a *byte, c *int32, out *float32)
