package tensor

// IQ3_S (256-element super-blocks, 110 bytes: d, qs[64], qh[8], signs[32], scales[4]):
// eight 32-element sub-blocks, each eight 9-bit indices into iq3sGrid (low bits in qs,
// the ninth in bit k of qh[ib]), one sign bit per element and a 4-bit scale ls (two per
// byte); x = d·(1 + 2·ls)·grid·sign.

func init() {
	register(Codec{Type: IQ3_S, Dequantize: DequantizeIQ3_S, Quantize: QuantizeIQ3_S,
		QuantizeWeighted: QuantizeIQ3_SWeighted, Activation: Q8_K, Dot: dotIQ3_S, KLevels: iq3sLevels,
		// llama-quantize's IQ3_S file type is a mix, in package quant.
		FileType: -1, Fallback: IQ4_NL})
}

// iq3sLevels unpacks one block as levels grid·sign with group scales 1 + 2ls and d
// (Codec.KLevels).
func iq3sLevels(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	for ib := 0; ib < 8; ib++ {
		ls := 1 + 2*int32(b[106+ib/2]>>(4*(ib%2))&0xf)
		sc[2*ib], sc[2*ib+1] = ls, ls
		mn[2*ib], mn[2*ib+1] = 0, 0
		for k := 0; k < 8; k++ {
			g := iq3sGrid[int(b[2+8*ib+k])|int(b[66+ib]>>k&1)<<8] // the ninth index bit in qh
			signs := b[74+4*ib+k/2] >> (4 * (k % 2))
			for j := 0; j < 4; j++ {
				v := int32(uint8(g >> (8 * j)))
				if signs&(1<<j) != 0 {
					v = -v
				}
				q[32*ib+4*k+j] = v
			}
		}
	}
	return f16(b), 0
}

// DequantizeIQ3_S is dequantize_row_iq3_s: (d·(1+2ls))·grid, signed.
func DequantizeIQ3_S(src []byte, dst []float32) {
	var k kBlock
	for i := 0; i < len(dst)/QK_K; i++ {
		d, _ := iq3sLevels(src[i*110:], &k.q, &k.sc, &k.mn)
		for j, q := range k.q {
			dst[i*QK_K+j] = float32(d*float32(k.sc[j/16])) * float32(q)
		}
	}
}

// dotIQ3_S is ggml_vec_dot_iq3_s_q8_K in its AVX2 order (levelsDotFMA), whose float
// scale is d_w·d_a.
func dotIQ3_S(n int, w, a []byte) float32 {
	var k kBlock
	var acc lanes8
	for i := 0; i < n/QK_K; i++ {
		d, _ := iq3sLevels(w[i*110:], &k.q, &k.sc, &k.mn)
		k.levelsDotFMA(&acc, d, a[i*292:])
	}
	return acc.hsum()
}

// QuantizeIQ3_S is quantize_iq3_s without importance weights (= quantize_row_iq3_s_ref).
func QuantizeIQ3_S(src []float32, dst []byte) {
	quantizeIQ3S(dst, src, len(src), nil)
}

// QuantizeIQ3_SWeighted is quantize_iq3_s with importance weights.
func QuantizeIQ3_SWeighted(dst []byte, src []float32, nPerRow int, weights []float32) error {
	if err := checkWeighted(IQ3_S, dst, src, nPerRow, weights); err != nil {
		return err
	}
	quantizeIQ3S(dst, src, nPerRow, weights)
	return nil
}

// quantizeIQ3S is quantize_row_iq3_s_impl (32-element sub-blocks) over the rows of src
// (nPerRow values each), with importance weights qw (one per column) or none.
func quantizeIQ3S(dst []byte, src []float32, nPerRow int, qw []float32) {
	g := iq3sLattice()
	var s iq3SubBlock
	var scales [8]float32
	for ibl := 0; ibl < len(src)/QK_K; ibl++ {
		xbl := src[ibl*QK_K : ibl*QK_K+QK_K]
		b := dst[ibl*110 : ibl*110+110]
		clear(b)
		// ggml advances its qs and signs pointers only past sub-blocks that are not all
		// zero, so the ones after such a sub-block are stored one slot early.
		qs, qh, signs := b[2:66], b[66:74], b[74:106]
		var maxScale float32
		sig2 := sigma2(xbl)
		for ib := 0; ib < 8; ib++ {
			xb := xbl[32*ib : 32*ib+32]
			var qwb []float32
			if qw != nil {
				col := ibl*QK_K%nPerRow + 32*ib
				qwb = qw[col : col+32]
			}
			s.weights(xb, qwb, sig2)
			var bsigns [4]uint8
			for k := 0; k < 4; k++ {
				for i := 0; i < 8; i++ {
					if v := xb[8*k+i]; v >= 0 {
						s.xval[8*k+i] = v
					} else {
						s.xval[8*k+i] = -v
						bsigns[k] |= 1 << i
					}
				}
			}
			max := s.xval[0]
			for _, v := range s.xval[1:] {
				max = maxf(max, v)
			}
			if max == 0 {
				scales[ib] = 0
				continue
			}
			s.onGrid = [8]bool{}
			scale := s.search(g, max, 9, true)
			if scale < 0 {
				// ggml: never happens; a positive scale with every sign flipped
				scale = -scale
				for k := range bsigns {
					bsigns[k] = ^bsigns[k]
				}
			}
			for k := 0; k < 8; k++ {
				gi := g.index(s.L[4*k:])
				qs[k] = uint8(gi)
				qh[ib] |= uint8(gi>>8) << k
			}
			qs = qs[8:]
			copy(signs, bsigns[:])
			signs = signs[4:]
			scales[ib] = scale
			maxScale = maxf(maxScale, scale)
		}
		if maxScale == 0 {
			continue
		}
		d := maxScale / 31
		putF16(b, d*1.033)
		id := 1 / d
		for ib := 0; ib < 8; ib += 2 {
			l1 := clampInt(nearestInt(0.5*(float32(id*scales[ib])-1)), 0, 15)
			l2 := clampInt(nearestInt(0.5*(float32(id*scales[ib+1])-1)), 0, 15)
			b[106+ib/2] = uint8(l1 | l2<<4)
		}
	}
}
