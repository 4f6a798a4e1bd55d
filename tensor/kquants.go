package tensor

import (
	"encoding/binary"
	"math"
)

// K-quants: 256-element super-blocks of 16 or 32-element sub-blocks whose scales are
// themselves quantized. The quantizers are llama.cpp's quantize_row_*_K_ref, which is
// what llama-quantize runs without an importance matrix; with one, quantizeRow*_KW are
// their quantize_row_*_K_impl.

const groupMaxEps = 1e-15

func init() {
	register(Codec{Type: Q2_K, Dequantize: DequantizeQ2_K, Quantize: QuantizeQ2_K,
		QuantizeWeighted: weightedRows(Q2_K, quantizeRowQ2_KW), Activation: Q8_K, Dot: dotQ2_K,
		KLevels: q2KLevels, FileType: 10, Fallback: IQ4_NL})
	register(Codec{Type: Q3_K, Dequantize: DequantizeQ3_K, Quantize: QuantizeQ3_K,
		QuantizeWeighted: weightedRows(Q3_K, quantizeRowQ3_KW), Activation: Q8_K, Dot: dotQ3_K,
		KLevels: q3KLevels, FileType: -1, Fallback: IQ4_NL}) // files: the mixes Q3_K_S/M/L (package quant)
	register(Codec{Type: Q4_K, Dequantize: DequantizeQ4_K, Quantize: QuantizeQ4_K,
		QuantizeWeighted: weightedRows(Q4_K, quantizeRowQ4_KW), Activation: Q8_K, Dot: dotQ4_K,
		KLevels: q4KLevels, FileType: -1, Fallback: Q5_0}) // Q4_K_S/M
	register(Codec{Type: Q5_K, Dequantize: DequantizeQ5_K, Quantize: QuantizeQ5_K,
		QuantizeWeighted: weightedRows(Q5_K, quantizeRowQ5_KW), Activation: Q8_K, Dot: dotQ5_K,
		KLevels: q5KLevels, FileType: -1, Fallback: Q5_1}) // Q5_K_S/M
	register(Codec{Type: Q6_K, Dequantize: DequantizeQ6_K, Quantize: QuantizeQ6_K,
		QuantizeWeighted: weightedRows(Q6_K, quantizeRowQ6_KW), Activation: Q8_K, Dot: dotQ6_K,
		KLevels: q6KLevels, FileType: 18, Fallback: Q8_0})
	register(Codec{Type: Q8_K, Dequantize: DequantizeQ8_K, Quantize: QuantizeQ8_K, FileType: -1})
}

// The reference dot products: each super-block's levels against the activations'.

func dotQ2_K(n int, w, a []byte) float32 {
	var k kBlock
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		d, dmin := q2KLevels(w[i*84:], &k.q, &k.sc, &k.mn)
		sum += k.dotQ8_K(d, dmin, a[i*292:])
	}
	return sum
}

func dotQ3_K(n int, w, a []byte) float32 {
	var k kBlock
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		d, dmin := q3KLevels(w[i*110:], &k.q, &k.sc, &k.mn)
		sum += k.dotQ8_K(d, dmin, a[i*292:])
	}
	return sum
}

func dotQ4_K(n int, w, a []byte) float32 {
	var k kBlock
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		d, dmin := q4KLevels(w[i*144:], &k.q, &k.sc, &k.mn)
		sum += k.dotQ8_K(d, dmin, a[i*292:])
	}
	return sum
}

func dotQ5_K(n int, w, a []byte) float32 {
	var k kBlock
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		d, dmin := q5KLevels(w[i*176:], &k.q, &k.sc, &k.mn)
		sum += k.dotQ8_K(d, dmin, a[i*292:])
	}
	return sum
}

func dotQ6_K(n int, w, a []byte) float32 {
	var k kBlock
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		d, dmin := q6KLevels(w[i*210:], &k.q, &k.sc, &k.mn)
		sum += k.dotQ8_K(d, dmin, a[i*292:])
	}
	return sum
}

// The super-blocks' integer levels (Codec.KLevels).

func q2KLevels(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
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
}

func q3KLevels(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
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
		sc[k], mn[k] = int32(s[k]), 0
	}
	return f16(b[108:]), 0
}

// q45KScales unpacks the eight 6-bit scales and mins of a Q4_K or Q5_K super-block
// into its sixteen 16-element groups.
func q45KScales(b []byte, sc, mn *[16]int32) {
	for j := 0; j < 8; j++ {
		s, m := getScaleMinK4(j, b[4:16])
		sc[2*j], sc[2*j+1] = int32(s), int32(s)
		mn[2*j], mn[2*j+1] = int32(m), int32(m)
	}
}

func q4KLevels(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	q45KScales(b, sc, mn)
	qs := b[16:144]
	for j := 0; j < QK_K; j += 64 {
		for l := 0; l < 32; l++ {
			q[j+l], q[j+32+l] = int32(qs[j/2+l]&0xf), int32(qs[j/2+l]>>4)
		}
	}
	return f16(b), f16(b[2:])
}

func q5KLevels(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	q45KScales(b, sc, mn)
	qh, qs := b[16:48], b[48:176]
	for j, u := 0, uint(0); j < QK_K; j, u = j+64, u+2 {
		for l := 0; l < 32; l++ {
			q[j+l] = int32(qs[j/2+l]&0xf) | int32((qh[l]>>u)&1)<<4
			q[j+32+l] = int32(qs[j/2+l]>>4) | int32((qh[l]>>(u+1))&1)<<4
		}
	}
	return f16(b), f16(b[2:])
}

