//go:build !noasm && (amd64 || arm64)

package cpu

import "github.com/inferno-go/inferno/tensor"

func init() {
	nl := x8Kernels{one: iq4nlx8One}
	registerX8(x8Type{dt: tensor.IQ4_NL, block: 32, groupBytes: q4x8GroupBytes, repack: repackQ4_0x8Rows, // Q4_0's block format, other levels
		side: sideScales, sideLen: 1, prepare: prepareQ8_0Scales, amd64: nl, arm64: nl})
	xs := x8Kernels{one: iq4xsx8One}
	registerX8(x8Type{dt: tensor.IQ4_XS, block: 256, groupBytes: iq4xsx8GroupBytes, repack: repackIQ4XSx8Rows,
		side: sideNone, prepare: prepareQ8K, amd64: xs, arm64: xs}) // symmetric levels: no side data
}

// iq4xsx8GroupBytes is the size of one group of eight rows of nsb super-blocks in the
// iq4xsx8 layout.
func iq4xsx8GroupBytes(nsb int) int { return nsb * 1120 }

// repackIQ4XSx8Rows rewrites IQ4_XS rows (136-byte super-blocks) in groups of eight
// rows, per super-block: d[8] as float32; each 32-element sub-block's eight signed
// scales (one byte per row); then per sub-block the q4x8 layout of its nibbles: four
// vectors, vector v holding bytes 4v..4v+3 of rows 0..7 in turn (low nibbles elements
// 4v.., high ones 16+4v..). See dotiq4x8_amd64.s.
func repackIQ4XSx8Rows(out, src []byte, nsb, r0, r1 int) {
	levels := kLevels(tensor.IQ4_XS)
	var q [256]int32
	var sc, mn [16]int32
	for r := r0; r < r1; r++ {
		g8, ri := r/8, r%8
		for s := 0; s < nsb; s++ {
			d := out[(g8*nsb+s)*1120 : (g8*nsb+s+1)*1120]
			b := src[(r*nsb+s)*136 : (r*nsb+s+1)*136]
			dw, _ := levels(b, &q, &sc, &mn)
			putF32(d[4*ri:], dw)
			for ib := 0; ib < 8; ib++ {
				d[32+8*ib+ri] = byte(int8(sc[2*ib]))
				for v := 0; v < 4; v++ {
					copy(d[96+128*ib+32*v+4*ri:96+128*ib+32*v+4*ri+4], b[8+16*ib+4*v:8+16*ib+4*v+4])
				}
			}
		}
	}
}

func iq4nlx8One(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotIQ4NLx8(mm.nb, w, &mm.side.scales[t*mm.sideStride], &mm.act[t*mm.arb], out)
}

func iq4xsx8One(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotIQ4XSx8(mm.nb, w, &mm.act[t*mm.arb], out)
}

// dotIQ4NLx8 is one Q8_0 activation row (float32 scales as) against a group of eight
// IQ4_NL rows in the q4x8 layout (repackQ4_0x8Rows), writing out[0..7]:
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i] * as[i] * float32(Σ_j level(w.q[r][i][j])*a[i].q[j]) } }
//
//go:noescape
func dotIQ4NLx8(nb int, w *byte, as *float32, a *byte, out *float32)

// dotIQ4XSx8 is one Q8_K activation row against a group of eight iq4xsx8 rows of nsb
// super-blocks:
//
//	for r := range 8 { out[r] = Σ_sb d_a * d[r] * Σ_j sc[r][j] * Σ_l level(q)·a }
//
//go:noescape
func dotIQ4XSx8(nsb int, w *byte, a *byte, out *float32)
