package cpu

import (
	"encoding/binary"
	"math"

	"github.com/inferno-go/inferno/tensor"
)

// Repacked layouts: at load, weights are rewritten so the kernels need no bit juggling.
// Where this build has their kernels (x8Kernels: AVX2, or arm64's dot product) every
// quantized type goes into groups of eight interleaved rows (q4x8, q8x8, q4kx8, ...: one
// instruction multiplies eight rows by broadcast activations, as llama.cpp's Q4_0x8
// does); the portable path uses q4kr and q6kr for Q4_K and Q6_K and the file's bytes
// for the rest. The original bytes stay in place for get_rows.

const (
	q4krBytes = 152 // d f32, dmin f32, scales[8], mins[8], qs[128]
	q6krBytes = 276 // d f32, scales[16] int8, q[256] in 0..63
)

// kLevels is the super-block type dt's level unpacker (tensor.Codec.KLevels).
func kLevels(dt tensor.DType) func(b []byte, q *[tensor.QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	c, _ := tensor.CodecOf(dt)
	return c.KLevels
}

func putF32(b []byte, f float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(f)) }

func getF32(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

// repackQ4K rewrites Q4_K super-blocks (144 bytes) as q4kr (152 bytes).
func repackQ4K(src []byte) []byte { return repackQ4KTo(make([]byte, len(src)/144*q4krBytes), src) }

// repackQ4KTo is repackQ4K into out (len(src)/144*q4krBytes bytes).
func repackQ4KTo(out, src []byte) []byte {
	nb := len(src) / 144
	for i := 0; i < nb; i++ {
		s, d := src[i*144:], out[i*q4krBytes:]
		putF32(d[0:], tensor.FP16ToFP32(binary.LittleEndian.Uint16(s[0:])))
		putF32(d[4:], tensor.FP16ToFP32(binary.LittleEndian.Uint16(s[2:])))
		for j := 0; j < 8; j++ {
			d[8+j], d[16+j] = tensor.ScaleMinK4(j, s[4:16])
		}
		copy(d[24:152], s[16:144])
	}
	return out
}

// repackQ6K rewrites Q6_K super-blocks (210 bytes) as q6kr (276 bytes).
func repackQ6K(src []byte) []byte { return repackQ6KTo(make([]byte, len(src)/210*q6krBytes), src) }

// repackQ6KTo is repackQ6K into out (len(src)/210*q6krBytes bytes).
func repackQ6KTo(out, src []byte) []byte {
	nb := len(src) / 210
	for i := 0; i < nb; i++ {
		s, d := src[i*210:], out[i*q6krBytes:]
		putF32(d[0:], tensor.FP16ToFP32(binary.LittleEndian.Uint16(s[208:])))
		copy(d[4:20], s[192:208])
		ql, qh, q := s[0:128], s[128:192], d[20:276]
		for n := 0; n < 256; n += 128 {
			for l := 0; l < 32; l++ {
				h := qh[n/4+l]
				q[n+l] = ql[n/2+l]&0xf | (h&3)<<4
				q[n+l+32] = ql[n/2+l+32]&0xf | ((h>>2)&3)<<4
				q[n+l+64] = ql[n/2+l]>>4 | ((h>>4)&3)<<4
				q[n+l+96] = ql[n/2+l+32]>>4 | ((h>>6)&3)<<4
			}
		}
	}
	return out
}

// dotQ4KR is the portable q4kr row dot product.
func dotQ4KR(nb int, w, a []byte) float32 {
	var sum float32
	for i := 0; i < nb; i++ {
		x, y := w[i*q4krBytes:], a[i*292:]
		var sumi, summ int32
		for j := 0; j < 8; j++ {
			var s int32
			qs := x[24+32*(j/2):]
			q8 := y[4+32*j:]
			sh := uint(4 * (j % 2))
			for l := 0; l < 32; l++ {
				s += int32((qs[l]>>sh)&0xf) * int32(int8(q8[l]))
			}
			sumi += int32(x[8+j]) * s
			b := int32(int16(binary.LittleEndian.Uint16(y[260+4*j:]))) + int32(int16(binary.LittleEndian.Uint16(y[262+4*j:])))
			summ += int32(x[16+j]) * b
		}
		da := getF32(y)
		sum += da*getF32(x)*float32(sumi) - da*getF32(x[4:])*float32(summ)
	}
	return sum
}

// dotQ6KR is the portable q6kr row dot product.
func dotQ6KR(nb int, w, a []byte) float32 {
	var sum float32
	for i := 0; i < nb; i++ {
		x, y := w[i*q6krBytes:], a[i*292:]
		var sumi int32
		for g := 0; g < 16; g++ {
			var s int32
			q, q8 := x[20+16*g:], y[4+16*g:]
			for l := 0; l < 16; l++ {
				s += int32(q[l]) * int32(int8(q8[l]))
			}
			b := int32(int16(binary.LittleEndian.Uint16(y[260+2*g:])))
			sumi += int32(int8(x[4+g])) * (s - 32*b)
		}
		sum += getF32(y) * getF32(x) * float32(sumi)
	}
	return sum
}

// q4x8GroupBytes is the size of one group of eight rows of nb blocks in the q4x8 layout:
// exactly the file's eight rows.
func q4x8GroupBytes(nb int) int { return nb * 144 }

// repackQ4_0x8Rows rewrites Q4_0 rows (18-byte blocks) in groups of eight rows (the last
// group padded with zero rows): per block, the eight rows' fp16 scales, then four
// 32-byte vectors, vector v holding quant bytes 4v..4v+3 of rows 0..7 in turn. A
// kernel then multiplies eight rows by four broadcast activation bytes in one
// instruction, so neither decode nor prompt kernels shuffle lanes (llama.cpp's AVX2
// Q4_0 path interleaves eight rows for the same reason).
// It repacks rows [r0, r1) (whole groups of eight, but for the last).
func repackQ4_0x8Rows(out, src []byte, nb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		g, ri := r/8, r%8
		for i := 0; i < nb; i++ {
			b := src[(r*nb+i)*18 : (r*nb+i+1)*18]
			d := out[(g*nb+i)*144 : (g*nb+i+1)*144]
			copy(d[2*ri:2*ri+2], b[:2])
			for v := 0; v < 4; v++ {
				copy(d[16+32*v+4*ri:16+32*v+4*ri+4], b[2+4*v:2+4*v+4])
			}
		}
	}
}