func q6KLevels(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
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
		sc[k], mn[k] = int32(int8(b[192+k])), 0
	}
	return f16(b[208:]), 0
}

// nearestInt rounds half to even through the 1.5*2^23 trick ggml uses; |x| <= 4194303.
func nearestInt(x float32) int {
	v := float32(x) + 12582912 // the conversion keeps arm64 from fusing the caller's product into this add
	return int(math.Float32bits(v)&0x007fffff) - 0x00400000
}

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

// makeQXQuants is make_qx_quants with a nil quant-weight vector.
func makeQXQuants(x []float32, nmax int, L []int8, rmseType int) float32 {
	return makeQXQuantsW(x, nmax, L, rmseType, nil)
}

// makeQXQuantsW is make_qx_quants: signed levels in [-nmax, nmax-1], stored offset by
// nmax, and the scale that minimizes the weighted squared error over 19 candidate
// scales. qw, when not nil, replaces the weights rmseType would derive from x.
func makeQXQuantsW(x []float32, nmax int, L []int8, rmseType int, qw []float32) float32 {
	n := len(x)
	var max, amax float32
	for _, v := range x {
		if ax := absf(v); ax > amax {
			amax, max = ax, v
		}
	}
	if amax < groupMaxEps {
		for i := range L[:n] {
			L[i] = 0
		}
		return 0
	}
	iscale := float32(-nmax) / max
	if rmseType == 0 {
		for i, v := range x {
			L[i] = int8(nmax + clampInt(nearestInt(iscale*v), -nmax, nmax-1))
		}
		return 1 / iscale
	}
	returnEarly := false
	if rmseType < 0 {
		rmseType, returnEarly = -rmseType, true
	}
	weight := func(i int) float32 {
		v := x[i]
		switch {
		case qw != nil:
			return qw[i]
		case rmseType == 1:
			return v * v
		case rmseType == 2:
			return 1
		case rmseType == 3:
			return absf(v)
		}
		return float32(math.Sqrt(float64(absf(v))))
	}
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampInt(nearestInt(iscale*v), -nmax, nmax-1)
		L[i] = int8(l + nmax)
		w := weight(i)
		sumlx += float32(w * v * float32(l))
		suml2 += float32(w * float32(l) * float32(l))
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	if returnEarly {
		if suml2 > 0 {
			return 0.5 * (scale + 1/iscale)
		}
		return 1 / iscale
	}
	best := scale * sumlx
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / max
		sumlx, suml2 = 0, 0
		for i, v := range x {
			l := clampInt(nearestInt(iscale*v), -nmax, nmax-1)
			w := weight(i)
			sumlx += float32(w * v * float32(l))
			suml2 += float32(w * float32(l) * float32(l))
		}
		if suml2 > 0 && sumlx*sumlx > best*suml2 {
			for i, v := range x {
				L[i] = int8(nmax + clampInt(nearestInt(iscale*v), -nmax, nmax-1))
			}
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// makeQ3Quants is make_q3_quants: signed levels in [-nmax, nmax-1], stored offset by nmax.
func makeQ3Quants(x []float32, nmax int, L []int8, doRMSE bool) float32 {
	var max, amax float32
	for _, v := range x {
		if ax := absf(v); ax > amax {
			amax, max = ax, v
		}
	}
	if amax < groupMaxEps {
		for i := range x {
			L[i] = 0
		}
		return 0
	}
	iscale := float32(-nmax) / max
	if doRMSE {
		var sumlx, suml2 float32
		for i, v := range x {
			l := clampInt(nearestInt(iscale*v), -nmax, nmax-1)
			L[i] = int8(l)
			w := v * v
			sumlx += float32(w * v * float32(l))
			suml2 += float32(w * float32(l) * float32(l))
		}
		for itry := 0; itry < 5; itry++ {
			changed := 0
			for i, v := range x {
				w := v * v
				li := float32(L[i])
				slx := sumlx - float32(w*v*li)
				if slx > 0 {
					sl2 := suml2 - float32(w*li*li)
					newL := clampInt(nearestInt(v*sl2/slx), -nmax, nmax-1)
					if newL != int(L[i]) {
						slx += float32(w * v * float32(newL))
						sl2 += float32(w * float32(newL) * float32(newL))
						if sl2 > 0 && slx*slx*suml2 > sumlx*sumlx*sl2 {
							L[i] = int8(newL)
							sumlx, suml2 = slx, sl2
							changed++
						}
					}
				}
			}
			if changed == 0 {
				break
			}
		}
		for i := range x {
			L[i] += int8(nmax)
		}
		return sumlx / suml2
	}
	for i, v := range x {
		L[i] = int8(clampInt(nearestInt(iscale*v), -nmax, nmax-1) + nmax)
	}
	return 1 / iscale
}

// makeQKX2Quants is make_qkx2_quants: an asymmetric (scale, min) search over nstep+1
// candidate scales, minimizing the weighted |error| (useMAD) or squared error.
func makeQKX2Quants(x, weights []float32, nmax int, L, Laux []uint8, rmin, rdelta float32, nstep int, useMAD bool) (scale, theMin float32) {
	n := len(x)
	lo, hi := x[0], x[0]
	sumW := weights[0]
	sumX := sumW * x[0]
	for i := 1; i < n; i++ {
		if x[i] < lo {
			lo = x[i]
		}
		if x[i] > hi {
			hi = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi == lo {
		for i := range x {
			L[i] = 0
		}
		return 0, -lo
	}
	iscale := float32(nmax) / (hi - lo)
	scale = 1 / iscale
	var bestMAD float32
	for i, v := range x {
		l := nearestInt(iscale * (v - lo))
		L[i] = uint8(clampInt(l, 0, nmax))
		diff := float32(scale*float32(L[i])) + lo - v
		if useMAD {
			diff = absf(diff)
		} else {
			diff = diff * diff
		}
		bestMAD += float32(weights[i] * diff)
	}
	if nstep < 1 {
		return scale, -lo
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + float32(nmax)) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := clampInt(nearestInt(iscale*(v-lo)), 0, nmax)
			Laux[i] = uint8(l)
			w := weights[i]
			fl := float32(l)
			sumL += float32(w * fl)
			sumL2 += float32(w * fl * fl)
			sumXL += float32(w * fl * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var mad float32
			for i, v := range x {
				diff := float32(thisScale*float32(Laux[i])) + thisMin - v
				if useMAD {
					diff = absf(diff)
				} else {
					diff = diff * diff
				}
				mad += float32(weights[i] * diff)
			}
			if mad < bestMAD {
				copy(L[:n], Laux[:n])
				bestMAD = mad
				scale = thisScale
				lo = thisMin
			}
		}
	}
	return scale, -lo
}

// makeQKX3Quants is make_qkx3_quants, the importance-weighted (scale, min) search of
// the K-quants and Q4_1/Q5_1: nstep+1 candidate scales, the weighted least-squares
// scale and min for each, the min clamped to <= 0. weights nil: x².
func makeQKX3Quants(x, weights []float32, nmax int, L, Laux []uint8, rmin, rdelta float32, nstep int, useMAD bool) (scale, theMin float32) {
	n := len(x)
	w := func(i int) float32 {
		if weights != nil {
			return weights[i]
		}
		return x[i] * x[i]
	}
	lo, hi := x[0], x[0]
	sumW := w(0)
	sumX := sumW * x[0]
	for i := 1; i < n; i++ {
		if x[i] < lo {
			lo = x[i]
		}
		if x[i] > hi {
			hi = x[i]
		}
		wi := w(i)
		sumW += wi
		sumX += float32(wi * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi <= lo {
		for i := range L[:n] {
			L[i] = 0
		}
		return 0, -lo
	}
	iscale := float32(nmax) / (hi - lo)
	scale = 1 / iscale
	var bestMAD float32
	for i, v := range x {
		L[i] = uint8(clampInt(nearestInt(iscale*(v-lo)), 0, nmax))
		diff := float32(scale*float32(L[i])) + lo - v
		if useMAD {
			diff = absf(diff)
		} else {
			diff = diff * diff
		}
		bestMAD += float32(w(i) * diff)
	}
	if nstep < 1 {
		return scale, -lo
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + float32(nmax)) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := clampInt(nearestInt(iscale*(v-lo)), 0, nmax)
			Laux[i] = uint8(l)
			wi := w(i)
			fl := float32(l)
			sumL += float32(wi * fl)
			sumL2 += float32(wi * fl * fl)
			sumXL += float32(wi * fl * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var mad float32
			for i, v := range x {
				diff := float32(thisScale*float32(Laux[i])) + thisMin - v
				if useMAD {
					diff = absf(diff)
				} else {
					diff = diff * diff
				}
				mad += float32(w(i) * diff)
			}
			if mad < bestMAD {
				copy(L[:n], Laux[:n])
				bestMAD = mad
				scale = thisScale
				lo = thisMin
			}
		}
	}
	return scale, -lo
}

// makeQPQuants is make_qp_quants: non-negative levels in [0, nmax] for non-negative
// x (the sub-block scales and mins of Q2_K, Q4_K, Q5_K), a weighted scale search and
// then five rounds of moving single levels while that lowers the weighted error.
// Levels are stored as ggml's uint8_t array stores them (modulo 256).
func makeQPQuants(x []float32, nmax int, L []uint8, qw []float32) float32 {
	var max float32
	for _, v := range x {
		if !(max > v) {
			max = v
		}
	}
	if max == 0 {
		for i := range x {
			L[i] = 0
		}
		return 0
	}
	iscale := float32(nmax) / max
	for i, v := range x {
		L[i] = uint8(nearestInt(iscale * v))
	}
	scale := 1 / iscale
	var bestMSE float32
	for i, v := range x {
		diff := v - float32(scale*float32(L[i]))
		bestMSE += float32(qw[i] * diff * diff)
	}
	for is := -4; is <= 4; is++ {
		if is == 0 {
			continue
		}
		iscaleIs := (float32(0.1*float32(is)) + float32(nmax)) / max
		scaleIs := 1 / iscaleIs
		var mse float32
		for i, v := range x {
			l := min(nmax, nearestInt(iscaleIs*v))
			diff := v - float32(scaleIs*float32(l))
			mse += float32(qw[i] * diff * diff)
		}
		if mse < bestMSE {
			bestMSE = mse
			iscale = iscaleIs
		}
	}
	var sumlx, suml2 float32
	for i, v := range x {
		l := min(nmax, nearestInt(iscale*v))
		L[i] = uint8(l)
		w := qw[i]
		sumlx += float32(w * v * float32(l))
		suml2 += float32(w * float32(l) * float32(l))
	}
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i, v := range x {
			w := qw[i]
			li := float32(L[i])
			slx := sumlx - float32(w*v*li)
			sl2 := suml2 - float32(w*li*li)
			if slx > 0 && sl2 > 0 {
				newL := min(nmax, nearestInt(v*sl2/slx))
				if newL != int(L[i]) {
					slx += float32(w * v * float32(newL))
					sl2 += float32(w * float32(newL) * float32(newL))
					if slx*slx*suml2 > sumlx*sumlx*sl2 {
						L[i] = uint8(newL)
						sumlx, suml2 = slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	return sumlx / suml2
}

// ScaleMinK4 unpacks the 6-bit scale and min of sub-block j from a Q4_K/Q5_K block's
// 12 scale bytes.
func ScaleMinK4(j int, q []byte) (d, m uint8) { return getScaleMinK4(j, q) }

// getScaleMinK4 unpacks the 6-bit scale and min of sub-block j from the 12-byte Q4_K/Q5_K scales.
func getScaleMinK4(j int, q []byte) (d, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// ---- Q2_K: scales[16] qs[64] d dmin (84 bytes)

// DequantizeQ2_K: x = d*sc*q - dmin*m, 16 sub-blocks of 16.
func DequantizeQ2_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*84 : i*84+84]
		sc, q := b[0:16], b[16:80]
		d, dmin := f16(b[80:]), f16(b[82:])
		y := dst[i*QK_K:]
		is, k := 0, 0
		for n := 0; n < QK_K; n += 128 {
			for shift := uint(0); shift < 8; shift += 2 {
				for half := 0; half < 2; half++ {
					s := sc[is]
					is++
					dl, ml := d*float32(s&0xf), dmin*float32(s>>4)
					for l := 0; l < 16; l++ {
						y[k] = dl*float32((q[l+16*half]>>shift)&3) - ml
						k++
					}
				}
			}
			q = q[32:]
		}
	}
}

// QuantizeQ2_K is quantize_row_q2_K_ref.
func QuantizeQ2_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	var Laux [16]uint8
	var weights [16]float32
	var mins, scales [QK_K / 16]float32
	const q4scale = 15
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : i*QK_K+QK_K]
		b := dst[i*84 : i*84+84]
		var maxScale, maxMin float32
		for j := 0; j < QK_K/16; j++ {
			for l := 0; l < 16; l++ {
				weights[l] = absf(x[16*j+l])
			}
			scales[j], mins[j] = makeQKX2Quants(x[16*j:16*j+16], weights[:], 3, L[16*j:], Laux[:], -0.5, 0.1, 15, true)
			maxScale = max(maxScale, scales[j])
			maxMin = max(maxMin, mins[j])
		}
		if maxScale > 0 {
			iscale := q4scale / maxScale
			for j := 0; j < QK_K/16; j++ {
				b[j] = uint8(nearestInt(iscale * scales[j]))
			}
			putF16(b[80:], maxScale/q4scale)
		} else {
			for j := 0; j < QK_K/16; j++ {
				b[j] = 0
			}
			putF16(b[80:], 0)
		}
		if maxMin > 0 {
			iscale := q4scale / maxMin
			for j := 0; j < QK_K/16; j++ {
				b[j] |= uint8(nearestInt(iscale*mins[j])) << 4
			}
			putF16(b[82:], maxMin/q4scale)
		} else {
			putF16(b[82:], 0)
		}
		dAll, mAll := f16(b[80:]), f16(b[82:])
		for j := 0; j < QK_K/16; j++ {
			d := dAll * float32(b[j]&0xf)
			if d == 0 {
				continue
			}
			dm := float32(mAll * float32(b[j]>>4))
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = uint8(clampInt(nearestInt((x[16*j+ii]+dm)/d), 0, 3))
			}
		}
		packQ2(b[16:80], L[:])
	}
}

// packQ2 stores 256 2-bit values: byte j/4+l of each 128-half holds elements l, l+32, l+64, l+96.
func packQ2(qs []byte, L []uint8) {
	for j := 0; j < QK_K; j += 128 {
		for l := 0; l < 32; l++ {
			qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}

// quantizeRowQ2_KW is quantize_row_q2_K_impl: per 16-element sub-block, weights
// qw·sqrt(sigma2 + x²) (sigma2 the super-block's mean x²), make_qkx3_quants for the
// levels, make_qp_quants for the 4-bit scales and mins, then requantization.
func quantizeRowQ2_KW(dst []byte, src, qw []float32) {
	var L [QK_K]uint8
	var Laux [16]uint8
	var Ls, Lm [QK_K / 16]uint8
	var weight [16]float32
	var sw, mins, scales [QK_K / 16]float32
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : i*QK_K+QK_K]
		b := dst[i*84 : i*84+84]
		var sumX2 float32
		for _, v := range x {
			sumX2 += float32(v * v)
		}
		sigma2 := float32(sumX2 / QK_K)
		for j := 0; j < QK_K/16; j++ {
			sw[j] = 0
			for l := 0; l < 16; l++ {
				v := x[16*j+l]
				weight[l] = float32(qw[i*QK_K+16*j+l] * float32(math.Sqrt(float64(sigma2+float32(v*v)))))
			}
			for l := 0; l < 16; l++ {
				sw[j] += weight[l]
			}
			scales[j], mins[j] = makeQKX3Quants(x[16*j:16*j+16], weight[:], 3, L[16*j:], Laux[:], -0.9, 0.05, 36, false)
		}
		dm := makeQPQuants(scales[:], 15, Ls[:], sw[:])
		mm := makeQPQuants(mins[:], 15, Lm[:], sw[:])
		putF16(b[80:], dm)
		putF16(b[82:], mm)
		dm, mm = f16(b[80:]), f16(b[82:])
		for j := 0; j < QK_K/16; j++ {
			b[j] = Ls[j] | Lm[j]<<4
		}
		for j := 0; j < QK_K/16; j++ {
			d := dm * float32(b[j]&0xf)
			if d == 0 {
				continue
			}
			m := float32(mm * float32(b[j]>>4))
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = uint8(clampInt(nearestInt((x[16*j+ii]+m)/d), 0, 3))
			}
		}
		packQ2(b[16:80], L[:])
	}
}

// ---- Q3_K: hmask[32] qs[64] scales[12] d (110 bytes)

// unpackQ3Scales expands the 12 packed bytes into 16 signed 6-bit scales (already minus 32).
func unpackQ3Scales(s []byte) [16]int8 {
	var aux [4]uint32
	for k := 0; k < 3; k++ {
		aux[k] = binary.LittleEndian.Uint32(s[4*k:])
	}
	const kmask1, kmask2 = 0x03030303, 0x0f0f0f0f
	tmp := aux[2]
	aux[2] = (aux[0]>>4)&kmask2 | ((tmp>>4)&kmask1)<<4
	aux[3] = (aux[1]>>4)&kmask2 | ((tmp>>6)&kmask1)<<4
	aux[0] = aux[0]&kmask2 | ((tmp>>0)&kmask1)<<4
	aux[1] = aux[1]&kmask2 | ((tmp>>2)&kmask1)<<4
	var out [16]int8
	for k := 0; k < 16; k++ {
		out[k] = int8(uint8(aux[k/4]>>(8*(k%4)))) - 32
	}
	return out
}

// DequantizeQ3_K: x = d*sc*(q - 4 if the hmask bit is clear).
func DequantizeQ3_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*110 : i*110+110]
		hm, q := b[0:32], b[32:96]
		sc := unpackQ3Scales(b[96:108])
		dAll := f16(b[108:])
		y := dst[i*QK_K:]
		is, k := 0, 0
		m := uint8(1)
		for n := 0; n < QK_K; n += 128 {
			for shift := uint(0); shift < 8; shift += 2 {
				for half := 0; half < 2; half++ {
					dl := dAll * float32(sc[is])
					is++
					for l := 16 * half; l < 16*half+16; l++ {
						v := int((q[l] >> shift) & 3)
						if hm[l]&m == 0 {
							v -= 4
						}
						y[k] = dl * float32(v)
						k++
					}
				}
				m <<= 1
			}
			q = q[32:]
		}
	}
}

