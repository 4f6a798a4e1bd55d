//go:build !noasm && (amd64 || arm64)

package cpu

import (
	"encoding/binary"

	"github.com/inferno-go/inferno/tensor"
)

func init() {
	k := x8Kernels{one: q4kx8One, many: q4kx8Two, tokens: 2}
	registerX8(x8Type{dt: tensor.Q4_K, block: 256, groupBytes: q4kx8GroupBytes, repack: repackQ4Kx8Rows,
		side: sideSums16, sideLen: 8, prepare: prepareQ8KSums, amd64: k, arm64: k})
}

// prepareQ8KSums quantizes token t to Q8_K with the eight 32-element sums of each
// super-block (q8KSums): the q4kx8 and q5kx8 kernels' side data.
func prepareQ8KSums(mm *matmulOp, t int) {
	prepareQ8K(mm, t)
	q8KSums(mm.actRow(t), mm.nb, mm.sums16Row(t))
}

// q4kx8GroupBytes is the size of one group of eight rows of nsb super-blocks in the
// q4kx8 layout.
func q4kx8GroupBytes(nsb int) int { return nsb * 1216 }

// repackQ4Kx8Rows rewrites Q4_K rows (144-byte super-blocks) in groups of eight rows,
// per super-block: d[8] and dmin[8] as float32, the sub-block scales (8 bytes per
// sub-block, one per row), the mins (per sub-block pair, each row's two mins side by
// side), then 32 vectors of quants, vector 8jp+v holding quant bytes 32jp+4v..+3 of rows
// 0..7 in turn. See dotq4kx8_amd64.s.
func repackQ4Kx8Rows(out, src []byte, nsb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		g, ri := r/8, r%8
		whole := useRepackAsm && r-ri >= r0 && r-ri+8 <= r1 // the quants of a whole group go by transposeX8
		for s := 0; s < nsb; s++ {
			b := src[(r*nsb+s)*144 : (r*nsb+s+1)*144]
			d := out[(g*nsb+s)*1216 : (g*nsb+s+1)*1216]
			if whole {
				putQ4Kx8Header(d, ri, b[:16])
				if ri == 7 {
					b0 := src[((r-7)*nsb+s)*144:]
					transposeX8(&d[192], 256, &b0[16], nsb*144, 32, 4)
				}
				continue
			}
			putQ4Kx8(d, ri, b[:16], b[16:144])
		}
	}
}

// putQ4Kx8 writes row ri's part of one q4kx8 super-block d from a Q4_K/Q5_K header
// (d, dmin, 12 bytes of packed scales and mins) and its 128 bytes of low nibbles.
func putQ4Kx8(d []byte, ri int, hdr, qs []byte) {
	putQ4Kx8Header(d, ri, hdr)
	for v := 0; v < 32; v++ { // v = 8jp + v'
		jp, vv := v/8, v%8
		copy(d[192+32*v+4*ri:192+32*v+4*ri+4], qs[32*jp+4*vv:32*jp+4*vv+4])
	}
}

// putQ4Kx8Header writes row ri's d, dmin, scales and mins into q4kx8 super-block d.
func putQ4Kx8Header(d []byte, ri int, hdr []byte) {
	putF32(d[4*ri:], tensor.FP16ToFP32(binary.LittleEndian.Uint16(hdr)))
	putF32(d[32+4*ri:], tensor.FP16ToFP32(binary.LittleEndian.Uint16(hdr[2:])))
	for j := 0; j < 8; j++ {
		sc, m := tensor.ScaleMinK4(j, hdr[4:16])
		d[64+8*j+ri] = sc
		d[128+16*(j/2)+2*ri+j%2] = m
	}
}

func q4kx8One(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ4Kx8(mm.nb, w, &mm.act[t*mm.arb], &mm.side.sums16[t*mm.sideStride], out)
}

func q4kx8Two(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ4Kx8x2(mm.nb, w, &mm.act[t*mm.arb], mm.arb, &mm.side.sums16[t*mm.sideStride], out, ostride)
}

// dotQ4Kx8 is one Q8_K activation row against a group of eight q4kx8 rows of nsb
// super-blocks, bs holding the activation's eight 32-element sums per super-block:
//
//	for r := range 8 { out[r] = Σ_sb d_a * (d[r]*Σ_j sc[r][j]*Σ_l q·a − dmin[r]*Σ_j m[r][j]*bs[j]) }
//
//go:noescape
func dotQ4Kx8(nsb int, w *byte, a *byte, bs *int16, out *float32)

// dotQ4Kx8x2 is dotQ4Kx8 for two activation rows astride bytes apart (their bs 8·nsb
// apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ4Kx8x2(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int)
