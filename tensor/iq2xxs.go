package tensor

import "encoding/binary"

// IQ2_XXS: 256-element super-blocks of d (fp16) and eight 32-element sub-blocks of two
// little-endian uint32: four indices into the 256-entry grid (eight magnitudes each),
// then four 7-bit sign groups (ksignsIQ2XS) and a 4-bit scale: x = d·(0.5+ls)/4·grid·sign.
// 66 bytes; llama.cpp quantizes it only with an importance matrix.

func init() {
	// FileType -1: llama-quantize's file type of this name is a mix, in package quant.
	register(Codec{Type: IQ2_XXS, Dequantize: DequantizeIQ2_XXS, QuantizeWeighted: checkedWeighted(IQ2_XXS, QuantizeIQ2_XXS), RequiresImatrix: true,
		Activation: Q8_K, Dot: dotIQ2_XXS, KLevels: iq2XXSLevels, FileType: -1, Fallback: IQ4_NL})
}

var gridIQ2XXS = expandGrid(kgridIQ2XXS[:], [3]int8{8, 25, 43})

// DequantizeIQ2_XXS is dequantize_row_iq2_xxs.
func DequantizeIQ2_XXS(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*66 : i*66+66]
		d := f16(b)
		for ib := 0; ib < 8; ib++ {
			q := b[2+8*ib:]
			aux := binary.LittleEndian.Uint32(q[4:])
			db := d * (0.5 + float32(aux>>28)) * 0.25
			for l := 0; l < 4; l++ {
				g := &gridIQ2XXS[q[l]]
				signs := ksignsIQ2XS[(aux>>(7*l))&127]
				y := dst[i*QK_K+32*ib+8*l:]
				for j := 0; j < 8; j++ {
					v := db * float32(g[j])
					if signs&(1<<j) != 0 {
						v = -v
					}
					y[j] = v
				}
			}
		}
	}
}

// iq2XXSLevels: level = ±grid, group scale 2·ls+1, d/8.
func iq2XXSLevels(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	for ib := 0; ib < 8; ib++ {
		qs := b[2+8*ib:]
		aux := binary.LittleEndian.Uint32(qs[4:])
		ls := 2*int32(aux>>28) + 1
		sc[2*ib], sc[2*ib+1], mn[2*ib], mn[2*ib+1] = ls, ls, 0, 0
		for l := 0; l < 4; l++ {
			g := &gridIQ2XXS[qs[l]]
			signs := ksignsIQ2XS[(aux>>(7*l))&127]
			for j := 0; j < 8; j++ {
				v := int32(g[j])
				if signs&(1<<j) != 0 {
					v = -v
				}
				q[32*ib+8*l+j] = v
			}
		}
	}
	return f16(b) / 8, 0
}

// dotIQ2_XXS is ggml_vec_dot_iq2_xxs_q8_K (iq2Dot).
func dotIQ2_XXS(n int, w, a []byte) float32 { return iq2Dot(n, w, a, 66, iq2XXSLevels) }

// signedGridDot is Σ grid[j]·sign_j·q8[j] over one group of eight.
func signedGridDot(g *[8]int8, signs uint8, q8 []byte) int32 {
	var s int32
	for j := 0; j < 8; j++ {
		p := int32(g[j]) * int32(int8(q8[j]))
		if signs&(1<<j) != 0 {
			p = -p
		}
		s += p
	}
	return s
}

// QuantizeIQ2_XXS is quantize_iq2_xxs (weights required).
func QuantizeIQ2_XXS(src []float32, dst []byte, nPerRow int, weights []float32) {
	g := iqGridFor(IQ2_XXS)
	for r := 0; r < len(src)/nPerRow; r++ {
		for ibl := 0; ibl < nPerRow/QK_K; ibl++ {
			o := r*nPerRow + ibl*QK_K
			quantizeIQ2XXSBlock(g, src[o:o+QK_K], dst[o/QK_K*66:o/QK_K*66+66], weights[ibl*QK_K:])
		}
	}
}