// QuantizeQ3_K is quantize_row_q3_K_ref.
func QuantizeQ3_K(src []float32, dst []byte) {
	var L [QK_K]int8
	var scales [QK_K / 16]float32
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : i*QK_K+QK_K]
		b := dst[i*110 : i*110+110]
		var maxScale, amax float32
		for j := 0; j < QK_K/16; j++ {
			scales[j] = makeQ3Quants(x[16*j:16*j+16], 4, L[16*j:], true)
			if s := absf(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}
		sb := b[96:108]
		for k := range sb {
			sb[k] = 0
		}
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < QK_K/16; j++ {
				l := int8(nearestInt(iscale * scales[j]))
				l = int8(clampInt(int(l), -32, 31) + 32)
				if j < 8 {
					sb[j] = uint8(l) & 0xf
				} else {
					sb[j-8] |= (uint8(l) & 0xf) << 4
				}
				l >>= 4
				sb[j%4+8] |= uint8(l) << (2 * (j / 4))
			}
			putF16(b[108:], 1/iscale)
		} else {
			putF16(b[108:], 0)
		}
		q3KRequantPack(x, b, &L)
	}
}

// q3KRequantPack requantizes x with the block's packed scales and d (as both
// quantize_row_q3_K_ref and _impl end) and packs the levels into hmask and qs.
func q3KRequantPack(x []float32, b []byte, L *[QK_K]int8) {
	sb := b[96:108]
	dAll := f16(b[108:])
	for j := 0; j < QK_K/16; j++ {
		var sc uint8
		if j < 8 {
			sc = sb[j] & 0xf
		} else {
			sc = sb[j-8] >> 4
		}
		sc = sc | ((sb[8+j%4]>>(2*(j/4)))&3)<<4
		d := dAll * float32(int(int8(sc))-32)
		if d == 0 {
			continue
		}
		for ii := 0; ii < 16; ii++ {
			L[16*j+ii] = int8(clampInt(nearestInt(x[16*j+ii]/d), -4, 3) + 4)
		}
	}
	hmask := b[0:32]
	for k := range hmask {
		hmask[k] = 0
	}
	m, hmb := 0, uint8(1)
	for j := 0; j < QK_K; j++ {
		if L[j] > 3 {
			hmask[m] |= hmb
			L[j] -= 4
		}
		if m++; m == QK_K/8 {
			m, hmb = 0, hmb<<1
		}
	}
	var Lu [QK_K]uint8
	for k := range L {
		Lu[k] = uint8(L[k])
	}
	packQ2(b[32:96], Lu[:])
}