// q8x8GroupBytes is the size of one group of eight rows of nb blocks in the q8x8 layout:
// exactly the file's eight rows.
func q8x8GroupBytes(nb int) int { return nb * 272 }

// repackQ8_0x8Rows rewrites Q8_0 rows (34-byte blocks) in groups of eight rows (the last
// padded with zero rows): per block, the eight rows' fp16 scales, then eight 32-byte
// vectors, vector v holding quants 4v..4v+3 of rows 0..7 in turn (see repackQ4_0x8Rows).
// It repacks rows [r0, r1) (whole groups of eight, but for the last).
func repackQ8_0x8Rows(out, src []byte, nb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		g, ri := r/8, r%8
		for i := 0; i < nb; i++ {
			b := src[(r*nb+i)*34 : (r*nb+i+1)*34]
			d := out[(g*nb+i)*272 : (g*nb+i+1)*272]
			copy(d[2*ri:2*ri+2], b[:2])
			for v := 0; v < 8; v++ {
				copy(d[16+32*v+4*ri:16+32*v+4*ri+4], b[2+4*v:2+4*v+4])
			}
		}
	}
}

// q4kx8GroupBytes is the size of one group of eight rows of nsb super-blocks in the
// q4kx8 layout.
func q4kx8GroupBytes(nsb int) int { return nsb * 1216 }

// repackQ4Kx8Rows rewrites Q4_K rows (144-byte super-blocks) in groups of eight rows (the
// last padded with zero rows), per super-block: d[8] and dmin[8] as float32, the
// sub-block scales (8 bytes per sub-block, one per row), the mins (per sub-block pair,
// each row's two mins side by side), then 32 vectors of quants, vector 8jp+v holding
// quant bytes 32jp+4v..+3 of rows 0..7 in turn. See dotq4kx8_amd64.s.
// It repacks rows [r0, r1) (whole groups of eight, but for the last).
func repackQ4Kx8Rows(out, src []byte, nsb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		g, ri := r/8, r%8
		for s := 0; s < nsb; s++ {
			b := src[(r*nsb+s)*144 : (r*nsb+s+1)*144]
			putQ4Kx8(out[(g*nsb+s)*1216:(g*nsb+s+1)*1216], ri, b[:16], b[16:144])
		}
	}
}

