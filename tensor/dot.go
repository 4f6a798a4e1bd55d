package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Reference dot products: a row of weights of type t against a row of activations in
// the type llama.cpp's CPU backend pairs it with (VecDotType). Each block's integer dot
// product is formed exactly, then scaled in float32, as ggml's vec_dot kernels do; only
// the order of the float additions differs from the SIMD kernels.

// VecDotType is the activation type llama.cpp's CPU backend quantizes to before a
// matrix product with weights of type t (ggml_get_type_traits_cpu(t)->vec_dot_type).
func VecDotType(t DType) (DType, bool) {
	switch t {
	case F32:
		return F32, true
	case F16:
		return F16, true
	case BF16:
		return BF16, true
	case Q4_0, Q5_0, Q8_0, IQ4_NL:
		return Q8_0, true
	case Q4_1, Q5_1:
		return Q8_1, true
	case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS:
		return Q8_K, true
	}
	return 0, false
}

// QuantizeActivation encodes activations as type t the way llama.cpp's x86 CPU backend
// does at run time (from_float): Q8_0 and Q8_1 round half to even, unlike the reference
// quantizers that write model files.
func QuantizeActivation(t DType, src []float32, dst []byte) error {
	switch t {
	case Q8_0:
		QuantizeQ8_0Act(src, dst)
		return nil
	case Q8_1:
		QuantizeQ8_1Act(src, dst)
		return nil
	}
	return Quantize(t, src, dst)
}

// Dot returns the dot product of n weights of type t in w with n activations of
// VecDotType(t) in a.
func Dot(t DType, n int, w, a []byte) (float32, error) {
	vt, ok := VecDotType(t)
	if !ok {
		return 0, fmt.Errorf("dot: type %s has no dot product", t)
	}
	wn, err := t.RowSize(n)
	if err != nil {
		return 0, fmt.Errorf("dot: %w", err)
	}
	an, err := vt.RowSize(n)
	if err != nil {
		return 0, fmt.Errorf("dot: %w", err)
	}
	if len(w) < wn || len(a) < an {
		return 0, fmt.Errorf("dot: %s x %s of %d elements needs %d and %d bytes, have %d and %d", t, vt, n, wn, an, len(w), len(a))
	}
	return DotFunc(t)(n, w, a), nil
}

// DotFunc returns the unchecked dot product kernel for weights of type t (nil when t has
// none): n elements, w and a long enough. It does not allocate.
func DotFunc(t DType) func(n int, w, a []byte) float32 {
	switch t {
	case F32:
		return dotF32
	case F16:
		return dotF16
	case BF16:
		return dotBF16
	case Q4_0, Q5_0, Q8_0, IQ4_NL:
		return func(n int, w, a []byte) float32 { return dotQ8_0(t, n, w, a) }
	case Q4_1, Q5_1:
		return func(n int, w, a []byte) float32 { return dotQ8_1(t, n, w, a) }
	case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS:
		return func(n int, w, a []byte) float32 { return dotQ8_K(t, n, w, a) }
	}
	return nil
}

// Float dot products accumulate in float64, like ggml's ggml_float leftovers; the SIMD
// kernels add float32 partial sums instead, which differs only in the last bits.
func dotF32(n int, w, a []byte) float32 {
	var s float64
	for i := 0; i < n; i++ {
		x := math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:]))
		y := math.Float32frombits(binary.LittleEndian.Uint32(a[4*i:]))
		s += float64(x * y)
	}
	return float32(s)
}

func dotF16(n int, w, a []byte) float32 {
	var s float64
	for i := 0; i < n; i++ {
		s += float64(f16(w[2*i:]) * f16(a[2*i:]))
	}
	return float32(s)
}

func dotBF16(n int, w, a []byte) float32 {
	var s float64
	for i := 0; i < n; i++ {
		x := BF16ToFP32(binary.LittleEndian.Uint16(w[2*i:]))
		y := BF16ToFP32(binary.LittleEndian.Uint16(a[2*i:]))
		s += float64(x * y)
	}
	return float32(s)
}

