package tensor

import (
	"encoding/binary"
)

// IQ3_XXS (256-element super-blocks, 98 bytes: d, then qs[96]): eight 32-element
// sub-blocks, each eight 8-bit indices into iq3xxsGrid (4 magnitudes each, qs[0:64]) and
// one little-endian uint32 at qs[64+4·ib]: four 7-bit sign codes (ksignsIQ2XS, the eighth
// sign makes the count of negatives even) and a 4-bit scale ls in the top bits;
// x = d·(0.5 + ls)·0.5·grid·sign.

func init() {
	register(Codec{Type: IQ3_XXS, Dequantize: DequantizeIQ3_XXS, Quantize: QuantizeIQ3_XXS,
		QuantizeWeighted: QuantizeIQ3_XXSWeighted, Activation: Q8_K, Dot: dotIQ3_XXS, KLevels: iq3xxsLevels,
		// llama-quantize's IQ3_XXS file type is a mix, in package quant.
		FileType: -1, Fallback: IQ4_NL})
}

// DequantizeIQ3_XXS is dequantize_row_iq3_xxs.
func DequantizeIQ3_XXS(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*98 : i*98+98]
		d := f16(b)
		qs := b[2:66]
		for ib := 0; ib < 8; ib++ {
			aux := binary.LittleEndian.Uint32(b[66+4*ib:])
			db := d * (0.5 + float32(aux>>28)) * 0.5
			y := dst[i*QK_K+32*ib:]
			for l := 0; l < 4; l++ {
				signs := ksignsIQ2XS[(aux>>(7*l))&127]
				for h := 0; h < 2; h++ {
					g := iq3xxsGrid[qs[8*ib+2*l+h]]
					for j := 0; j < 4; j++ {
						v := db * float32(uint8(g>>(8*j)))
						if signs&(1<<(4*h+j)) != 0 {
							v = -v
						}
						y[8*l+4*h+j] = v
					}
				}
			}
		}
	}
}

// iq3xxsLevels unpacks one block as levels grid·sign with group scales 2ls + 1 and
// d/4: x = d/4·(2ls+1)·grid·sign (Codec.KLevels).
func iq3xxsLevels(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	for ib := 0; ib < 8; ib++ {
		aux := binary.LittleEndian.Uint32(b[66+4*ib:])
		sc[2*ib], sc[2*ib+1] = int32(2*(aux>>28)+1), int32(2*(aux>>28)+1)
		mn[2*ib], mn[2*ib+1] = 0, 0
		for l := 0; l < 4; l++ {
			signs := ksignsIQ2XS[(aux>>(7*l))&127]
			for h := 0; h < 2; h++ {
				g := iq3xxsGrid[b[2+8*ib+2*l+h]]
				for j := 0; j < 4; j++ {
					v := int32(uint8(g >> (8 * j)))
					if signs&(1<<(4*h+j)) != 0 {
						v = -v
					}
					q[32*ib+8*l+4*h+j] = v
				}
			}
		}
	}
	return f16(b) / 4, 0
}

// dotIQ3_XXS is ggml_vec_dot_iq3_xxs_q8_K in its AVX2 order (levelsDotFMA), whose
// float scale is d_w·d_a and a quarter of the lanes' sum.
func dotIQ3_XXS(n int, w, a []byte) float32 {
	var k kBlock
	var acc lanes8
	for i := 0; i < n/QK_K; i++ {
		iq3xxsLevels(w[i*98:], &k.q, &k.sc, &k.mn)
		k.levelsDotFMA(&acc, f16(w[i*98:]), a[i*292:])
	}
	return 0.25 * acc.hsum()
}

// QuantizeIQ3_XXS is quantize_iq3_xxs without importance weights (= quantize_row_iq3_xxs_ref).
func QuantizeIQ3_XXS(src []float32, dst []byte) {
	quantizeIQ3XXS(dst, src, len(src), nil)
}

// QuantizeIQ3_XXSWeighted is quantize_iq3_xxs with importance weights.
func QuantizeIQ3_XXSWeighted(dst []byte, src []float32, nPerRow int, weights []float32) error {
	if err := checkWeighted(IQ3_XXS, dst, src, nPerRow, weights); err != nil {
		return err
	}
	quantizeIQ3XXS(dst, src, nPerRow, weights)
	return nil
}

// quantizeIQ3XXS is quantize_row_iq3_xxs_impl(256, ...) over the rows of src (nPerRow
// values each), with importance weights qw (one per column) or none.
func quantizeIQ3XXS(dst []byte, src []float32, nPerRow int, qw []float32) {
	const eps = 1e-8 // GROUP_MAX_EPS_IQ3_XXS
	g := iq3xxsLattice()
	var s iq3SubBlock
	var scales [8]float32
	var q3 [96]byte
	for ibl := 0; ibl < len(src)/QK_K; ibl++ {
		xbl := src[ibl*QK_K : ibl*QK_K+QK_K]
		b := dst[ibl*98 : ibl*98+98]
		clear(q3[:])
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
			var signs [4]uint8
			for k := 0; k < 4; k++ {
				nflip := 0
				var sk uint8
				for i := 0; i < 8; i++ {
					if v := xb[8*k+i]; v >= 0 {
						s.xval[8*k+i] = v
					} else {
						s.xval[8*k+i] = -v
						nflip++
						sk |= 1 << i
					}
				}
				if nflip%2 != 0 {
					// an odd count of negatives cannot be stored: flip the least important
					imin, min := 0, float32(s.weight[8*k]*xb[8*k])*xb[8*k]
					for i := 1; i < 8; i++ {
						if ax := float32(s.weight[8*k+i]*xb[8*k+i]) * xb[8*k+i]; ax < min {
							min, imin = ax, i
						}
					}
					s.xval[8*k+imin] = -s.xval[8*k+imin]
					sk ^= 1 << imin
				}
				signs[k] = sk & 127
			}
			max := s.xval[0]
			for _, v := range s.xval[1:] {
				max = maxf(max, v)
			}
			if max < eps {
				scales[ib] = 0
				clear(s.L[:])
				continue
			}
			scale := s.search(g, max, 15, false)
			if scale < 0 {
				// ggml: never happens; a positive scale with every sign flipped
				scale = -scale
				for k := range signs {
					signs[k] = ^signs[k] & 127
				}
			}
			for k := 0; k < 8; k++ {
				q3[8*ib+k] = uint8(g.index(s.L[4*k:]))
			}
			sas := uint32(signs[0]) | uint32(signs[1])<<7 | uint32(signs[2])<<14 | uint32(signs[3])<<21
			binary.LittleEndian.PutUint32(q3[64+4*ib:], sas)
			scales[ib] = scale
			maxScale = maxf(maxScale, scale)
		}
		if maxScale == 0 {
			clear(b)
			continue
		}
		d := maxScale / 31
		putF16(b, d*1.0125)
		id := 1 / d
		for ib := 0; ib < 8; ib++ {
			l := clampInt(nearestInt(0.5*(float32(id*scales[ib])-1)), 0, 15)
			binary.LittleEndian.PutUint32(q3[64+4*ib:], binary.LittleEndian.Uint32(q3[64+4*ib:])|uint32(l)<<28)
		}
		copy(b[2:], q3[:])
	}
}

// maxf is C's MAX(a, b) for floats: b unless a > b.
func maxf(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}