// putQ4Kx8 writes row ri's part of one q4kx8 super-block d from a Q4_K/Q5_K header
// (d, dmin, 12 bytes of packed scales and mins) and its 128 bytes of low nibbles.
func putQ4Kx8(d []byte, ri int, hdr, qs []byte) {
	putF32(d[4*ri:], tensor.FP16ToFP32(binary.LittleEndian.Uint16(hdr)))
	putF32(d[32+4*ri:], tensor.FP16ToFP32(binary.LittleEndian.Uint16(hdr[2:])))
	for j := 0; j < 8; j++ {
		sc, m := tensor.ScaleMinK4(j, hdr[4:16])
		d[64+8*j+ri] = sc
		d[128+16*(j/2)+2*ri+j%2] = m
	}
	for v := 0; v < 32; v++ { // v = 8jp + v'
		jp, vv := v/8, v%8
		copy(d[192+32*v+4*ri:192+32*v+4*ri+4], qs[32*jp+4*vv:32*jp+4*vv+4])
	}
}

// q8KSums writes the eight 32-element sums of each Q8_K super-block of a (nsb of them)
// to bs, from the block's sixteen 16-element bsums.
func q8KSums(a []byte, nsb int, bs []int16) {
	for s := 0; s < nsb; s++ {
		blk := a[s*292 : (s+1)*292]
		for j := 0; j < 8; j++ {
			bs[8*s+j] = int16(binary.LittleEndian.Uint16(blk[260+4*j:])) + int16(binary.LittleEndian.Uint16(blk[262+4*j:]))
		}
	}
}

// q6kx8GroupBytes is the size of one group of eight rows of nsb super-blocks in the
// q6kx8 layout.
func q6kx8GroupBytes(nsb int) int { return nsb * 1824 }

// q6KValues unpacks a Q6_K super-block's 256 quants as stored (0..63, value+32).
func q6KValues(b []byte, q *[256]byte) {
	for h := 0; h < 2; h++ {
		ql, qh := b[64*h:], b[128+32*h:]
		for l := 0; l < 32; l++ {
			q[128*h+l] = ql[l]&0xf | (qh[l]&3)<<4
			q[128*h+l+32] = ql[l+32]&0xf | (qh[l]>>2&3)<<4
			q[128*h+l+64] = ql[l]>>4 | (qh[l]>>4&3)<<4
			q[128*h+l+96] = ql[l+32]>>4 | (qh[l]>>6&3)<<4
		}
	}
}

// repackQ6Kx8Rows rewrites Q6_K rows (210-byte super-blocks) in groups of eight rows (the
// last padded with zero rows): per super-block d[8] as float32, each row's scale of
// every 16-element group twice (an int16 pair after sign extension), then per group
// the low nibbles of its four vectors of eight rows × four quants in two vectors and
// their high two bits in a third. See dotq6kx8_amd64.s.
// It repacks rows [r0, r1) (whole groups of eight, but for the last).
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
				for e := 0; e < 4; e++ { // element e of each of the group's vectors
					v0, v1, v2, v3 := q[16*g+e], q[16*g+4+e], q[16*g+8+e], q[16*g+12+e]
					quad[4*ri+e] = v0&0xf | (v1&0xf)<<4
					quad[32+4*ri+e] = v2&0xf | (v3&0xf)<<4
					quad[64+4*ri+e] = v0>>4 | (v1>>4)<<2 | (v2>>4)<<4 | (v3>>4)<<6
				}
			}
		}
	}
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

// q5kx8GroupBytes is the size of one group of eight rows of nsb super-blocks in the
// q5kx8 layout.
func q5kx8GroupBytes(nsb int) int { return nsb * 1472 }

