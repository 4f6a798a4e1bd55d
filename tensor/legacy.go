package tensor

import (
	"encoding/binary"
	"math"
)

// The "legacy" 32-element block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and the
// activation type Q8_1. Layouts follow ggml-common.h; fp16 fields are little-endian.

func init() {
	register(Codec{Type: Q4_0, Dequantize: DequantizeQ4_0, Quantize: QuantizeQ4_0, QuantizeWeighted: weightedRows(Q4_0, quantizeRowQ4_0W),
		Activation: Q8_0, Dot: dotQ4_0, FileType: 2})
	register(Codec{Type: Q4_1, Dequantize: DequantizeQ4_1, Quantize: QuantizeQ4_1, QuantizeWeighted: weightedRows(Q4_1, quantizeRowQ4_1W),
		Activation: Q8_1, Dot: dotQ4_1, FileType: 3})
	register(Codec{Type: Q5_0, Dequantize: DequantizeQ5_0, Quantize: QuantizeQ5_0, QuantizeWeighted: weightedRows(Q5_0, quantizeRowQ5_0W),
		Activation: Q8_0, Dot: dotQ5_0, FileType: 8})
	register(Codec{Type: Q5_1, Dequantize: DequantizeQ5_1, Quantize: QuantizeQ5_1, QuantizeWeighted: weightedRows(Q5_1, quantizeRowQ5_1W),
		Activation: Q8_1, Dot: dotQ5_1, FileType: 9})
	register(Codec{Type: Q8_0, Dequantize: DequantizeQ8_0, Quantize: QuantizeQ8_0, QuantizeAct: QuantizeQ8_0Act,
		Activation: Q8_0, Dot: dotQ8_0, FileType: 7})
	register(Codec{Type: Q8_1, Dequantize: DequantizeQ8_1, Quantize: QuantizeQ8_1, QuantizeAct: QuantizeQ8_1Act, FileType: -1})
}

// The reference dot products: each block's integer levels against the activations'.

func dotQ4_0(n int, w, a []byte) float32 {
	var q [32]int32
	var sum float32
	for i := 0; i < n/32; i++ {
		d, _ := q4_0Levels(w[i*18:], &q)
		sum += blockDotQ8_0(&q, d, a[i*34:])
	}
	return sum
}

func dotQ5_0(n int, w, a []byte) float32 {
	var q [32]int32
	var sum float32
	for i := 0; i < n/32; i++ {
		d, _ := q5_0Levels(w[i*22:], &q)
		sum += blockDotQ8_0(&q, d, a[i*34:])
	}
	return sum
}

func dotQ8_0(n int, w, a []byte) float32 {
	var q [32]int32
	var sum float32
	for i := 0; i < n/32; i++ {
		d, _ := q8_0Levels(w[i*34:], &q)
		sum += blockDotQ8_0(&q, d, a[i*34:])
	}
	return sum
}

func dotQ4_1(n int, w, a []byte) float32 {
	var q [32]int32
	var sum float32
	for i := 0; i < n/32; i++ {
		d, m := q4_1Levels(w[i*20:], &q)
		sum += blockDotQ8_1(&q, d, m, a[i*36:])
	}
	return sum
}

func dotQ5_1(n int, w, a []byte) float32 {
	var q [32]int32
	var sum float32
	for i := 0; i < n/32; i++ {
		d, m := q5_1Levels(w[i*24:], &q)
		sum += blockDotQ8_1(&q, d, m, a[i*36:])
	}
	return sum
}

func q4_0Levels(b []byte, q *[32]int32) (d, m float32) {
	for j := 0; j < 16; j++ {
		q[j], q[j+16] = int32(b[2+j]&0xf)-8, int32(b[2+j]>>4)-8
	}
	return f16(b), 0
}

func q8_0Levels(b []byte, q *[32]int32) (d, m float32) {
	for j := 0; j < 32; j++ {
		q[j] = int32(int8(b[2+j]))
	}
	return f16(b), 0
}

func q5_0Levels(b []byte, q *[32]int32) (d, m float32) {
	qh := binary.LittleEndian.Uint32(b[2:])
	for j := 0; j < 16; j++ {
		q[j] = int32(b[6+j]&0xf|uint8((qh>>j)<<4)&0x10) - 16
		q[j+16] = int32(b[6+j]>>4|uint8(qh>>(j+12))&0x10) - 16
	}
	return f16(b), 0
}