// quantizeRowQ3_KW is quantize_row_q3_K_impl with importance weights: per 16-element
// sub-block, weights qw·sqrt(sigma2 + x²) (sigma2 twice the super-block's mean x²) in
// make_qx_quants, then make_qx_quants again for the 6-bit scales, weighted by each
// sub-block's weight sum.
func quantizeRowQ3_KW(dst []byte, src, qw []float32) {
	var L [QK_K]int8
	var Ls [QK_K / 16]int8
	var weight [16]float32
	var sw, scales [QK_K / 16]float32
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : i*QK_K+QK_K]
		b := dst[i*110 : i*110+110]
		var sumX2 float32
		for _, v := range x {
			sumX2 += float32(v * v)
		}
		sigma2 := float32(2 * sumX2 / QK_K)
		for j := 0; j < QK_K/16; j++ {
			var sumw float32
			for l := 0; l < 16; l++ {
				v := x[16*j+l]
				weight[l] = float32(qw[i*QK_K+16*j+l] * float32(math.Sqrt(float64(sigma2+float32(v*v)))))
			}
			for l := 0; l < 16; l++ {
				sumw += weight[l]
			}
			sw[j] = sumw
			scales[j] = makeQXQuantsW(x[16*j:16*j+16], 4, L[16*j:], 1, weight[:])
		}
		sb := b[96:108]
		for k := range sb {
			sb[k] = 0
		}
		dBlock := makeQXQuantsW(scales[:], 32, Ls[:], 1, sw[:])
		for j := 0; j < QK_K/16; j++ {
			l := uint8(Ls[j])
			if j < 8 {
				sb[j] = l & 0xf
			} else {
				sb[j-8] |= (l & 0xf) << 4
			}
			l >>= 4
			sb[j%4+8] |= l << (2 * (j / 4))
		}
		putF16(b[108:], dBlock)
		q3KRequantPack(x, b, &L)
	}
}

