package tensor

import "encoding/binary"

// IQ1_M: 256-element super-blocks of 32 low bytes of 11-bit indices into IQ1_S's grid,
// 16 bytes of the indices' high bits and a shift sign per eight values, and four uint16
// of 3-bit scales (one per 16 values) whose top nibbles hold the fp16 d:
// x = d·(2·ls+1)·(grid ± 1/8). 56 bytes. ggml quantizes it with or without importance
// weights.

func init() {
	// FileType -1: llama-quantize's file type of this name is a mix, in package quant.
	register(Codec{Type: IQ1_M, Dequantize: DequantizeIQ1_M, Quantize: QuantizeIQ1_M, QuantizeWeighted: checkedWeighted(IQ1_M, QuantizeIQ1_MWeighted),
		Activation: Q8_K, Dot: dotIQ1_M, KLevels: iq1MLevels, FileType: -1, Fallback: IQ4_NL})
}

// iq1MScale returns the fp16 super-block scale and the four scale words of block b.
func iq1MScale(b []byte) (d float32, sc [4]uint16) {
	for k := range sc {
		sc[k] = binary.LittleEndian.Uint16(b[48+2*k:])
	}
	return FP16ToFP32(sc[0]>>12 | (sc[1]>>8)&0x00f0 | (sc[2]>>4)&0x0f00 | sc[3]&0xf000), sc
}

// iq1MGroup returns grid index and shift sign (±1) of group l (0..31) of block b.
func iq1MGroup(b []byte, l int) (int, int32) {
	qh := int(b[32+l/2]) >> (4 * (l % 2))
	delta := int32(1)
	if qh&0x08 != 0 {
		delta = -1
	}
	return int(b[l]) | (qh&7)<<8, delta
}

// iq1MScaleOf is the 3-bit scale of 16-value group g.
func iq1MScaleOf(sc *[4]uint16, g int) int32 { return int32((sc[g/4] >> (3 * (g % 4))) & 7) }

// DequantizeIQ1_M is dequantize_row_iq1_m.
func DequantizeIQ1_M(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*56 : i*56+56]
		d, sc := iq1MScale(b)
		for l := 0; l < 32; l++ {
			dl := d * float32(2*iq1MScaleOf(&sc, l/2)+1)
			gi, sign := iq1MGroup(b, l)
			delta := float32(float32(sign) * iq1Delta)
			g := &gridIQ1S[gi]
			y := dst[i*QK_K+8*l:]
			for j := 0; j < 8; j++ {
				y[j] = dl * (float32(g[j]) + delta)
			}
		}
	}
}

// iq1MLevels: level = 8·grid ± 1, group scale 2·ls+1, d/8.
func iq1MLevels(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	d, s := iq1MScale(b)
	for g := 0; g < 16; g++ {
		sc[g], mn[g] = 2*iq1MScaleOf(&s, g)+1, 0
	}
	for l := 0; l < 32; l++ {
		gi, delta := iq1MGroup(b, l)
		for j := 0; j < 8; j++ {
			q[8*l+j] = 8*int32(gridIQ1S[gi][j]) + delta
		}
	}
	return d / 8, 0
}

// dotIQ1_M is ggml_vec_dot_iq1_m_q8_K in its AVX2 order (avx2Lanes), grid values and
// shifts (±1 per eight) in two lane sets.
func dotIQ1_M(n int, w, a []byte) float32 {
	var q, dq [QK_K]int32
	var sc [16]int32
	var acc, accShift [8]float32
	for i := 0; i < n/QK_K; i++ {
		b, y := w[i*56:], a[i*292:]
		d, s := iq1MScale(b)
		for g := 0; g < 16; g++ {
			sc[g] = 2*iq1MScaleOf(&s, g) + 1
		}
		for l := 0; l < 32; l++ {
			gi, delta := iq1MGroup(b, l)
			for j := 0; j < 8; j++ {
				q[8*l+j], dq[8*l+j] = int32(gridIQ1S[gi][j]), delta
			}
		}
		lanes, shiftLanes := avx2Lanes(&q, &sc, y[4:]), avx2Lanes(&dq, &sc, y[4:])
		dd := f32le(y) * d
		fmaLanes(&acc, dd, &lanes)
		fmaLanes(&accShift, dd, &shiftLanes)
	}
	return hsum8(&acc) + float32(iq1Delta*hsum8(&accShift))
}

// QuantizeIQ1_M is quantize_iq1_m without importance weights.
func QuantizeIQ1_M(src []float32, dst []byte) { quantizeIQ1M(src, dst, len(src), nil) }

// QuantizeIQ1_MWeighted is quantize_iq1_m with importance weights.
func QuantizeIQ1_MWeighted(src []float32, dst []byte, nPerRow int, weights []float32) {
	quantizeIQ1M(src, dst, nPerRow, weights)
}