func q4_1Levels(b []byte, q *[32]int32) (d, m float32) {
	for j := 0; j < 16; j++ {
		q[j], q[j+16] = int32(b[4+j]&0xf), int32(b[4+j]>>4)
	}
	return f16(b), f16(b[2:])
}

func q5_1Levels(b []byte, q *[32]int32) (d, m float32) {
	qh := binary.LittleEndian.Uint32(b[4:])
	for j := 0; j < 16; j++ {
		q[j] = int32(b[8+j]&0xf | uint8((qh>>j)<<4)&0x10)
		q[j+16] = int32(b[8+j]>>4 | uint8(qh>>(j+12))&0x10)
	}
	return f16(b), f16(b[2:])
}

func f16(b []byte) float32 { return FP16ToFP32(binary.LittleEndian.Uint16(b)) }

func putF16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, FP32ToFP16(f)) }

func absf(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// roundf rounds half away from zero, like C's roundf.
func roundf(x float32) float32 { return float32(math.Round(float64(x))) }

// roundEven rounds half to even, like _mm256_round_ps(_MM_ROUND_NEAREST).
func roundEven(x float32) float32 { return float32(math.RoundToEven(float64(x))) }

// DequantizeQ4_0: x = d * (q - 8); low nibbles hold elements 0..15, high nibbles 16..31.
func DequantizeQ4_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*18 : i*18+18]
		d := f16(b)
		for j := 0; j < 16; j++ {
			dst[i*32+j] = float32(int(b[2+j]&0x0f)-8) * d
			dst[i*32+j+16] = float32(int(b[2+j]>>4)-8) * d
		}
	}
}

// QuantizeQ4_0 is quantize_row_q4_0_ref: d = max/-8 where max is the value of largest magnitude.
func QuantizeQ4_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*18 : i*18+18]
		var amax, max float32
		for _, v := range x {
			if amax < absf(v) {
				amax, max = absf(v), v
			}
		}
		d := max / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(b, d)
		for j := 0; j < 16; j++ {
			x0 := float32(x[j] * id)
			x1 := float32(x[16+j] * id)
			xi0 := min(15, int(int8(x0+8.5)))
			xi1 := min(15, int(int8(x1+8.5)))
			b[2+j] = uint8(xi0) | uint8(xi1)<<4
		}
	}
}

// DequantizeQ4_1: x = d*q + m.
func DequantizeQ4_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*20 : i*20+20]
		d, m := f16(b), f16(b[2:])
		for j := 0; j < 16; j++ {
			dst[i*32+j] = float32(b[4+j]&0x0f)*d + m
			dst[i*32+j+16] = float32(b[4+j]>>4)*d + m
		}
	}
}

func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

// QuantizeQ4_1 is quantize_row_q4_1_ref.
func QuantizeQ4_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*20 : i*20+20]
		lo, hi := minMax(x)
		d := (hi - lo) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(b, d)
		putF16(b[2:], lo)
		for j := 0; j < 16; j++ {
			x0 := float32((x[j] - lo) * id)
			x1 := float32((x[16+j] - lo) * id)
			xi0 := min(15, int(int8(x0+0.5)))
			xi1 := min(15, int(int8(x1+0.5)))
			b[4+j] = uint8(xi0) | uint8(xi1)<<4
		}
	}
}

// DequantizeQ5_0: x = d * (q - 16); bit 4 of element j is bit j of qh.
func DequantizeQ5_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*22 : i*22+22]
		d := f16(b)
		qh := binary.LittleEndian.Uint32(b[2:])
		for j := 0; j < 16; j++ {
			h0 := uint8((qh>>j)<<4) & 0x10
			h1 := uint8(qh>>(j+12)) & 0x10
			dst[i*32+j] = float32(int(b[6+j]&0x0f|h0)-16) * d
			dst[i*32+j+16] = float32(int(b[6+j]>>4|h1)-16) * d
		}
	}
}

