package tensor

import (
	"encoding/binary"
	"math"
)

// IQ4_NL (32-element blocks: d qs[16], 18 bytes) and IQ4_XS (256-element super-blocks:
// d scales_h scales_l[4] qs[128], 136 bytes) map 4-bit indices through a fixed
// non-linear table.

var kvaluesIQ4NL = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

func init() {
	register(Codec{Type: IQ4_NL, Dequantize: DequantizeIQ4_NL, Quantize: QuantizeIQ4_NL,
		QuantizeWeighted: weightedRows(IQ4_NL, quantizeRowIQ4_NLW), Activation: Q8_0, Dot: dotIQ4_NL, FileType: 25})
	register(Codec{Type: IQ4_XS, Dequantize: DequantizeIQ4_XS, Quantize: QuantizeIQ4_XS,
		QuantizeWeighted: weightedRows(IQ4_XS, quantizeRowIQ4_XSW), Activation: Q8_K, Dot: dotIQ4_XS,
		KLevels: iq4XSLevels, FileType: 30, Fallback: IQ4_NL})
}

func dotIQ4_NL(n int, w, a []byte) float32 {
	var q [32]int32
	var sum float32
	for i := 0; i < n/32; i++ {
		d, _ := iq4NLLevels(w[i*18:], &q)
		sum += blockDotQ8_0(&q, d, a[i*34:])
	}
	return sum
}

func dotIQ4_XS(n int, w, a []byte) float32 {
	var k kBlock
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		d, dmin := iq4XSLevels(w[i*136:], &k.q, &k.sc, &k.mn)
		sum += k.dotQ8_K(d, dmin, a[i*292:])
	}
	return sum
}

func iq4NLLevels(b []byte, q *[32]int32) (d, m float32) {
	for j := 0; j < 16; j++ {
		q[j], q[j+16] = int32(kvaluesIQ4NL[b[2+j]&0xf]), int32(kvaluesIQ4NL[b[2+j]>>4])
	}
	return f16(b), 0
}

func iq4XSLevels(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	sh := binary.LittleEndian.Uint16(b[2:])
	sl, qs := b[4:8], b[8:136]
	for ib := 0; ib < 8; ib++ {
		ls := int32((sl[ib/2]>>(4*(ib%2)))&0xf) | int32((sh>>(2*ib))&3)<<4
		sc[2*ib], sc[2*ib+1] = ls-32, ls-32
		mn[2*ib], mn[2*ib+1] = 0, 0
		for j := 0; j < 16; j++ {
			q[32*ib+j] = int32(kvaluesIQ4NL[qs[16*ib+j]&0xf])
			q[32*ib+j+16] = int32(kvaluesIQ4NL[qs[16*ib+j]>>4])
		}
	}
	return f16(b), 0
}

// DequantizeIQ4_NL: x = d * table[q].
func DequantizeIQ4_NL(src []byte, dst []float32) {
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*18 : i*18+18]
		d := f16(b)
		for j := 0; j < 16; j++ {
			dst[i*32+j] = d * float32(kvaluesIQ4NL[b[2+j]&0xf])
			dst[i*32+j+16] = d * float32(kvaluesIQ4NL[b[2+j]>>4])
		}
	}
}

// DequantizeIQ4_XS: x = d*(ls-32)*table[q] with a 6-bit ls per 32-element sub-block.
func DequantizeIQ4_XS(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*136 : i*136+136]
		d := f16(b)
		sh := binary.LittleEndian.Uint16(b[2:])
		sl, qs := b[4:8], b[8:136]
		for ib := 0; ib < QK_K/32; ib++ {
			ls := int((sl[ib/2]>>(4*(ib%2)))&0xf) | int((sh>>(2*ib))&3)<<4
			dl := d * float32(ls-32)
			y := dst[i*QK_K+32*ib:]
			for j := 0; j < 16; j++ {
				y[j] = dl * float32(kvaluesIQ4NL[qs[16*ib+j]&0xf])
				y[j+16] = dl * float32(kvaluesIQ4NL[qs[16*ib+j]>>4])
			}
		}
	}
}

