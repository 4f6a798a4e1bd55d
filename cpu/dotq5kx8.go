//go:build !noasm && (amd64 || arm64)

package cpu

import (
	"runtime"

	"github.com/inferno-go/inferno/tensor"
)

func init() {
	xt := x8Type{dt: tensor.Q5_K, block: 256, groupBytes: q5kx8GroupBytes, repack: repackQ5Kx8Rows,
		side: sideSums16, sideLen: 8, prepare: prepareQ8KSums, arm64: x8Kernels{one: q5kx8One}}
	if runtime.GOARCH == "amd64" { // a constant: arm64 builds have no dotQ5Kx8x2, nor a reference to it
		xt.amd64 = x8Kernels{one: q5kx8One, many: q5kx8Two, tokens: 2}
	}
	registerX8(xt)
}

// q5kx8GroupBytes is the size of one group of eight rows of nsb super-blocks in the
// q5kx8 layout.
func q5kx8GroupBytes(nsb int) int { return nsb * 1472 }

// repackQ5Kx8Rows rewrites Q5_K rows (176-byte super-blocks) in groups of eight rows:
// per super-block the q4kx8 layout of the scales, mins and low four bits, then eight
// vectors of the fifth bits, vector v holding qh bytes 4v..4v+3 of rows 0..7 in turn.
// See dotq5kx8_amd64.s.
func repackQ5Kx8Rows(out, src []byte, nsb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		g, ri := r/8, r%8
		whole := useRepackAsm && r-ri >= r0 && r-ri+8 <= r1 // the bits of a whole group go by transposeX8
		for s := 0; s < nsb; s++ {
			b := src[(r*nsb+s)*176 : (r*nsb+s+1)*176]
			d := out[(g*nsb+s)*1472 : (g*nsb+s+1)*1472]
			if whole {
				putQ4Kx8Header(d, ri, b[:16])
				if ri == 7 {
					b0 := src[((r-7)*nsb+s)*176:]
					transposeX8(&d[192], 256, &b0[48], nsb*176, 32, 4)
					transposeX8(&d[1216], 256, &b0[16], nsb*176, 32, 1)
				}
				continue
			}
			putQ4Kx8(d, ri, b[:16], b[48:176])
			for v := 0; v < 8; v++ {
				copy(d[1216+32*v+4*ri:1216+32*v+4*ri+4], b[16+4*v:16+4*v+4])
			}
		}
	}
}

func q5kx8One(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ5Kx8(mm.nb, w, &mm.act[t*mm.arb], &mm.side.sums16[t*mm.sideStride], out)
}

// dotQ5Kx8 is dotQ4Kx8 for a group of eight q5kx8 rows (quants 0..31).
//
//go:noescape
func dotQ5Kx8(nsb int, w *byte, a *byte, bs *int16, out *float32)

func q5kx8Two(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ5Kx8x2(mm.nb, w, &mm.act[t*mm.arb], mm.arb, &mm.side.sums16[t*mm.sideStride], out, ostride)
}

// dotQ5Kx8x2 is dotQ5Kx8 for two activation rows astride bytes apart (their bs 8·nsb
// apart), token t's results at out + t·ostride bytes. amd64 only.
//
//go:noescape
func dotQ5Kx8x2(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int)