// ---- Q4_K: d dmin scales[12] qs[128] (144 bytes)

// DequantizeQ4_K: x = d*sc*q - dmin*m, 8 sub-blocks of 32.
func DequantizeQ4_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*144 : i*144+144]
		d, dmin := f16(b), f16(b[2:])
		scales, q := b[4:16], b[16:144]
		y := dst[i*QK_K:]
		for j, is := 0, 0; j < QK_K; j, is = j+64, is+2 {
			sc, m := getScaleMinK4(is, scales)
			d1, m1 := d*float32(sc), dmin*float32(m)
			sc, m = getScaleMinK4(is+1, scales)
			d2, m2 := d*float32(sc), dmin*float32(m)
			for l := 0; l < 32; l++ {
				y[j+l] = d1*float32(q[l]&0xf) - m1
				y[j+32+l] = d2*float32(q[l]>>4) - m2
			}
			q = q[32:]
		}
	}
}

// quantizeK4Scales runs the per-sub-block search shared by Q4_K and Q5_K and packs the
// 6-bit scales and mins; it returns the levels in L.
func quantizeKScales(x []float32, b []byte, L []uint8, nmax int, rmin, rdelta float32, nstep int) {
	var Laux [32]uint8
	var weights [32]float32
	var mins, scales [QK_K / 32]float32
	var maxScale, maxMin float32
	for j := 0; j < QK_K/32; j++ {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for l, v := range xs {
			weights[l] = avX + absf(v)
		}
		scales[j], mins[j] = makeQKX2Quants(xs, weights[:], nmax, L[32*j:], Laux[:], rmin, rdelta, nstep, false)
		maxScale = max(maxScale, scales[j])
		maxMin = max(maxMin, mins[j])
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sb := b[4:16]
	for j := 0; j < QK_K/32; j++ {
		ls := min(63, uint8(nearestInt(invScale*scales[j])))
		lm := min(63, uint8(nearestInt(invMin*mins[j])))
		if j < 4 {
			sb[j] = ls
			sb[j+4] = lm
		} else {
			sb[j+4] = ls&0xf | (lm&0xf)<<4
			sb[j-4] |= (ls >> 4) << 6
			sb[j] |= (lm >> 4) << 6
		}
	}
	putF16(b, maxScale/63)
	putF16(b[2:], maxMin/63)
	q45KRequant(x, b, L, nmax)
}

// q45KRequant requantizes x with a Q4_K/Q5_K block's packed scales, mins, d and dmin
// (as both quantize_row_q4_K_ref and _impl end); sub-blocks of scale 0 keep their levels.
func q45KRequant(x []float32, b []byte, L []uint8, nmax int) {
	d0, m0 := f16(b), f16(b[2:])
	for j := 0; j < QK_K/32; j++ {
		sc, m := getScaleMinK4(j, b[4:16])
		d := d0 * float32(sc)
		if d == 0 {
			continue
		}
		dm := float32(m0 * float32(m))
		for ii := 0; ii < 32; ii++ {
			L[32*j+ii] = uint8(clampInt(nearestInt((x[32*j+ii]+dm)/d), 0, nmax))
		}
	}
}

// q45KWeightedScales is the scale search of quantize_row_q4_K_impl and q5_K_impl:
// per 32-element sub-block, weights qw·sqrt(sigma2 + x²) with sigma2 twice the
// super-block's mean x², make_qkx3_quants for the levels, then make_qp_quants for
// the 6-bit scales and mins, weighted by each sub-block's weight sum. clamp63 is
// q5_K's MIN(63, ...) on the packed values, which q4_K lacks.
func q45KWeightedScales(x, qw []float32, b []byte, L []uint8, nmax int, clamp63 bool) {
	var Laux [32]uint8
	var Ls, Lm [QK_K / 32]uint8
	var weights [32]float32
	var sw, mins, scales [QK_K / 32]float32
	var sumX2 float32
	for _, v := range x[:QK_K] {
		sumX2 += float32(v * v)
	}
	sigma2 := float32(2 * sumX2 / QK_K)
	for j := 0; j < QK_K/32; j++ {
		var sumw float32
		for l := 0; l < 32; l++ {
			v := x[32*j+l]
			weights[l] = float32(qw[32*j+l] * float32(math.Sqrt(float64(sigma2+float32(v*v)))))
			sumw += weights[l]
		}
		sw[j] = sumw
		scales[j], mins[j] = makeQKX3Quants(x[32*j:32*j+32], weights[:], nmax, L[32*j:], Laux[:], -0.9, 0.05, 36, false)
	}
	dBlock := makeQPQuants(scales[:], 63, Ls[:], sw[:])
	mBlock := makeQPQuants(mins[:], 63, Lm[:], sw[:])
	sb := b[4:16]
	for j := 0; j < QK_K/32; j++ {
		ls, lm := Ls[j], Lm[j]
		if clamp63 {
			ls, lm = min(63, ls), min(63, lm)
		}
		if j < 4 {
			sb[j] = ls
			sb[j+4] = lm
		} else {
			sb[j+4] = ls&0xf | (lm&0xf)<<4
			sb[j-4] |= (ls >> 4) << 6
			sb[j] |= (lm >> 4) << 6
		}
	}
	putF16(b, dBlock)
	putF16(b[2:], mBlock)
	q45KRequant(x, b, L, nmax)
}

// QuantizeQ4_K is quantize_row_q4_K_ref.
func QuantizeQ4_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : i*QK_K+QK_K]
		b := dst[i*144 : i*144+144]
		quantizeKScales(x, b, L[:], 15, -1, 0.1, 20)
		packQ4K(b, &L)
	}
}