// repackQ5Kx8Rows rewrites Q5_K rows (176-byte super-blocks) in groups of eight rows (the
// last padded with zero rows): per super-block the q4kx8 layout of the scales, mins and
// low four bits, then eight vectors of the fifth bits, vector v holding qh bytes
// 4v..4v+3 of rows 0..7 in turn. See dotq5kx8_amd64.s.
// It repacks rows [r0, r1) (whole groups of eight, but for the last).
func repackQ5Kx8Rows(out, src []byte, nsb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		g, ri := r/8, r%8
		for s := 0; s < nsb; s++ {
			b := src[(r*nsb+s)*176 : (r*nsb+s+1)*176]
			d := out[(g*nsb+s)*1472 : (g*nsb+s+1)*1472]
			putQ4Kx8(d, ri, b[:16], b[48:176])
			for v := 0; v < 8; v++ {
				copy(d[1216+32*v+4*ri:1216+32*v+4*ri+4], b[16+4*v:16+4*v+4])
			}
		}
	}
}

// q3kx8GroupBytes is the size of one group of eight rows of nsb super-blocks in the
// q3kx8 layout.
func q3kx8GroupBytes(nsb int) int { return nsb * 928 }

// repackQ3Kx8Rows rewrites Q3_K rows (110-byte super-blocks) in groups of eight rows (the
// last padded with zero rows), per super-block: d[8] as float32; each 16-element
// group's eight signed scales (one byte per row); then per pair of groups p the
// low two bits of each group's four vectors (Vk: elements 16g+4k..+3 of rows 0..7,
// row r at bytes 4r..4r+3) packed as L_g = lo2(V0) | lo2(V1)<<2 | lo2(V2)<<4 |
// lo2(V3)<<6, and their third bits as H_p = hb(V0(2p)) | hb(V1(2p))<<1 | ... |
// hb(V3(2p+1))<<7, of the unsigned quants q+4 (0..7). See dotq3kx8_amd64.s.
// It repacks rows [r0, r1) (whole groups of eight, but for the last).
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

// q8KGroupSums32 writes, for each Q8_K super-block of a (nsb of them) and each of its
// sixteen 16-element groups, mul·Σa as an int32 in two int16 (low, high): what the
// q3kx8 kernels subtract per group for the quants' offset.
func q8KGroupSums32(a []byte, nsb int, c []int16, mul int32) {
	for s := 0; s < nsb; s++ {
		blk := a[s*292 : (s+1)*292]
		for g := 0; g < 16; g++ {
			v := mul * int32(int16(binary.LittleEndian.Uint16(blk[260+2*g:])))
			c[32*s+2*g], c[32*s+2*g+1] = int16(uint16(v)), int16(uint16(uint32(v)>>16))
		}
	}
}

// q2kx8GroupBytes is the size of one group of eight rows of nsb super-blocks in the
// q2kx8 layout: exactly the file's eight rows.
func q2kx8GroupBytes(nsb int) int { return nsb * 672 }

// repackQ2Kx8Rows rewrites Q2_K rows (84-byte super-blocks) in groups of eight rows (the
// last padded with zero rows), per super-block: d[8] and dmin[8] as fp16; each
// 16-element group's eight scale|min<<4 bytes (one per row, as in the file); then per
// group g its four vectors' quants (Vk: elements 16g+4k..+3 of rows 0..7, row r at
// bytes 4r..4r+3) packed as L_g = V0 | V1<<2 | V2<<4 | V3<<6. See dotq2kx8_amd64.s.
// It repacks rows [r0, r1) (whole groups of eight, but for the last).
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

// iq4xsx8GroupBytes is the size of one group of eight rows of nsb super-blocks in the
// iq4xsx8 layout.
func iq4xsx8GroupBytes(nsb int) int { return nsb * 1120 }

// repackIQ4XSx8Rows rewrites IQ4_XS rows (136-byte super-blocks) in groups of eight rows
// (the last padded with zero rows), per super-block: d[8] as float32; each 32-element
// sub-block's eight signed scales (one byte per row); then per sub-block the q4x8
// layout of its nibbles: four vectors, vector v holding bytes 4v..4v+3 of rows 0..7 in
// turn (low nibbles elements 4v.., high ones 16+4v..). See dotiq4x8_amd64.s.
// It repacks rows [r0, r1) (whole groups of eight, but for the last).
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

