package tensor

import "math"

// lanes8 is the float accumulator of ggml's AVX2 q8_K dot products for the types whose
// reference dot reproduces that kernel's float additions (IQ3_XXS, IQ3_S, TQ1_0, TQ2_0):
// eight float32 lanes, lane L taking, in every super-block, the integer sum of the
// products at activation positions p with p mod 32 in [4L, 4L+4) (the 32-bit lanes of
// _mm256_madd_epi16), and finally ggml's hsum_float_8. The integer sums are exact in
// any order, so only the lane assignment and the float steps matter.
type lanes8 [8]float32

// lane is the accumulator lane of activation position p of a super-block.
func lane(p int) int { return p % 32 / 4 }

// levelsDotFMA adds one super-block of signed levels and group scales (k.q, k.sc) times
// the Q8_K block ab to acc: lane L's Σ sc·q·a, then acc += fma(d·d_a, sum) — the AVX2
// kernels of IQ3_XXS and IQ3_S (d is the block's f16 scale).
func (k *kBlock) levelsDotFMA(acc *lanes8, d float32, ab []byte) {
	var sums [8]int32
	for p, q := range k.q {
		sums[lane(p)] += k.sc[p/16] * q * int32(int8(ab[4+p]))
	}
	acc.fma(d*f32le(ab), &sums)
}

// fma adds d·float(sums[L]) to each lane in one rounding (_mm256_fmadd_ps).
func (a *lanes8) fma(d float32, sums *[8]int32) {
	for l := range a {
		a[l] = fmaf32(d, float32(sums[l]), a[l])
	}
}

// hsum is hsum_float_8: the upper four lanes onto the lower, then pairs, then the two.
func (a *lanes8) hsum() float32 {
	r0, r1, r2, r3 := a[4]+a[0], a[5]+a[1], a[6]+a[2], a[7]+a[3]
	return (r0 + r2) + (r1 + r3)
}

// fmaf32 is x·y + z rounded once to float32, as the FMA instructions do. The product of
// two float32 values is exact in float64; math.FMA rounds the sum to float64 and the
// TwoSum error e says which way the true value lies when that rounding lands exactly
// half-way between two float32 values (the only case where rounding twice differs).
func fmaf32(x, y, z float32) float32 {
	p := float64(x) * float64(y)
	s := p + float64(z)
	t := s - p
	e := (p - (s - t)) + (float64(z) - t)
	f := float32(s)
	if e == 0 || math.IsInf(s, 0) || math.IsNaN(s) {
		return f
	}
	lo, hi := f, f
	if float64(f) > s {
		lo = math.Nextafter32(f, float32(math.Inf(-1)))
	} else {
		hi = math.Nextafter32(f, float32(math.Inf(1)))
	}
	if mid := float64(lo) + (float64(hi)-float64(lo))/2; mid != s {
		return f
	}
	if e > 0 {
		return hi
	}
	return lo
}