func packQ4K(b []byte, L *[QK_K]uint8) {
	q := b[16:144]
	for j := 0; j < QK_K; j += 64 {
		for l := 0; l < 32; l++ {
			q[l] = L[j+l] | L[j+l+32]<<4
		}
		q = q[32:]
	}
}

// quantizeRowQ4_KW is quantize_row_q4_K_impl with importance weights.
func quantizeRowQ4_KW(dst []byte, src, qw []float32) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/QK_K; i++ {
		b := dst[i*144 : i*144+144]
		q45KWeightedScales(src[i*QK_K:i*QK_K+QK_K], qw[i*QK_K:], b, L[:], 15, false)
		packQ4K(b, &L)
	}
}

// ---- Q5_K: d dmin scales[12] qh[32] qs[128] (176 bytes)

// DequantizeQ5_K: as Q4_K with a fifth bit from qh.
func DequantizeQ5_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*176 : i*176+176]
		d, dmin := f16(b), f16(b[2:])
		scales, qh, ql := b[4:16], b[16:48], b[48:176]
		y := dst[i*QK_K:]
		u1, u2 := uint8(1), uint8(2)
		for j, is := 0, 0; j < QK_K; j, is = j+64, is+2 {
			sc, m := getScaleMinK4(is, scales)
			d1, m1 := d*float32(sc), dmin*float32(m)
			sc, m = getScaleMinK4(is+1, scales)
			d2, m2 := d*float32(sc), dmin*float32(m)
			for l := 0; l < 32; l++ {
				h1, h2 := 0, 0
				if qh[l]&u1 != 0 {
					h1 = 16
				}
				if qh[l]&u2 != 0 {
					h2 = 16
				}
				y[j+l] = d1*float32(int(ql[l]&0xf)+h1) - m1
				y[j+32+l] = d2*float32(int(ql[l]>>4)+h2) - m2
			}
			ql = ql[32:]
			u1 <<= 2
			u2 <<= 2
		}
	}
}

