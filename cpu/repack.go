package cpu

import (
	"encoding/binary"
	"math"

	"github.com/inferno-go/inferno/tensor"
)

// Repacked layouts: at load, weights are rewritten so the kernels need no bit juggling:
// into the eight-row interleaved layouts where this build has their kernels (x8.go),
// else, on the portable path, into the row layouts below (q4kr, q6kr), the file's bytes
// for the other types. The original bytes stay in place for get_rows.

// rowLayout is a portable row-by-row layout: its bytes per row of n elements, the
// repack of whole rows into it, and its dot product with the partner activations.
type rowLayout struct {
	rowBytes func(n int) int
	repack   func(out, src []byte) []byte
	dot      func(n int, w, a []byte) float32
}

var rowLayouts = map[tensor.DType]rowLayout{
	tensor.Q4_K: {func(n int) int { return n / 256 * q4krBytes }, repackQ4KTo, dotQ4KR},
	tensor.Q6_K: {func(n int) int { return n / 256 * q6krBytes }, repackQ6KTo, dotQ6KR},
}

const (
	q4krBytes = 152 // d f32, dmin f32, scales[8], mins[8], qs[128]
	q6krBytes = 276 // d f32, scales[16] int8, q[256] in 0..63
)

// kLevels is the super-block type dt's level unpacker (tensor.Codec.KLevels).
func kLevels(dt tensor.DType) func(b []byte, q *[tensor.QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	c, _ := tensor.CodecOf(dt)
	return c.KLevels
}

// repackLevels returns a repack of dt's rows into an eight-row layout of sbBytes per
// group and super-block, through the type's levels (value = d·sc·q, no mins): put writes
// row r's part of super-block s (out's bytes d) from its levels.
func repackLevels(dt tensor.DType, sbBytes int, put func(d []byte, r, s int, dw float32, q *[tensor.QK_K]int32, sc *[16]int32)) func(out, src []byte, nsb, r0, r1 int) {
	levels, bs := kLevels(dt), dt.TypeSize()
	return func(out, src []byte, nsb, r0, r1 int) {
		var q [tensor.QK_K]int32
		var sc, mn [16]int32
		for r := r0; r < r1; r++ {
			g8 := r / 8
			for s := 0; s < nsb; s++ {
				dw, _ := levels(src[(r*nsb+s)*bs:(r*nsb+s+1)*bs], &q, &sc, &mn)
				put(out[(g8*nsb+s)*sbBytes:(g8*nsb+s+1)*sbBytes], r, s, dw, &q, &sc)
			}
		}
	}
}

func putF32(b []byte, f float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(f)) }

func getF32(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

// repackQ4KTo rewrites Q4_K super-blocks (144 bytes) as q4kr (152 bytes) into out.
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

// repackQ6KTo rewrites Q6_K super-blocks (210 bytes) as q6kr (276 bytes) into out.
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

// dotQ4KR is the portable q4kr row dot product of n elements.
func dotQ4KR(n int, w, a []byte) float32 {
	nb := n / 256
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

// dotQ6KR is the portable q6kr row dot product of n elements.
func dotQ6KR(n int, w, a []byte) float32 {
	nb := n / 256
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
