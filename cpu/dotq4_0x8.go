//go:build !noasm && (amd64 || arm64)

package cpu

import "github.com/inferno-go/inferno/tensor"

func init() {
	k := x8Kernels{one: q4_0x8One, many: q4_0x8Four, tokens: 4}
	registerX8(x8Type{dt: tensor.Q4_0, block: 32, groupBytes: q4x8GroupBytes, repack: repackQ4_0x8Rows,
		side: sideScaleSums, sideLen: 1, prepare: prepareQ8_0ScaleSums, amd64: k, arm64: k})
}

// q4x8GroupBytes is the size of one group of eight rows of nb blocks in the q4x8 layout:
// exactly the file's eight rows.
func q4x8GroupBytes(nb int) int { return nb * 144 }

// repackQ4_0x8Rows rewrites Q4_0 rows (18-byte blocks; IQ4_NL's too) in groups of eight
// rows: per block, the eight rows' fp16 scales, then four 32-byte vectors, vector v
// holding quant bytes 4v..4v+3 of rows 0..7 in turn. A kernel then multiplies eight
// rows by four broadcast activation bytes in one instruction, so neither decode nor
// prompt kernels shuffle lanes (llama.cpp's AVX2 Q4_0 path interleaves eight rows for
// the same reason).
func repackQ4_0x8Rows(out, src []byte, nb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		g, ri := r/8, r%8
		whole := useRepackAsm && r-ri >= r0 && r-ri+8 <= r1 // the quants of a whole group go by transposeX8Half
		for i := 0; i < nb; i++ {
			b := src[(r*nb+i)*18 : (r*nb+i+1)*18]
			d := out[(g*nb+i)*144 : (g*nb+i+1)*144]
			copy(d[2*ri:2*ri+2], b[:2])
			if whole {
				continue
			}
			for v := 0; v < 4; v++ {
				copy(d[16+32*v+4*ri:16+32*v+4*ri+4], b[2+4*v:2+4*v+4])
			}
		}
		if whole && ri == 7 {
			transposeX8Half(&out[g*nb*144+16], 144, &src[(r-7)*nb*18+2], nb*18, 18, nb)
		}
	}
}

func q4_0x8One(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ4_0x8(mm.nb, w, &mm.side.scaleSums[t*mm.sideStride].d, &mm.act[t*mm.arb], out)
}

func q4_0x8Four(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ4_0x8x4(mm.nb, w, &mm.side.scaleSums[t*mm.sideStride].d, &mm.act[t*mm.arb], mm.arb, out, ostride)
}

// dotQ4_0x8 is one Q8_0 activation row against a group of eight q4x8 rows, writing
// out[0..7]; sa holds per block the activation's q8ScaleSum, so that the nibbles are
// used unsigned:
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i] * sa[i].d * float32(Σ_j q[r][i][j]*a[i].q[j] - sa[i].sum8) } }
//
//go:noescape
func dotQ4_0x8(nb int, w *byte, sa *float32, a *byte, out *float32)

// dotQ4_0x8x4 is dotQ4_0x8 for four activation rows astride bytes apart (their sa nb
// q8ScaleSums apart), token t's results at out + t·ostride bytes; each weight block is
// unpacked once for the four.
//
//go:noescape
func dotQ4_0x8x4(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int)