// QuantizeQ5_K is quantize_row_q5_K_ref.
func QuantizeQ5_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : i*QK_K+QK_K]
		b := dst[i*176 : i*176+176]
		quantizeKScales(x, b, L[:], 31, -0.5, 0.1, 15)
		packQ5K(b, &L)
	}
}

func packQ5K(b []byte, L *[QK_K]uint8) {
	qh, ql := b[16:48], b[48:176]
	for k := range qh {
		qh[k] = 0
	}
	m1, m2 := uint8(1), uint8(2)
	for n := 0; n < QK_K; n += 64 {
		for j := 0; j < 32; j++ {
			l1, l2 := L[n+j], L[n+j+32]
			if l1 > 15 {
				l1 -= 16
				qh[j] |= m1
			}
			if l2 > 15 {
				l2 -= 16
				qh[j] |= m2
			}
			ql[j] = l1 | l2<<4
		}
		m1 <<= 2
		m2 <<= 2
		ql = ql[32:]
	}
}

// quantizeRowQ5_KW is quantize_row_q5_K_impl with importance weights.
func quantizeRowQ5_KW(dst []byte, src, qw []float32) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/QK_K; i++ {
		b := dst[i*176 : i*176+176]
		q45KWeightedScales(src[i*QK_K:i*QK_K+QK_K], qw[i*QK_K:], b, L[:], 31, true)
		packQ5K(b, &L)
	}
}