// legacyInts unpacks the 32 integer levels of one Q4_0/Q5_0/Q8_0/IQ4_NL/Q4_1/Q5_1 block
// (with the offset removed for the symmetric types) and returns its d and m.
func legacyInts(t DType, b []byte, q *[32]int32) (d, m float32) {
	switch t {
	case Q4_0:
		for j := 0; j < 16; j++ {
			q[j], q[j+16] = int32(b[2+j]&0xf)-8, int32(b[2+j]>>4)-8
		}
		return f16(b), 0
	case IQ4_NL:
		for j := 0; j < 16; j++ {
			q[j], q[j+16] = int32(kvaluesIQ4NL[b[2+j]&0xf]), int32(kvaluesIQ4NL[b[2+j]>>4])
		}
		return f16(b), 0
	case Q8_0:
		for j := 0; j < 32; j++ {
			q[j] = int32(int8(b[2+j]))
		}
		return f16(b), 0
	case Q5_0:
		qh := binary.LittleEndian.Uint32(b[2:])
		for j := 0; j < 16; j++ {
			q[j] = int32(b[6+j]&0xf|uint8((qh>>j)<<4)&0x10) - 16
			q[j+16] = int32(b[6+j]>>4|uint8(qh>>(j+12))&0x10) - 16
		}
		return f16(b), 0
	case Q4_1:
		for j := 0; j < 16; j++ {
			q[j], q[j+16] = int32(b[4+j]&0xf), int32(b[4+j]>>4)
		}
		return f16(b), f16(b[2:])
	case Q5_1:
		qh := binary.LittleEndian.Uint32(b[4:])
		for j := 0; j < 16; j++ {
			q[j] = int32(b[8+j]&0xf | uint8((qh>>j)<<4)&0x10)
			q[j+16] = int32(b[8+j]>>4 | uint8(qh>>(j+12))&0x10)
		}
		return f16(b), f16(b[2:])
	}
	panic("legacyInts: " + t.String())
}

// dotQ8_0: sum over blocks of d_w * d_a * sum(q_w * q_a).
func dotQ8_0(t DType, n int, w, a []byte) float32 {
	ts := t.TypeSize()
	var q [32]int32
	var sum float32
	for i := 0; i < n/32; i++ {
		dw, _ := legacyInts(t, w[i*ts:], &q)
		ab := a[i*34:]
		var sumi int32
		for j := 0; j < 32; j++ {
			sumi += q[j] * int32(int8(ab[2+j]))
		}
		sum += float32(sumi) * (dw * f16(ab))
	}
	return sum
}

// dotQ8_1: d_w*d_a*sum(q_w*q_a) + m_w*s_a, where s_a is the block's stored fp16 d*sum(q).
func dotQ8_1(t DType, n int, w, a []byte) float32 {
	ts := t.TypeSize()
	var q [32]int32
	var sum float32
	for i := 0; i < n/32; i++ {
		dw, mw := legacyInts(t, w[i*ts:], &q)
		ab := a[i*36:]
		var sumi int32
		for j := 0; j < 32; j++ {
			sumi += q[j] * int32(int8(ab[4+j]))
		}
		sum += (dw*f16(ab))*float32(sumi) + mw*f16(ab[2:])
	}
	return sum
}