// QuantizeQ5_0 is quantize_row_q5_0_ref.
func QuantizeQ5_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*22 : i*22+22]
		var amax, max float32
		for _, v := range x {
			if amax < absf(v) {
				amax, max = absf(v), v
			}
		}
		d := max / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(b, d)
		var qh uint32
		for j := 0; j < 16; j++ {
			x0 := float32(x[j] * id)
			x1 := float32(x[16+j] * id)
			xi0 := uint8(min(31, int(int8(x0+16.5))))
			xi1 := uint8(min(31, int(int8(x1+16.5))))
			b[6+j] = xi0&0x0f | (xi1&0x0f)<<4
			qh |= uint32(xi0&0x10) >> 4 << j
			qh |= uint32(xi1&0x10) >> 4 << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[2:], qh)
	}
}

// DequantizeQ5_1: x = d*q + m with 5-bit q.
func DequantizeQ5_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*24 : i*24+24]
		d, m := f16(b), f16(b[2:])
		qh := binary.LittleEndian.Uint32(b[4:])
		for j := 0; j < 16; j++ {
			h0 := uint8((qh>>j)<<4) & 0x10
			h1 := uint8(qh>>(j+12)) & 0x10
			dst[i*32+j] = float32(b[8+j]&0x0f|h0)*d + m
			dst[i*32+j+16] = float32(b[8+j]>>4|h1)*d + m
		}
	}
}

// QuantizeQ5_1 is quantize_row_q5_1_ref.
func QuantizeQ5_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*24 : i*24+24]
		lo, hi := minMax(x)
		d := (hi - lo) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(b, d)
		putF16(b[2:], lo)
		var qh uint32
		for j := 0; j < 16; j++ {
			x0 := float32((x[j] - lo) * id)
			x1 := float32((x[16+j] - lo) * id)
			xi0 := uint8(x0 + 0.5)
			xi1 := uint8(x1 + 0.5)
			b[8+j] = xi0&0x0f | (xi1&0x0f)<<4
			qh |= uint32(xi0&0x10) >> 4 << j
			qh |= uint32(xi1&0x10) >> 4 << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[4:], qh)
	}
}

// The importance-weighted quantizers (quantize_row_q4_0_impl ... q5_1_impl): each
// element's weight is its column's importance times sqrt(sigma2 + x²), sigma2 the mean
// of x² over the whole row; the symmetric types search the scale with make_qx_quants,
// the ones with a minimum with make_qkx3_quants.

// legacyWeights fills w for the 32-element block at column col of row x.
func legacyWeights(w *[32]float32, x []float32, col int, qw []float32, sigma2 float32) {
	for j := range w {
		v := x[col+j]
		w[j] = float32(qw[col+j] * float32(math.Sqrt(float64(sigma2+float32(v*v)))))
	}
}

func rowSigma2(x []float32) float32 {
	var sum float32
	for _, v := range x {
		sum += float32(v * v)
	}
	return sum / float32(len(x))
}

func quantizeRowQ4_0W(dst []byte, x, qw []float32) {
	var w [32]float32
	var L [32]int8
	sigma2 := rowSigma2(x)
	for ib := 0; ib < len(x)/32; ib++ {
		legacyWeights(&w, x, 32*ib, qw, sigma2)
		d := makeQXQuantsW(x[32*ib:32*ib+32], 8, L[:], 1, w[:])
		b := dst[ib*18 : ib*18+18]
		putF16(b, d)
		for j := 0; j < 16; j++ {
			b[2+j] = uint8(L[j]) | uint8(L[j+16])<<4
		}
	}
}

func quantizeRowQ4_1W(dst []byte, x, qw []float32) {
	var w [32]float32
	var L, Laux [32]uint8
	sigma2 := rowSigma2(x)
	for ib := 0; ib < len(x)/32; ib++ {
		legacyWeights(&w, x, 32*ib, qw, sigma2)
		d, m := makeQKX3Quants(x[32*ib:32*ib+32], w[:], 15, L[:], Laux[:], -0.9, 0.05, 36, false)
		b := dst[ib*20 : ib*20+20]
		putF16(b, d)
		putF16(b[2:], -m)
		for j := 0; j < 16; j++ {
			b[4+j] = L[j] | L[j+16]<<4
		}
	}
}

// packQ5 stores 32 five-bit levels as low nibbles in qs and fifth bits in qh.
func packQ5(qs []byte, L *[32]uint8) (qh uint32) {
	for j := 0; j < 16; j++ {
		xi0, xi1 := L[j], L[j+16]
		qs[j] = xi0&0x0f | (xi1&0x0f)<<4
		qh |= uint32(xi0&0x10) >> 4 << j
		qh |= uint32(xi1&0x10) >> 4 << (j + 16)
	}
	return qh
}