// ---- Q6_K: ql[128] qh[64] scales[16] (int8) d (210 bytes)

// DequantizeQ6_K: x = d*sc*(q - 32) with 6-bit q.
func DequantizeQ6_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*210 : i*210+210]
		ql, qh, sc := b[0:128], b[128:192], b[192:208]
		d := f16(b[208:])
		y := dst[i*QK_K:]
		for n := 0; n < QK_K; n += 128 {
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int(ql[l]&0xf|((qh[l]>>0)&3)<<4) - 32
				q2 := int(ql[l+32]&0xf|((qh[l]>>2)&3)<<4) - 32
				q3 := int(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
				q4 := int(ql[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
				y[n+l] = d * float32(int8(sc[is])) * float32(q1)
				y[n+l+32] = d * float32(int8(sc[is+2])) * float32(q2)
				y[n+l+64] = d * float32(int8(sc[is+4])) * float32(q3)
				y[n+l+96] = d * float32(int8(sc[is+6])) * float32(q4)
			}
			ql, qh, sc = ql[64:], qh[32:], sc[8:]
		}
	}
}

// QuantizeQ6_K is quantize_row_q6_K_ref.
func QuantizeQ6_K(src []float32, dst []byte) { quantizeQ6_K(dst, src, nil) }

// quantizeRowQ6_KW is quantize_row_q6_K_impl with importance weights: the same
// algorithm with the column weights themselves in make_qx_quants.
func quantizeRowQ6_KW(dst []byte, src, qw []float32) { quantizeQ6_K(dst, src, qw) }

func quantizeQ6_K(dst []byte, src, qw []float32) {
	var L [QK_K]int8
	var scales [QK_K / 16]float32
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : i*QK_K+QK_K]
		b := dst[i*210 : i*210+210]
		var maxScale, maxAbsScale float32
		for ib := 0; ib < QK_K/16; ib++ {
			var w []float32
			if qw != nil {
				w = qw[i*QK_K+16*ib : i*QK_K+16*ib+16]
			}
			s := makeQXQuantsW(x[16*ib:16*ib+16], 32, L[16*ib:], 1, w)
			scales[ib] = s
			if as := absf(s); as > maxAbsScale {
				maxAbsScale, maxScale = as, s
			}
		}
		if maxAbsScale < groupMaxEps {
			for k := range b {
				b[k] = 0
			}
			continue
		}
		iscale := -128 / maxScale
		putF16(b[208:], 1/iscale)
		sc := b[192:208]
		for ib := 0; ib < QK_K/16; ib++ {
			sc[ib] = uint8(int8(min(127, nearestInt(iscale*scales[ib]))))
		}
		d0 := f16(b[208:])
		for j := 0; j < QK_K/16; j++ {
			d := d0 * float32(int8(sc[j]))
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = int8(clampInt(nearestInt(x[16*j+ii]/d), -32, 31) + 32)
			}
		}
		ql, qh := b[0:128], b[128:192]
		for j := 0; j < QK_K; j += 128 {
			for l := 0; l < 32; l++ {
				q1 := uint8(L[j+l]) & 0xf
				q2 := uint8(L[j+l+32]) & 0xf
				q3 := uint8(L[j+l+64]) & 0xf
				q4 := uint8(L[j+l+96]) & 0xf
				ql[l] = q1 | q3<<4
				ql[l+32] = q2 | q4<<4
				qh[l] = uint8(L[j+l])>>4 | (uint8(L[j+l+32])>>4)<<2 | (uint8(L[j+l+64])>>4)<<4 | (uint8(L[j+l+96])>>4)<<6
			}
			ql, qh = ql[64:], qh[32:]
		}
	}
}

// ---- Q8_K: d (float32) qs[256] bsums[16] (int16) (292 bytes); activations only.

// DequantizeQ8_K: x = d * q.
func DequantizeQ8_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*292 : i*292+292]
		d := math.Float32frombits(binary.LittleEndian.Uint32(b))
		for j := 0; j < QK_K; j++ {
			dst[i*QK_K+j] = d * float32(int8(b[4+j]))
		}
	}
}

// QuantizeQ8_K is quantize_row_q8_K_ref (also what the x86 CPU backend runs for activations).
func QuantizeQ8_K(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[i*QK_K : i*QK_K+QK_K]
		b := dst[i*292 : i*292+292]
		var max, amax float32
		for _, v := range x {
			if ax := absf(v); ax > amax {
				amax, max = ax, v
			}
		}
		if amax == 0 {
			for k := range b {
				b[k] = 0
			}
			continue
		}
		iscale := -127 / max
		for j, v := range x {
			b[4+j] = uint8(int8(min(127, nearestInt(iscale*v))))
		}
		for j := 0; j < QK_K/16; j++ {
			sum := 0
			for ii := 0; ii < 16; ii++ {
				sum += int(int8(b[4+16*j+ii]))
			}
			binary.LittleEndian.PutUint16(b[260+2*j:], uint16(int16(sum)))
		}
		binary.LittleEndian.PutUint32(b, math.Float32bits(1/iscale))
	}
}