// kInts unpacks one K-quant (or IQ4_XS) super-block into signed integer levels, the
// integer scale of each 16-element group (sub-blocks of 32 repeat their scale), the
// integer min of each group (0 for symmetric types), and the float d and dmin.
func kInts(t DType, b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	for k := range mn {
		mn[k] = 0
	}
	switch t {
	case Q2_K:
		qs := b[16:80]
		for j := 0; j < QK_K; j += 128 {
			for l := 0; l < 32; l++ {
				for s := 0; s < 4; s++ {
					q[j+l+32*s] = int32((qs[j/4+l] >> (2 * s)) & 3)
				}
			}
		}
		for k := 0; k < 16; k++ {
			sc[k], mn[k] = int32(b[k]&0xf), int32(b[k]>>4)
		}
		return f16(b[80:]), f16(b[82:])
	case Q3_K:
		hm, qs := b[0:32], b[32:96]
		for j := 0; j < QK_K; j += 128 {
			for l := 0; l < 32; l++ {
				for s := 0; s < 4; s++ {
					v := int32((qs[j/4+l] >> (2 * s)) & 3)
					if hm[l]&(1<<(j/128*4+s)) == 0 {
						v -= 4
					}
					q[j+l+32*s] = v
				}
			}
		}
		s := unpackQ3Scales(b[96:108])
		for k := 0; k < 16; k++ {
			sc[k] = int32(s[k])
		}
		return f16(b[108:]), 0
	case Q4_K, Q5_K:
		scales := b[4:16]
		for j := 0; j < 8; j++ {
			s, m := getScaleMinK4(j, scales)
			sc[2*j], sc[2*j+1] = int32(s), int32(s)
			mn[2*j], mn[2*j+1] = int32(m), int32(m)
		}
		if t == Q4_K {
			qs := b[16:144]
			for j := 0; j < QK_K; j += 64 {
				for l := 0; l < 32; l++ {
					q[j+l], q[j+32+l] = int32(qs[j/2+l]&0xf), int32(qs[j/2+l]>>4)
				}
			}
		} else {
			qh, qs := b[16:48], b[48:176]
			for j, u := 0, uint(0); j < QK_K; j, u = j+64, u+2 {
				for l := 0; l < 32; l++ {
					q[j+l] = int32(qs[j/2+l]&0xf) | int32((qh[l]>>u)&1)<<4
					q[j+32+l] = int32(qs[j/2+l]>>4) | int32((qh[l]>>(u+1))&1)<<4
				}
			}
		}
		return f16(b), f16(b[2:])
	case Q6_K:
		ql, qh := b[0:128], b[128:192]
		for n := 0; n < QK_K; n += 128 {
			for l := 0; l < 32; l++ {
				q[n+l] = int32(ql[n/2+l]&0xf|((qh[n/4+l]>>0)&3)<<4) - 32
				q[n+l+32] = int32(ql[n/2+l+32]&0xf|((qh[n/4+l]>>2)&3)<<4) - 32
				q[n+l+64] = int32(ql[n/2+l]>>4|((qh[n/4+l]>>4)&3)<<4) - 32
				q[n+l+96] = int32(ql[n/2+l+32]>>4|((qh[n/4+l]>>6)&3)<<4) - 32
			}
		}
		for k := 0; k < 16; k++ {
			sc[k] = int32(int8(b[192+k]))
		}
		return f16(b[208:]), 0
	case IQ4_XS:
		sh := binary.LittleEndian.Uint16(b[2:])
		sl, qs := b[4:8], b[8:136]
		for ib := 0; ib < 8; ib++ {
			ls := int32((sl[ib/2]>>(4*(ib%2)))&0xf) | int32((sh>>(2*ib))&3)<<4
			sc[2*ib], sc[2*ib+1] = ls-32, ls-32
			for j := 0; j < 16; j++ {
				q[32*ib+j] = int32(kvaluesIQ4NL[qs[16*ib+j]&0xf])
				q[32*ib+j+16] = int32(kvaluesIQ4NL[qs[16*ib+j]>>4])
			}
		}
		return f16(b), 0
	}
	panic("kInts: " + t.String())
}

// dotQ8_K: per super-block, d_w*d_a*sum(sc*sum(q_w*q_a)) - dmin_w*d_a*sum(mn*bsum_a).
func dotQ8_K(t DType, n int, w, a []byte) float32 {
	ts := t.TypeSize()
	var q [QK_K]int32
	var sc, mn [16]int32
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		d, dmin := kInts(t, w[i*ts:], &q, &sc, &mn)
		ab := a[i*292:]
		da := math.Float32frombits(binary.LittleEndian.Uint32(ab))
		var isum, summs int32
		for g := 0; g < 16; g++ {
			var s int32
			for l := 16 * g; l < 16*g+16; l++ {
				s += q[l] * int32(int8(ab[4+l]))
			}
			isum += sc[g] * s
			summs += mn[g] * int32(int16(binary.LittleEndian.Uint16(ab[260+2*g:])))
		}
		sum += (d*da)*float32(isum) - (dmin*da)*float32(summs)
	}
	return sum
}

// KLevels unpacks one K-quant or IQ4_XS super-block of type t (Q2_K, Q3_K, Q4_K, Q5_K,
// Q6_K, IQ4_XS) into its 256 signed integer levels, the integer scale and min of each
// 16-element group (sub-blocks of 32 repeat theirs; mins are 0 for symmetric types),
// and the float d and dmin: value = d·sc·q − dmin·mn. For repacking into other layouts.
func KLevels(t DType, b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	return kInts(t, b, q, sc, mn)
}
