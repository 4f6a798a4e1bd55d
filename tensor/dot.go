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

// The reference dot products of the block types are written per type (in the type's
// codec file: unpack a block's integer levels, then one of the block dots below) with
// direct calls, so that the level arrays stay on the stack.

// blockDotQ8_0 is d_w * d_a * Σ q_w·q_a for one block of levels q (scale d) and one
// Q8_0 activation block ab.
func blockDotQ8_0(q *[32]int32, d float32, ab []byte) float32 {
	var sumi int32
	for j := 0; j < 32; j++ {
		sumi += q[j] * int32(int8(ab[2+j]))
	}
	return float32(sumi) * (d * f16(ab))
}

// blockDotQ8_1 is d_w*d_a*Σ q_w·q_a + m_w*s_a for one block of levels q (scale d, min m)
// and one Q8_1 activation block ab, whose s_a is its stored fp16 d·Σq.
func blockDotQ8_1(q *[32]int32, d, m float32, ab []byte) float32 {
	var sumi int32
	for j := 0; j < 32; j++ {
		sumi += q[j] * int32(int8(ab[4+j]))
	}
	return (d*f16(ab))*float32(sumi) + m*f16(ab[2:])
}

// kBlock is one super-block's integer levels, group scales and mins (Codec.KLevels).
type kBlock struct {
	q      [QK_K]int32
	sc, mn [16]int32
}

// dotQ8_K is d_w*d_a*Σ sc·Σ q_w·q_a − dmin_w*d_a*Σ mn·bsum_a for one super-block k and
// one Q8_K activation block ab.
func (k *kBlock) dotQ8_K(d, dmin float32, ab []byte) float32 {
	da := math.Float32frombits(binary.LittleEndian.Uint32(ab))
	var isum, summs int32
	for g := 0; g < 16; g++ {
		var s int32
		for l := 16 * g; l < 16*g+16; l++ {
			s += k.q[l] * int32(int8(ab[4+l]))
		}
		isum += k.sc[g] * s
		summs += k.mn[g] * int32(int16(binary.LittleEndian.Uint16(ab[260+2*g:])))
	}
	return (d*da)*float32(isum) - (dmin*da)*float32(summs)
}
