package cpu

import "math"

// sinCosF is glibc's sincosf (2.28 and later, from ARM's optimized routines) as its x86-64
// FMA variant computes it: in float64 from the float32 argument, with a polynomial per
// quadrant and the sums contracted into fused multiply-adds. ggml's RoPE takes cosf
// and sinf of the same angle, which GCC turns into one sincosf call; those results are
// not always correctly rounded, and RoPE's outputs follow them to the last bit.
func sinCosF(y float32) (sin, cos float32) {
	ay := absf32(y)
	x := float64(y)
	switch {
	case ay < float32(math.Pi/4):
		if ay < 0x1p-12 {
			return y, 1
		}
		return sinCosPoly(x, x*x, &sinCosTable[0], 0)
	case ay < 120:
		// the quadrant from 2/π scaled by 2^24 and truncated, then one fused reduction
		n := (int32(x*0x1.45F306DC9C883p+23) + 0x800000) >> 24
		r := math.FMA(-float64(n), 0x1.921FB54442D18p0, x)
		p := &sinCosTable[0]
		if n&2 != 0 {
			p = &sinCosTable[1]
		}
		return sinCosPoly(r*sinCosSign[n&3], r*r, p, n)
	case !math.IsInf(x, 0) && !math.IsNaN(x):
		xi := math.Float32bits(y)
		r, n := sinCosReduceLarge(xi)
		q := n + int32(xi>>31)
		p := &sinCosTable[0]
		if q&2 != 0 {
			p = &sinCosTable[1]
		}
		return sinCosPoly(r*sinCosSign[q&3], r*r, p, n)
	}
	nan := y - y
	return nan, nan
}

// sinCosCoef: cosine polynomial c0..c4, sine polynomial s1..s3 (glibc's __sincosf_table;
// the second entry negates the cosine).
type sinCosCoef struct{ c0, c1, c2, c3, c4, s1, s2, s3 float64 }

var sinCosTable = [2]sinCosCoef{
	{0x1p0, -0x1.ffffffd0c621cp-2, 0x1.55553e1068f19p-5, -0x1.6c087e89a359dp-10, 0x1.99343027bf8c3p-16,
		-0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
	{-0x1p0, 0x1.ffffffd0c621cp-2, -0x1.55553e1068f19p-5, 0x1.6c087e89a359dp-10, -0x1.99343027bf8c3p-16,
		-0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
}

var sinCosSign = [4]float64{1, -1, -1, 1}

// invPio4 is 4/π to 192 bits, eight new bits per entry (glibc's __inv_pio4).
var invPio4 = [24]uint32{
	0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e,
	0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529,
	0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1,
	0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0,
	0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599,
	0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
}

// sinCosPoly evaluates both polynomials on the reduced x (x2 = x²); an odd quadrant
// swaps the results.
func sinCosPoly(x, x2 float64, p *sinCosCoef, n int32) (sin, cos float32) {
	x4 := x2 * x2
	x3 := x2 * x
	c2 := math.FMA(x2, p.c4, p.c3)
	s1 := math.FMA(x2, p.s3, p.s2)
	c1 := math.FMA(x2, p.c1, p.c0)
	x5 := x3 * x2
	x6 := x4 * x2
	s := math.FMA(x3, p.s1, x)
	c := math.FMA(x4, p.c2, c1)
	sv, cv := float32(math.FMA(x5, s1, s)), float32(math.FMA(x6, c2, c))
	if n&1 != 0 {
		return cv, sv
	}
	return sv, cv
}

// sinCosReduceLarge reduces |x| >= 120 (its float32 bits xi) modulo π/2 with the
// 192-bit 4/π: the remainder in radians and the quadrant.
func sinCosReduceLarge(xi uint32) (float64, int32) {
	arr := invPio4[(xi>>26)&15:]
	shift := (xi >> 23) & 7
	m := (xi&0xffffff | 0x800000) << shift
	res0 := uint64(m * arr[0]) // 32-bit product, as the C code's uint32 multiply
	res1 := uint64(m) * uint64(arr[4])
	res2 := uint64(m) * uint64(arr[8])
	res0 = res2>>32 | res0<<32
	res0 += res1
	n := (res0 + 1<<61) >> 62
	res0 -= n << 62
	return float64(int64(res0)) * 0x1.921FB54442D18p-62, int32(n)
}