// bestIndexInt8 is best_index_int8: the table entry nearest to x (ties go up).
func bestIndexInt8(val []int8, x float32) int {
	n := len(val)
	if x <= float32(val[0]) {
		return 0
	}
	if x >= float32(val[n-1]) {
		return n - 1
	}
	ml, mu := 0, n-1
	for mu-ml > 1 {
		mav := (ml + mu) / 2
		if x < float32(val[mav]) {
			mu = mav
		} else {
			ml = mav
		}
	}
	if x-float32(val[mu-1]) < float32(val[mu])-x {
		return mu - 1
	}
	return mu
}

// quantizeIQ4 is quantize_row_iq4_nl_impl without an importance matrix. superBlock is 32
// for IQ4_NL (one block, no sub-scales) and 256 for IQ4_XS. ntry is 7 for what
// ggml_quantize_chunk (and llama-quantize) runs, -1 for quantize_row_iq4_nl_ref.
// It writes d at b[0:2]; for IQ4_XS the sub-scales go to sh and sl; qs gets the nibbles.
// L is the caller's level buffer: like ggml, a block that is all zeros keeps the levels
// of the block before it (visible only in the ntry < 0 path).
func quantizeIQ4(x []float32, superBlock int, b []byte, sl []byte, qs []byte, ntry int, L *[QK_K]uint8) (sh uint16) {
	return quantizeIQ4W(x, superBlock, b, sl, qs, ntry, L, nil)
}

// quantizeIQ4W is quantize_row_iq4_nl_impl: qw, when not nil, are the importance weights
// of the super-block's columns; element weights are then qw·sqrt(sigma2 + x²) with
// sigma2 twice the super-block's mean x², instead of x².
func quantizeIQ4W(x []float32, superBlock int, b []byte, sl []byte, qs []byte, ntry int, L *[QK_K]uint8, qw []float32) (sh uint16) {
	const blockSize = 32
	values := kvaluesIQ4NL[:]
	var weight [blockSize]float32
	var scales [QK_K / 32]float32
	nb := superBlock / blockSize
	var sigma2 float32
	for _, v := range x[:superBlock] {
		sigma2 += float32(v * v)
	}
	sigma2 = float32(sigma2 * (2 / float32(superBlock)))
	for k := range qs[:superBlock/2] {
		qs[k] = 0
	}
	putF16(b, 0)
	var maxScale, amaxScale float32
	for ib := 0; ib < nb; ib++ {
		xb := x[ib*blockSize : ib*blockSize+blockSize]
		Lb := L[ib*blockSize:]
		if qw != nil {
			for j, v := range xb {
				weight[j] = float32(qw[ib*blockSize+j] * float32(math.Sqrt(float64(sigma2+float32(v*v)))))
			}
		} else {
			for j, v := range xb {
				weight[j] = float32(v * v)
			}
		}
		var amax, max float32
		for _, v := range xb {
			if ax := absf(v); ax > amax {
				amax, max = ax, v
			}
		}
		if amax < groupMaxEps {
			scales[ib] = 0
			continue
		}
		var d float32
		if ntry > 0 {
			d = -max / float32(values[0])
		} else {
			d = max / float32(values[0])
		}
		id := 1 / d
		var sumqx, sumq2 float32
		for j, v := range xb {
			l := bestIndexInt8(values, id*v)
			Lb[j] = uint8(l)
			q := float32(values[l])
			w := weight[j]
			sumqx += float32(w * q * v)
			sumq2 += float32(w * q * q)
		}
		d = sumqx / sumq2
		best := d * sumqx
		for itry := -ntry; itry <= ntry; itry++ {
			id = (float32(itry) + float32(values[0])) / max
			sumqx, sumq2 = 0, 0
			for j, v := range xb {
				l := bestIndexInt8(values, id*v)
				q := float32(values[l])
				w := weight[j]
				sumqx += float32(w * q * v)
				sumq2 += float32(w * q * q)
			}
			if sumq2 > 0 && sumqx*sumqx > best*sumq2 {
				d = sumqx / sumq2
				best = d * sumqx
			}
		}
		scales[ib] = d
		if ad := absf(d); ad > amaxScale {
			amaxScale, maxScale = ad, d
		}
	}
	if nb > 1 {
		d := -maxScale / 32
		putF16(b, d)
		var id float32
		if d != 0 {
			id = 1 / d
		}
		for k := range sl[:nb/2] {
			sl[k] = 0
		}
		for ib := 0; ib < nb; ib++ {
			l := clampInt(nearestInt(id*scales[ib]), -32, 31)
			dl := d * float32(l)
			var idl float32
			if dl != 0 {
				idl = 1 / dl
			}
			for j := 0; j < blockSize; j++ {
				L[ib*blockSize+j] = uint8(bestIndexInt8(values, idl*x[ib*blockSize+j]))
			}
			l += 32
			ll, lh := uint8(l&0xf), uint16(l>>4)
			if ib%2 == 0 {
				sl[ib/2] = ll
			} else {
				sl[ib/2] |= ll << 4
			}
			sh |= lh << (2 * (ib % 8))
		}
	} else {
		putF16(b, scales[0])
		if ntry > 0 {
			var id float32
			if scales[0] != 0 {
				id = 1 / scales[0]
			}
			for j := 0; j < superBlock; j++ {
				L[j] = uint8(bestIndexInt8(values, id*x[j]))
			}
		}
	}
	for i := 0; i < superBlock/32; i++ {
		for j := 0; j < 16; j++ {
			qs[16*i+j] = L[32*i+j] | L[32*i+16+j]<<4
		}
	}
	return sh
}

