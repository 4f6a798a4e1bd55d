//go:build !noasm && (amd64 || arm64)

package cpu

import (
	"encoding/binary"

	"github.com/inferno-go/inferno/tensor"
)

func init() {
	k := x8Kernels{one: q6kx8One, many: q6kx8Two, tokens: 2}
	registerX8(x8Type{dt: tensor.Q6_K, block: 256, groupBytes: q6kx8GroupBytes, repack: repackQ6Kx8Rows,
		side: sideSums16, sideLen: 32, prepare: prepareQ6Kx8, amd64: k, arm64: k})
}

// prepareQ6Kx8 quantizes token t to Q8_K with its group-sum pairs (q8KGroupSums), which
// the AVX2 kernels read (the NEON ones take the Q8_K block's bsums themselves).
func prepareQ6Kx8(mm *matmulOp, t int) {
	prepareQ8K(mm, t)
	q8KGroupSums(mm.actRow(t), mm.nb, mm.sums16Row(t))
}

// q8KGroupSums writes, for each Q8_K super-block of a (nsb of them) and each of its
// sixteen 16-element groups, the int16 pair (16·Σa, 16·Σa) the q6kx8 kernel takes.
func q8KGroupSums(a []byte, nsb int, c []int16) {
	for s := 0; s < nsb; s++ {
		blk := a[s*292 : (s+1)*292]
		for g := 0; g < 16; g++ {
			v := 16 * int16(binary.LittleEndian.Uint16(blk[260+2*g:]))
			c[32*s+2*g], c[32*s+2*g+1] = v, v
		}
	}
}

// q6kx8GroupBytes is the size of one group of eight rows of nsb super-blocks in the
// q6kx8 layout.
func q6kx8GroupBytes(nsb int) int { return nsb * 1824 }

// q6KValues unpacks a Q6_K super-block's 256 quants as stored (0..63, value+32).
func q6KValues(b []byte, q *[256]byte) {
	const lo4, lo2 = 0x0f0f0f0f, 0x03030303
	le := binary.LittleEndian
	for h := 0; h < 2; h++ {
		ql, qh := b[64*h:64*h+64], b[128+32*h:128+32*h+32]
		for l := 0; l < 32; l += 4 { // four quants at a time, one per byte of a word
			lo, hi, top := le.Uint32(ql[l:]), le.Uint32(ql[l+32:]), le.Uint32(qh[l:])
			le.PutUint32(q[128*h+l:], lo&lo4|(top&lo2)<<4)
			le.PutUint32(q[128*h+l+32:], hi&lo4|(top>>2&lo2)<<4)
			le.PutUint32(q[128*h+l+64:], lo>>4&lo4|(top>>4&lo2)<<4)
			le.PutUint32(q[128*h+l+96:], hi>>4&lo4|(top>>6&lo2)<<4)
		}
	}
}

// repackQ6Kx8Rows rewrites Q6_K rows (210-byte super-blocks) in groups of eight rows:
// per super-block d[8] as float32, each row's scale of every 16-element group twice (an
// int16 pair after sign extension), then per group the low nibbles of its four vectors
// of eight rows × four quants in two vectors and their high two bits in a third. See
// dotq6kx8_amd64.s.
func repackQ6Kx8Rows(out, src []byte, nsb, r0, r1 int) {
	var q [256]byte
	for r := r0; r < r1; r++ {
		g8, ri := r/8, r%8
		for s := 0; s < nsb; s++ {
			b := src[(r*nsb+s)*210 : (r*nsb+s+1)*210]
			d := out[(g8*nsb+s)*1824 : (g8*nsb+s+1)*1824]
			putF32(d[4*ri:], tensor.FP16ToFP32(binary.LittleEndian.Uint16(b[208:])))
			q6KValues(b, &q)
			for g := 0; g < 16; g++ {
				d[32+16*g+2*ri], d[32+16*g+2*ri+1] = b[192+g], b[192+g]
				quad := d[288+96*g : 288+96*g+96]
				// the group's four vectors, element e in byte e of each word
				le := binary.LittleEndian
				v0, v1, v2, v3 := le.Uint32(q[16*g:]), le.Uint32(q[16*g+4:]), le.Uint32(q[16*g+8:]), le.Uint32(q[16*g+12:])
				const lo4, lo2 = 0x0f0f0f0f, 0x03030303
				le.PutUint32(quad[4*ri:], v0&lo4|(v1&lo4)<<4)
				le.PutUint32(quad[32+4*ri:], v2&lo4|(v3&lo4)<<4)
				le.PutUint32(quad[64+4*ri:], v0>>4&lo2|(v1>>4&lo2)<<2|(v2>>4&lo2)<<4|(v3>>4&lo2)<<6)
			}
		}
	}
}

func q6kx8One(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ6Kx8(mm.nb, w, &mm.act[t*mm.arb], &mm.side.sums16[t*mm.sideStride], out)
}

func q6kx8Two(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	dotQ6Kx8x2(mm.nb, w, &mm.act[t*mm.arb], mm.arb, &mm.side.sums16[t*mm.sideStride], out, ostride)
}

// dotQ6Kx8 is one Q8_K activation row against a group of eight q6kx8 rows of nsb
// super-blocks. On amd64 c holds per super-block and 16-element group the int16 pair
// (16·Σa, 16·Σa) (q8KGroupSums); on arm64 the kernel takes the group sums from the Q8_K
// block's bsums itself and c is unused:
//
//	for r := range 8 { out[r] = Σ_sb d_a * d[r] * Σ_g sc[r][g] * (Σ_l q·a − 32·Σa) }
//
//go:noescape
func dotQ6Kx8(nsb int, w *byte, a *byte, c *int16, out *float32)

// dotQ6Kx8x2 is dotQ6Kx8 for two activation rows astride bytes apart (their c 32·nsb
// apart), token t's results at out + t·ostride bytes.
//
//go:noescape
func dotQ6Kx8x2(nsb int, w *byte, a *byte, astride int, c *int16, out *float32, ostride int)