func quantizeIQ2XXSBlock(g *iqQuantGrid, xbl []float32, y []byte, qw []float32) {
	const kMaxQ = 3
	var scales [8]float32
	var weight, xval, waux [32]float32
	var L, Laux [32]int8
	var blockSigns [4]uint8
	var q2 [16]uint32
	var Lu [32]uint8
	putF16(y, 0)
	var maxScale float32
	sigma2 := float32(superBlockSumSq(xbl) / QK_K)
	for ib := 0; ib < 8; ib++ {
		xb := xbl[32*ib : 32*ib+32]
		for i := 0; i < 32; i++ {
			weight[i] = qw[32*ib+i] * sqrtf(sigma2+float32(xb[i]*xb[i]))
			waux[i] = sqrtf(weight[i])
		}
		for k := 0; k < 4; k++ {
			blockSigns[k] = iqSignFlip(xb[8*k:], weight[8*k:], xval[8*k:])
		}
		max := xval[0]
		for _, v := range xval[1:] {
			if v > max {
				max = v
			}
		}
		if max < groupMaxEps {
			scales[ib] = 0
			L = [32]int8{}
			continue
		}
		scale := makeQPQuants(xval[:], kMaxQ+1, Lu[:], weight[:])
		for i := range L {
			L[i] = int8(Lu[i])
		}
		effMax := scale * kMaxQ
		var best float32
		for is := -6; is <= 6; is++ {
			id := (2*kMaxQ - 1 + float32(float32(is)*0.1)) / effMax
			thisScale := 1 / id
			for k := 0; k < 4; k++ {
				var u uint16
				for i := 0; i < 8; i++ {
					l := clampInt(nearestInt(0.5*(float32(id*xval[8*k+i])-1)), 0, kMaxQ-1)
					Laux[8*k+i] = int8(l)
					u |= uint16(l) << (2 * i)
				}
				if gi, nb := g.lookup(u); gi < 0 {
					g.findBestNeighbour(nb, xval[8*k:], waux[8*k:], thisScale, Laux[8*k:])
				}
			}
			var sumqx, sumq2 float32
			for i := 0; i < 32; i++ {
				w := weight[i]
				q := float32(2*Laux[i] + 1)
				sumqx += float32(w * xval[i] * q)
				sumq2 += float32(w * q * q)
			}
			if sumq2 > 0 && sumqx*sumqx > best*sumq2 {
				scale = sumqx / sumq2
				best = scale * sumqx
				L = Laux
			}
		}
		if scale > 0 {
			id := 1 / scale
			for k := 0; k < 4; k++ {
				var u uint16
				for i := 0; i < 8; i++ {
					l := clampInt(nearestInt(0.5*(float32(id*xval[8*k+i])-1)), 0, kMaxQ-1)
					u |= uint16(l) << (2 * i)
				}
				gi, nb := g.lookup(u)
				if gi < 0 {
					gi = g.findBestNeighbour(nb, xval[8*k:], waux[8*k:], scale, L[8*k:])
				}
				g.levels(gi, L[8*k:])
			}
			var sumqx, sumq2 float32
			for i := 0; i < 32; i++ {
				w := weight[i]
				q := float32(2*L[i] + 1)
				sumqx += float32(w * xval[i] * q)
				sumq2 += float32(w * q * q)
			}
			if sumq2 > 0 {
				scale = sumqx / sumq2
			}
		}
		if scale < 0 {
			scale = -scale
			for k := range blockSigns {
				blockSigns[k] = ^blockSigns[k] & 127
			}
		}
		for k := 0; k < 4; k++ {
			gi := g.onGrid(L[8*k:])
			q2[2*ib] |= uint32(gi) << (8 * k)
			q2[2*ib+1] |= uint32(blockSigns[k]) << (7 * k)
		}
		scales[ib] = scale
		maxScale = max32(maxScale, scale)
	}
	qs := y[2:66]
	if maxScale == 0 {
		clear(qs)
		return
	}
	d := maxScale / 31
	putF16(y, d)
	id := 1 / d
	for ib := 0; ib < 8; ib++ {
		l := clampInt(nearestInt(0.5*(float32(id*scales[ib])-1)), 0, 15)
		q2[2*ib+1] |= uint32(l) << 28
	}
	for k, v := range q2 {
		binary.LittleEndian.PutUint32(qs[4*k:], v)
	}
}

// kgridIQ2XXS is ggml-quants.c's kgrid_2bit_256 (iq2xxs_grid, eight 2-bit levels per entry).
var kgridIQ2XXS = [256]uint16{
	0, 2, 5, 8, 10, 17, 20, 32, 34, 40, 42, 65, 68, 80, 88, 97,
	100, 128, 130, 138, 162, 257, 260, 272, 277, 320, 388, 408, 512, 514, 546, 642,
	1025, 1028, 1040, 1057, 1060, 1088, 1090, 1096, 1120, 1153, 1156, 1168, 1188, 1280, 1282, 1288,
	1312, 1350, 1385, 1408, 1425, 1545, 1552, 1600, 1668, 1700, 2048, 2053, 2056, 2068, 2088, 2113,
	2116, 2128, 2130, 2184, 2308, 2368, 2562, 2580, 4097, 4100, 4112, 4129, 4160, 4192, 4228, 4240,
	4245, 4352, 4360, 4384, 4432, 4442, 4480, 4644, 4677, 5120, 5128, 5152, 5157, 5193, 5248, 5400,
	5474, 5632, 5654, 6145, 6148, 6160, 6208, 6273, 6400, 6405, 6560, 6737, 8192, 8194, 8202, 8260,
	8289, 8320, 8322, 8489, 8520, 8704, 8706, 9217, 9220, 9232, 9280, 9302, 9472, 9537, 9572, 9872,
	10248, 10272, 10388, 10820, 16385, 16388, 16400, 16408, 16417, 16420, 16448, 16456, 16470, 16480, 16513, 16516,
	16528, 16640, 16672, 16737, 16768, 16773, 16897, 16912, 16968, 16982, 17000, 17408, 17416, 17440, 17536, 17561,
	17682, 17700, 17920, 18433, 18436, 18448, 18496, 18501, 18688, 18776, 18785, 18818, 19013, 19088, 20480, 20488,
	20497, 20505, 20512, 20608, 20616, 20740, 20802, 20900, 21137, 21648, 21650, 21770, 22017, 22100, 22528, 22545,
	22553, 22628, 22848, 23048, 24580, 24592, 24640, 24680, 24832, 24917, 25112, 25184, 25600, 25605, 25872, 25874,
	25988, 26690, 32768, 32770, 32778, 32833, 32898, 33028, 33048, 33088, 33297, 33793, 33796, 33808, 33813, 33856,
	33888, 34048, 34118, 34196, 34313, 34368, 34400, 34818, 35076, 35345, 36868, 36880, 36900, 36928, 37025, 37142,
	37248, 37445, 37888, 37922, 37956, 38225, 39041, 39200, 40962, 41040, 41093, 41225, 41472, 42008, 43088, 43268,
}
