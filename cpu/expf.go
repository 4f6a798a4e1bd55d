package cpu

import "math"

// ExpF is ggml's vectorized expf as llama.cpp's AVX2 build has it (ggml_v_expf, from
// ARM's optimized routines: at most 1.45 ulp + 0.5 error), evaluated per element with
// the same float32 fused multiply-adds: 2^n·(1+j) rounded once, as fma(j, 2^n, 2^n).
// (The AVX-512 build rounds 1+j first, so its results differ in the last bit; the
// references that must match to the last digit were made by an AVX2 build.) llama.cpp's
// x86 CPU backend uses it for softmax and SiLU; matching it keeps our activations
// bit-identical instead of 1 ulp away, which matters when they are quantized afterwards.
func ExpF(x float32) float32 {
	j, n := expFParts(x)
	pow2 := func(e int32) float32 { return math.Float32frombits(uint32(e+127) << 23) }
	switch {
	case absf32(n) <= 126:
		k := pow2(int32(n))
		return fma32(j, k, k)
	case absf32(n) > 192:
		if n > 0 {
			return float32(math.Inf(1))
		}
		return 0
	case n > 0: // 2^n as 2^(n-127)·2^127
		s := pow2(int32(n) - 127)
		return fma32(s, j, s) * pow2(127)
	}
	s := pow2(int32(n) + 125) // 2^n as 2^(n+125)·2^-125: the product rounds to a subnormal
	return fma32(s, j, s) * pow2(-125)
}

// expFParts splits ExpF(x) into 2^n·(1+j) (j near 0, n an integer-valued float32).
func expFParts(x float32) (j, n float32) {
	const r = 0x1.8p23
	z := fma32(x, 0x1.715476p+0, r)
	n = z - r
	b := fnma32(n, 0x1.7f7d1cp-20, fnma32(n, 0x1.62e4p-1, x))
	u := b * b
	j = fma32(
		fma32(fma32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fma32(0x1.555e66p-3, b, 0x1.fffdb6p-2)),
		u,
		0x1.ffffecp-1*b)
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

// hsum8 adds eight lanes in the order of ggml's AVX2 hsum_float_8 and tinyBLAS's hsum:
// ((x0+x4) + (x2+x6)) + ((x1+x5) + (x3+x7)).
func hsum8(a *[8]float32) float32 {
	return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
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