func quantizeIQ1M(src []float32, dst []byte, nPerRow int, weights []float32) {
	const bs = 16
	g := iqGridFor(IQ1_M)
	xp := [3]float32{-1 + iq1Delta, iq1Delta, 1 + iq1Delta}
	xm := [3]float32{-1 - iq1Delta, -iq1Delta, 1 - iq1Delta}
	masks := [4]uint8{0x00, 0x80, 0x08, 0x88}
	// shifts persist across super-blocks as ggml's buffer does (see QuantizeIQ1_S)
	var shifts [QK_K / bs]int
	var scales [QK_K / bs]float32
	var weight [bs]float32
	var L [bs]int8
	var idx [bs]int
	var index [bs / 8]uint16
	// variant k of the search: shift of the first eight values (k < 2: +), of the second (k even: +)
	shiftTable := func(k, half int) *[3]float32 {
		if half == 0 && k < 2 || half == 1 && k%2 == 0 {
			return &xp
		}
		return &xm
	}
	for r := 0; r < len(src)/nPerRow; r++ {
		for ibl := 0; ibl < nPerRow/QK_K; ibl++ {
			o := r*nPerRow + ibl*QK_K
			y := dst[o/QK_K*56 : o/QK_K*56+56]
			xbl := src[o : o+QK_K]
			clear(y)
			var maxScale float32
			sigma2 := float32(2 * superBlockSumSq(xbl) / QK_K)
			setWeights := func(ib int, xb []float32) {
				for i := range weight {
					if weights != nil {
						weight[i] = weights[ibl*QK_K+bs*ib+i] * sqrtf(sigma2+float32(xb[i]*xb[i]))
					} else {
						weight[i] = float32(xb[i] * xb[i])
					}
				}
			}
			for ib := 0; ib < QK_K/bs; ib++ {
				xb := xbl[bs*ib : bs*ib+bs]
				setWeights(ib, xb)
				max := absf(xb[0])
				for _, v := range xb[1:] {
					max = max32(max, absf(v))
				}
				if max < 1e-7 {
					scales[ib] = 0
					continue
				}
				iq1Order(xb, idx[:])
				bestScore, scale := -fltMin, max
				besti1, besti2, bestK := -1, -1, -1
				for i1 := 0; i1 <= bs; i1++ {
					for i2 := i1; i2 <= bs; i2++ {
						var sumqx, sumq2 [4]float32
						for j := 0; j < bs; j++ {
							i := idx[j]
							reg := 2
							if j < i1 {
								reg = 0
							} else if j < i2 {
								reg = 1
							}
							for k := 0; k < 4; k++ {
								x := shiftTable(k, i/(bs/2))[reg]
								sumqx[k] += float32(weight[i] * x * xb[i])
								sumq2[k] += float32(weight[i] * x * x)
							}
						}
						for k := 0; k < 4; k++ {
							if sumq2[k] > 0 && sumqx[k]*sumqx[k] > bestScore*sumq2[k] {
								scale = sumqx[k] / sumq2[k]
								bestScore = scale * sumqx[k]
								besti1, besti2, bestK = i1, i2, k
							}
						}
					}
				}
				for j := 0; j < bs; j++ {
					switch {
					case j < besti1:
						L[idx[j]] = 0
					case j < besti2:
						L[idx[j]] = 1
					default:
						L[idx[j]] = 2
					}
				}
				if scale < 0 {
					for j := range L {
						L[j] = 2 - L[j]
					}
					scale, bestK = -scale, 3-bestK
				}
				allOnGrid := true
				for k := 0; k < bs/8; k++ {
					gi, nb := g.lookup(levelPattern(L[8*k:]))
					if gi < 0 {
						allOnGrid = false
						gi = g.findBestNeighbourIQ1(nb, xb[8*k:], weight[8*k:], scale, shiftTable(bestK, k), L[8*k:])
					}
					index[k] = uint16(gi)
				}
				if !allOnGrid {
					var sumqx, sumq2 float32
					for k := 0; k < bs/8; k++ {
						xx := shiftTable(bestK, k)
						pg := &g.pos[index[k]]
						for j := 0; j < 8; j++ {
							w := weight[8*k+j]
							q := xx[(pg[j]-1)/2]
							sumqx += float32(w * q * xb[8*k+j])
							sumq2 += float32(w * q * q)
						}
					}
					if sumqx > 0 && sumq2 > 0 {
						scale = sumqx / sumq2
					}
				}
				y[2*ib] = uint8(index[0])
				y[2*ib+1] = uint8(index[1])
				y[32+ib] = uint8(index[0]>>8) | uint8(index[1]>>8)<<4
				scales[ib], shifts[ib] = scale, bestK
				maxScale = max32(maxScale, scale)
			}
			if maxScale == 0 {
				continue
			}
			var sc [4]uint16
			d := maxScale / 15
			id := 1 / d
			var sumqx, sumq2 float32
			for ib := 0; ib < QK_K/bs; ib++ {
				l := clampInt(nearestInt(0.5*(float32(id*scales[ib])-1)), 0, 7)
				sc[ib/4] |= uint16(l) << (3 * (ib % 4))
				y[32+ib] |= masks[shifts[ib]&3]
				xb := xbl[bs*ib : bs*ib+bs]
				setWeights(ib, xb)
				for k := 0; k < bs/8; k++ {
					xx := shiftTable(shifts[ib], k)
					pg := &g.pos[int(y[2*ib+k])+(int(y[32+ib])<<(8-4*k))&0x700]
					for j := 0; j < 8; j++ {
						w := weight[8*k+j]
						q := xx[(pg[j]-1)/2] * float32(2*l+1)
						sumqx += float32(w * q * xb[8*k+j])
						sumq2 += float32(w * q * q)
					}
				}
			}
			if sumq2 > 0 {
				d = sumqx / sumq2
			}
			s := FP32ToFP16(d * 1.1125)
			sc[0] |= (s & 0x000f) << 12
			sc[1] |= (s & 0x00f0) << 8
			sc[2] |= (s & 0x0f00) << 4
			sc[3] |= s & 0xf000
			for k := range sc {
				binary.LittleEndian.PutUint16(y[48+2*k:], sc[k])
			}
		}
	}
}