func quantizeRowQ5_0W(dst []byte, x, qw []float32) {
	var w [32]float32
	var L [32]int8
	var Lu [32]uint8
	sigma2 := rowSigma2(x)
	for ib := 0; ib < len(x)/32; ib++ {
		legacyWeights(&w, x, 32*ib, qw, sigma2)
		d := makeQXQuantsW(x[32*ib:32*ib+32], 16, L[:], 1, w[:])
		b := dst[ib*22 : ib*22+22]
		putF16(b, d)
		for j := range L {
			Lu[j] = uint8(L[j])
		}
		binary.LittleEndian.PutUint32(b[2:], packQ5(b[6:22], &Lu))
	}
}

func quantizeRowQ5_1W(dst []byte, x, qw []float32) {
	var w [32]float32
	var L, Laux [32]uint8
	sigma2 := rowSigma2(x)
	for ib := 0; ib < len(x)/32; ib++ {
		legacyWeights(&w, x, 32*ib, qw, sigma2)
		d, m := makeQKX3Quants(x[32*ib:32*ib+32], w[:], 31, L[:], Laux[:], -0.9, 0.05, 36, false)
		b := dst[ib*24 : ib*24+24]
		putF16(b, d)
		putF16(b[2:], -m)
		binary.LittleEndian.PutUint32(b[4:], packQ5(b[8:24], &L))
	}
}

// DequantizeQ8_0: x = d * q.
func DequantizeQ8_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*34 : i*34+34]
		d := f16(b)
		for j := 0; j < 32; j++ {
			dst[i*32+j] = float32(int8(b[2+j])) * d
		}
	}
}

func amaxOf(x []float32) float32 {
	var amax float32
	for _, v := range x {
		amax = max(amax, absf(v))
	}
	return amax
}

// QuantizeQ8_0 is quantize_row_q8_0_ref (what llama-quantize writes): id = 1/(amax/127),
// rounding half away from zero.
func QuantizeQ8_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*34 : i*34+34]
		d := amaxOf(x) / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(b, d)
		for j, v := range x {
			b[2+j] = uint8(int8(roundf(v * id)))
		}
	}
}

// QuantizeQ8_0Act is the run-time activation quantizer of llama.cpp's x86 CPU backend
// (quantize_row_q8_0, AVX path): id = 127/amax and round half to even. It differs from
// QuantizeQ8_0 only on exact ties.
func QuantizeQ8_0Act(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*34 : i*34+34]
		amax := amaxOf(x)
		d := amax / 127
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		putF16(b, d)
		for j, v := range x {
			b[2+j] = uint8(int8(roundEven(v * id)))
		}
	}
}

// DequantizeQ8_1: x = d * q (s, the rounded d*sum(q), is only used by dot products).
func DequantizeQ8_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*36 : i*36+36]
		d := f16(b)
		for j := 0; j < 32; j++ {
			dst[i*32+j] = float32(int8(b[4+j])) * d
		}
	}
}

// QuantizeQ8_1 is quantize_row_q8_1_ref: like Q8_0 plus s = fp16(d * sum(q)).
func QuantizeQ8_1(src []float32, dst []byte) { quantizeQ8_1(src, dst, false) }

// QuantizeQ8_1Act is the x86 run-time activation quantizer (round half to even).
func QuantizeQ8_1Act(src []float32, dst []byte) { quantizeQ8_1(src, dst, true) }

func quantizeQ8_1(src []float32, dst []byte, act bool) {
	for i := 0; i < len(src)/32; i++ {
		x := src[i*32 : i*32+32]
		b := dst[i*36 : i*36+36]
		amax := amaxOf(x)
		d := amax / 127
		var id float32
		if act {
			if amax != 0 {
				id = 127 / amax
			}
		} else if d != 0 {
			id = 1 / d
		}
		putF16(b, d)
		sum := 0
		for j, v := range x {
			var q int8
			if act {
				q = int8(roundEven(v * id))
			} else {
				q = int8(roundf(v * id))
			}
			b[4+j] = uint8(q)
			sum += int(q)
		}
		putF16(b[2:], float32(sum)*d)
	}
}
