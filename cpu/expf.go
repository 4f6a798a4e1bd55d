package cpu

import "math"

// ExpF is ggml's vectorized expf (ggml_v_expf, from ARM's optimized routines: at most
// 1.45 ulp + 0.5 error), evaluated per element with the same float32 fused
// multiply-adds. llama.cpp's x86 CPU backend uses it for softmax and SiLU, so using it
// here keeps our activations bit-identical to llama.cpp's instead of 1 ulp away,
// which matters when they are quantized to 8 bits afterwards.
func ExpF(x float32) float32 {
	j, n := expFParts(x)
	if absf32(n) > 192 {
		if n <= 0 {
			return 0
		}
		return float32(math.Inf(1))
	}
	if absf32(n) <= 126 { // 2^n is a normal float32: one rounding, as Ldexp's
		return j * math.Float32frombits(uint32(int32(n)+127)<<23)
	}
	return float32(math.Ldexp(float64(j), int(n)))
}

// expFParts splits ExpF(x) into j·2^n (j near 1, n an integer-valued float32).
func expFParts(x float32) (j, n float32) {
	const r = 0x1.8p23
	z := fma32(x, 0x1.715476p+0, r)
	n = z - r
	b := fnma32(n, 0x1.7f7d1cp-20, fnma32(n, 0x1.62e4p-1, x))
	u := b * b
	j = fma32(
		fma32(fma32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fma32(0x1.555e66p-3, b, 0x1.fffdb6p-2)),
		u,
		fma32(0x1.ffffecp-1, b, 1))
	return j, n
}

// SiLUF is ggml_v_silu: x / (1 + ExpF(-x)).
func SiLUF(x float32) float32 { return x / (1 + ExpF(-x)) }

// fma32 is a*b+c rounded once to float32 (a*b is exact in float64; the float64 sum is
// rounded twice only in ties that cannot occur for these operands' magnitudes in practice).
func fma32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}

// fnma32 is -(a*b)+c.
func fnma32(a, b, c float32) float32 {
	return float32(math.FMA(-float64(a), float64(b), float64(c)))
}

func absf32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// reduceAdd16 sums 16 floats in the order of _mm512_reduce_add_ps (halving tree).
func reduceAdd16(v []float32) float32 {
	var a [8]float32
	for i := 0; i < 8; i++ {
		a[i] = v[i] + v[i+8]
	}
	for i := 0; i < 4; i++ {
		a[i] += a[i+4]
	}
	a[0] += a[2]
	a[1] += a[3]
	return a[0] + a[1]
}

// expSub sets x[i] = ExpF(x[i]-m): eight lanes at a time with AVX2, per element
// elsewhere and for the rare block with a lane outside the fast range.
func (b *Backend) expSub(x []float32, m float32) {
	i := 0
	if useAVX2 && !b.noAsm {
		for i+8 <= len(x) {
			i += expSubAVX2(&x[i], (len(x)-i)&^7, m)
			if i+8 <= len(x) { // the block expSubAVX2 stopped at
				for e := i; e < i+8; e++ {
					x[e] = ExpF(x[e] - m)
				}
				i += 8
			}
		}
	}
	for ; i < len(x); i++ {
		x[i] = ExpF(x[i] - m)
	}
}