// QuantizeIQ4_NL is what ggml_quantize_chunk and llama-quantize write (scale search, ntry = 7).
func QuantizeIQ4_NL(src []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/32; i++ {
		b := dst[i*18 : i*18+18]
		quantizeIQ4(src[i*32:i*32+32], 32, b, nil, b[2:18], 7, &L)
	}
}

// QuantizeIQ4_NLRef is quantize_row_iq4_nl_ref (no scale search, ntry = -1).
func QuantizeIQ4_NLRef(src []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/32; i++ {
		b := dst[i*18 : i*18+18]
		quantizeIQ4(src[i*32:i*32+32], 32, b, nil, b[2:18], -1, &L)
	}
}

// QuantizeIQ4_XS is quantize_iq4_xs without an importance matrix (= quantize_row_iq4_xs_ref).
func QuantizeIQ4_XS(src []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/QK_K; i++ {
		b := dst[i*136 : i*136+136]
		sh := quantizeIQ4(src[i*QK_K:i*QK_K+QK_K], QK_K, b, b[4:8], b[8:136], 7, &L)
		binary.LittleEndian.PutUint16(b[2:], sh)
	}
}

// quantizeRowIQ4_NLW is quantize_iq4_nl with importance weights (one row).
func quantizeRowIQ4_NLW(dst []byte, src, qw []float32) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/32; i++ {
		b := dst[i*18 : i*18+18]
		quantizeIQ4W(src[i*32:i*32+32], 32, b, nil, b[2:18], 7, &L, qw[i*32:i*32+32])
	}
}

// quantizeRowIQ4_XSW is quantize_iq4_xs with importance weights (one row).
func quantizeRowIQ4_XSW(dst []byte, src, qw []float32) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/QK_K; i++ {
		b := dst[i*136 : i*136+136]
		sh := quantizeIQ4W(src[i*QK_K:i*QK_K+QK_K], QK_K, b, b[4:8], b[8:136], 7, &L, qw[i*QK_K:i*QK_K+QK_K])
		binary.LittleEndian.PutUint16(b[2:], sh)
	}
}