// The q5x8, q41x8 and q51x8 layouts (Q5_0, Q4_1, Q5_1) extend q4x8: per block of a group
// of eight rows, the rows' fp16 d (and for Q4_1/Q5_1 then their fp16 m), the q4x8
// nibble vectors, and for the 5-bit types one vector of fifth bits: row r's byte e holds
// in bit 2v the fifth bit of element 4v+e and in bit 2v+1 that of element 16+4v+e (the
// low and high nibbles of nibble vector v). Each is exactly the file's size.

func q5x8GroupBytes(nb int) int  { return nb * 176 }
func q41x8GroupBytes(nb int) int { return nb * 160 }
func q51x8GroupBytes(nb int) int { return nb * 192 }

// putLegacyX8 writes row ri's part of one block d of a q5x8/q41x8/q51x8 group: its fp16
// d (and m at 16 when hasM), its 16 nibble bytes qs at nib, and when qh is not nil its
// fifth bits at hb.
func putLegacyX8(d []byte, ri int, dm []byte, hasM bool, qs []byte, nib int, qh []byte, hb int) {
	copy(d[2*ri:2*ri+2], dm[0:2])
	if hasM {
		copy(d[16+2*ri:16+2*ri+2], dm[2:4])
	}
	for v := 0; v < 4; v++ {
		copy(d[nib+32*v+4*ri:nib+32*v+4*ri+4], qs[4*v:4*v+4])
	}
	if qh == nil {
		return
	}
	h := binary.LittleEndian.Uint32(qh)
	for e := 0; e < 4; e++ {
		var b byte
		for v := 0; v < 4; v++ {
			b |= byte(h>>(4*v+e)&1)<<(2*v) | byte(h>>(16+4*v+e)&1)<<(2*v+1)
		}
		d[hb+4*ri+e] = b
	}
}

// repackQ5_0x8Rows repacks Q5_0 rows [r0, r1) into q5x8 (see putLegacyX8).
func repackQ5_0x8Rows(out, src []byte, nb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		for i := 0; i < nb; i++ {
			b := src[(r*nb+i)*22:]
			putLegacyX8(out[(r/8*nb+i)*176:], r%8, b, false, b[6:22], 16, b[2:6], 144)
		}
	}
}

// repackQ4_1x8Rows repacks Q4_1 rows [r0, r1) into q41x8 (see putLegacyX8).
func repackQ4_1x8Rows(out, src []byte, nb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		for i := 0; i < nb; i++ {
			b := src[(r*nb+i)*20:]
			putLegacyX8(out[(r/8*nb+i)*160:], r%8, b, true, b[4:20], 32, nil, 0)
		}
	}
}

// repackQ5_1x8Rows repacks Q5_1 rows [r0, r1) into q51x8 (see putLegacyX8).
func repackQ5_1x8Rows(out, src []byte, nb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		for i := 0; i < nb; i++ {
			b := src[(r*nb+i)*24:]
			putLegacyX8(out[(r/8*nb+i)*192:], r%8, b, true, b[8:24], 32, b[4:8], 160)
		}
	}
}

// repackX8 repacks all rows of src (type dt, nb layout blocks per row) into a new
// buffer in dt's interleaved layout (x8Layouts); the backend repacks in parallel instead.
func repackX8(dt tensor.DType, src []byte, rows, nb int) []byte {
	l := x8Layouts[dt]
	out := make([]byte, (rows+7)/8*l.groupBytes(nb))
	l.rows(out, src, nb, 0, rows)
	return out
}

// q8_1Scales writes each Q8_1 block's d and s (d·Σq) of a (nb blocks) as float32 pairs
// to ds: what the q41x8 and q51x8 kernels take.
func q8_1Scales(a []byte, nb int, ds []float32) {
	for i := 0; i < nb; i++ {
		ds[2*i] = tensor.FP16ToFP32(binary.LittleEndian.Uint16(a[36*i:]))
		ds[2*i+1] = tensor.FP16ToFP32(binary.LittleEndian.Uint16(a[36*i+2:]))
	}
}
