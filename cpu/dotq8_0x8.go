//go:build !noasm && (amd64 || arm64)

package cpu

import "github.com/inferno-go/inferno/tensor"

func init() {
	k := x8Kernels{one: q8_0x8One, many: q8_0x8Four, tokens: 4}
	registerX8(x8Type{dt: tensor.Q8_0, block: 32, groupBytes: q8x8GroupBytes, repack: repackQ8_0x8Rows,
		side: sideScales, sideLen: 1, prepare: prepareQ8_0Scales, amd64: k, arm64: k})
}

// q8x8GroupBytes is the size of one group of eight rows of nb blocks in the q8x8 layout:
// exactly the file's eight rows.
func q8x8GroupBytes(nb int) int { return nb * 272 }

// repackQ8_0x8Rows rewrites Q8_0 rows (34-byte blocks) in groups of eight rows: per
// block, the eight rows' fp16 scales, then eight 32-byte vectors, vector v holding
// quants 4v..4v+3 of rows 0..7 in turn (see repackQ4_0x8Rows).
func repackQ8_0x8Rows(out, src []byte, nb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		g, ri := r/8, r%8
		whole := useRepackAsm && r-ri >= r0 && r-ri+8 <= r1 // the quants of a whole group go by transposeX8
		for i := 0; i < nb; i++ {
			b := src[(r*nb+i)*34 : (r*nb+i+1)*34]
			d := out[(g*nb+i)*272 : (g*nb+i+1)*272]
			copy(d[2*ri:2*ri+2], b[:2])
			if whole {
				continue
			}
			for v := 0; v < 8; v++ {
				copy(d[16+32*v+4*ri:16+32*v+4*ri+4], b[2+4*v:2+4*v+4])
			}
		}
		if whole && ri == 7 {
			transposeX8(&out[g*nb*272+16], 272, &src[(r-7)*nb*34+2], nb*34, 34, nb)
		}
	}
}

func q8_0x8One(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ8_0x8(mm.nb, w, &mm.side.scales[t*mm.sideStride], &mm.act[t*mm.arb], out)
}

func q8_0x8Four(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ8_0x8x4(mm.nb, w, &mm.side.scales[t*mm.sideStride], &mm.act[t*mm.arb], mm.arb, out, ostride)
}

// dotQ8_0x8 is one Q8_0 activation row (float32 scales as) against a group of eight
// q8x8 rows, writing out[0..7]:
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i] * as[i] * float32(Σ_j w.q[r][i][j]*a[i].q[j]) } }
//
//go:noescape
func dotQ8_0x8(nb int, w *byte, as *float32, a *byte, out *float32)

// dotQ8_0x8x4 is dotQ8_0x8 for four activation rows astride bytes apart (their scales
// nb floats apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ8_0x8x4(nb int, w *byte, as *float32, a *byte, astride int, out *float32, ostride int)
