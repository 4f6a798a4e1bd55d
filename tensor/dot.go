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
	c, ok := codecs[t]
	if !ok || c.Dot == nil {
		return 0, false
	}
	return c.Activation, true
}

// QuantizeActivation encodes activations as type t the way llama.cpp's x86 CPU backend
// does at run time (from_float): Q8_0 and Q8_1 round half to even, unlike the reference
// quantizers that write model files.
func QuantizeActivation(t DType, src []float32, dst []byte) error {
	if c, ok := codecs[t]; ok && c.QuantizeAct != nil {
		need, err := t.RowSize(len(src))
		if err != nil {
			return fmt.Errorf("quantize: %w", err)
		}
		if len(dst) < need {
			return fmt.Errorf("quantize: %s: %d elements need %d bytes, have %d", t, len(src), need, len(dst))
		}
		c.QuantizeAct(src, dst[:need])
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
	return codecs[t].Dot(n, w, a), nil
}

// DotFunc returns the unchecked dot product kernel for weights of type t (nil when t has
// none): n elements, w and a long enough. It does not allocate.
func DotFunc(t DType) func(n int, w, a []byte) float32 {
	if c, ok := codecs[t]; ok {
		return c.Dot
	}
	return nil
}

// blockLevels unpacks the 32 integer levels of one 32-element block (with the offset
// removed for the symmetric types) and returns its d and m.
type blockLevels func(b []byte, q *[32]int32) (d, m float32)

// dotQ8_0 is the dot product of a 32-element block type (ts bytes a block) with Q8_0
// activations: sum over blocks of d_w * d_a * sum(q_w * q_a).
func dotQ8_0(levels blockLevels, ts int) func(n int, w, a []byte) float32 {
	return func(n int, w, a []byte) float32 { return dotQ8_0Blocks(levels, ts, n, w, a) }
}

func dotQ8_0Blocks(levels blockLevels, ts, n int, w, a []byte) float32 {
	var q [32]int32
	var sum float32
	for i := 0; i < n/32; i++ {
		dw, _ := levels(w[i*ts:], &q)
		ab := a[i*34:]
		var sumi int32
		for j := 0; j < 32; j++ {
			sumi += q[j] * int32(int8(ab[2+j]))
		}
		sum += float32(sumi) * (dw * f16(ab))
	}
	return sum
}

// dotQ8_1 is the dot product of a 32-element block type (ts bytes a block) with Q8_1
// activations: d_w*d_a*sum(q_w*q_a) + m_w*s_a, where s_a is the block's stored fp16 d*sum(q).
func dotQ8_1(levels blockLevels, ts int) func(n int, w, a []byte) float32 {
	return func(n int, w, a []byte) float32 { return dotQ8_1Blocks(levels, ts, n, w, a) }
}

func dotQ8_1Blocks(levels blockLevels, ts, n int, w, a []byte) float32 {
	var q [32]int32
	var sum float32
	for i := 0; i < n/32; i++ {
		dw, mw := levels(w[i*ts:], &q)
		ab := a[i*36:]
		var sumi int32
		for j := 0; j < 32; j++ {
			sumi += q[j] * int32(int8(ab[4+j]))
		}
		sum += (dw*f16(ab))*float32(sumi) + mw*f16(ab[2:])
	}
	return sum
}

// dotQ8_K is the dot product of a super-block type (ts bytes a block, unpacked by
// levels: a Codec's KLevels) with Q8_K activations: per super-block,
// d_w*d_a*sum(sc*sum(q_w*q_a)) - dmin_w*d_a*sum(mn*bsum_a).
func dotQ8_K(levels func(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32), ts int) func(n int, w, a []byte) float32 {
	return func(n int, w, a []byte) float32 { return dotQ8_KBlocks(levels, ts, n, w, a) }
}

func dotQ8_KBlocks(levels func(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32), ts, n int, w, a []byte) float32 {
	var q [QK_K]int32
	var sc, mn [16]int32
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		d, dmin := levels(w[i*ts:], &q, &sc, &mn)
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
