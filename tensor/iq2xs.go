package tensor

import "encoding/binary"

// IQ2_XS: 256-element super-blocks of d (fp16), 32 little-endian uint16 (a 9-bit index
// into the 512-entry grid and a 7-bit sign group, ksignsIQ2XS, per eight values) and
// eight bytes of two 4-bit scales (one per 16 values): x = d·(0.5+ls)/4·grid·sign.
// 74 bytes; llama.cpp quantizes it only with an importance matrix.

func init() {
	// FileType -1: llama-quantize's file type of this name is a mix, in package quant.
	register(Codec{Type: IQ2_XS, Dequantize: DequantizeIQ2_XS, QuantizeWeighted: checkedWeighted(IQ2_XS, QuantizeIQ2_XS), RequiresImatrix: true,
		Activation: Q8_K, Dot: dotIQ2_XS, KLevels: iq2XSLevels, FileType: -1, Fallback: IQ4_NL})
}

var gridIQ2XS = expandGrid(kgridIQ2XS[:], [3]int8{8, 25, 43})

// DequantizeIQ2_XS is dequantize_row_iq2_xs.
func DequantizeIQ2_XS(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*74 : i*74+74]
		d := f16(b)
		for ib := 0; ib < 8; ib++ {
			db := [2]float32{d * (0.5 + float32(b[66+ib]&0xf)) * 0.25, d * (0.5 + float32(b[66+ib]>>4)) * 0.25}
			for l := 0; l < 4; l++ {
				v := binary.LittleEndian.Uint16(b[2+2*(4*ib+l):])
				g := &gridIQ2XS[v&511]
				signs := ksignsIQ2XS[v>>9]
				y := dst[i*QK_K+32*ib+8*l:]
				for j := 0; j < 8; j++ {
					x := db[l/2] * float32(g[j])
					if signs&(1<<j) != 0 {
						x = -x
					}
					y[j] = x
				}
			}
		}
	}
}

// iq2XSLevels: level = ±grid, group scale 2·ls+1, d/8.
func iq2XSLevels(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	for g := 0; g < 16; g++ {
		sc[g] = 2*int32((b[66+g/2]>>(4*(g%2)))&0xf) + 1
		mn[g] = 0
	}
	for k := 0; k < 32; k++ {
		v := binary.LittleEndian.Uint16(b[2+2*k:])
		g := &gridIQ2XS[v&511]
		signs := ksignsIQ2XS[v>>9]
		for j := 0; j < 8; j++ {
			x := int32(g[j])
			if signs&(1<<j) != 0 {
				x = -x
			}
			q[8*k+j] = x
		}
	}
	return f16(b) / 8, 0
}

// dotIQ2_XS is ggml_vec_dot_iq2_xs_q8_K (iq2Dot).
func dotIQ2_XS(n int, w, a []byte) float32 { return iq2Dot(n, w, a, 74, iq2XSLevels) }

// QuantizeIQ2_XS is quantize_iq2_xs (weights required).
func QuantizeIQ2_XS(src []float32, dst []byte, nPerRow int, weights []float32) {
	g := iqGridFor(IQ2_XS)
	for r := 0; r < len(src)/nPerRow; r++ {
		for ibl := 0; ibl < nPerRow/QK_K; ibl++ {
			o := r*nPerRow + ibl*QK_K
			y := dst[o/QK_K*74 : o/QK_K*74+74]
			xbl, qw := src[o:o+QK_K], weights[ibl*QK_K:]
			sigma2 := float32(superBlockSumSq(xbl) / QK_K)
			idx, signs, scales, maxScale := quantizeIQ2Groups16(g, xbl, func(i int, x float32) float32 {
				return qw[i] * sqrtf(sigma2+float32(x*x))
			}, false)
			clear(y)
			if maxScale == 0 {
				continue
			}
			d := maxScale / 31
			putF16(y, d)
			id := 1 / d
			for ib := 0; ib < 16; ib++ {
				l := uint8(clampInt(nearestInt(0.5*(float32(id*scales[ib])-1)), 0, 15))
				y[66+ib/2] |= l << (4 * (ib % 2))
			}
			for k := 0; k < 32; k++ {
				binary.LittleEndian.PutUint16(y[2+2*k:], idx[k]|uint16(signs[k])<<9)
			}
		}
	}
}

// quantizeIQ2Groups16 is the search of quantize_row_iq2_xs_impl and quantize_row_iq2_s_impl
// over one super-block of sixteen 16-element groups: grid index and signs per eight
// values, scale per group. weightOf(i, x) is the weight of element i (of 256), value x.
// IQ2_XS stores seven signs (iqSignFlip), IQ2_S all eight, and skips groups below 1e-8.
func quantizeIQ2Groups16(g *iqQuantGrid, xbl []float32, weightOf func(i int, x float32) float32, iq2s bool) (indices [32]uint16, signs [32]uint8, scales [16]float32, maxScale float32) {
	const kMaxQ = 3
	var weight, xval, waux [16]float32
	var L, Laux [16]int8
	var onGrid, onGridAux [2]bool
	var blockSigns [2]uint8
	eps := float32(groupMaxEps)
	if iq2s {
		eps = 1e-8
	}
	for ib := 0; ib < 16; ib++ {
		xb := xbl[16*ib : 16*ib+16]
		for i := 0; i < 16; i++ {
			weight[i] = weightOf(16*ib+i, xb[i])
			waux[i] = sqrtf(weight[i])
		}
		for k := 0; k < 2; k++ {
			if iq2s {
				var s uint8
				for i := 0; i < 8; i++ {
					if xb[8*k+i] >= 0 {
						xval[8*k+i] = xb[8*k+i]
					} else {
						xval[8*k+i] = -xb[8*k+i]
						s |= 1 << i
					}
				}
				blockSigns[k] = s
			} else {
				blockSigns[k] = iqSignFlip(xb[8*k:], weight[8*k:], xval[8*k:])
			}
		}
		max := xval[0]
		for _, v := range xval[1:] {
			if v > max {
				max = v
			}
		}
		if max < eps {
			scales[ib] = 0
			if !iq2s {
				L = [16]int8{}
			}
			continue
		}
		var best float32
		scale := max / (2*kMaxQ - 1)
		onGrid = [2]bool{true, true}
		for is := -9; is <= 9; is++ {
			id := (2*kMaxQ - 1 + float32(float32(is)*0.1)) / max
			thisScale := 1 / id
			for k := 0; k < 2; k++ {
				var u uint16
				for i := 0; i < 8; i++ {
					l := clampInt(nearestInt(0.5*(float32(id*xval[8*k+i])-1)), 0, kMaxQ-1)
					Laux[8*k+i] = int8(l)
					u |= uint16(l) << (2 * i)
				}
				onGridAux[k] = true
				if gi, nb := g.lookup(u); gi < 0 {
					onGridAux[k] = false
					g.findBestNeighbour(nb, xval[8*k:], waux[8*k:], thisScale, Laux[8*k:])
				}
			}
			var sumqx, sumq2 float32
			for i := 0; i < 16; i++ {
				w := weight[i]
				q := float32(2*Laux[i] + 1)
				sumqx += float32(w * xval[i] * q)
				sumq2 += float32(w * q * q)
			}
			if sumq2 > 0 && sumqx*sumqx > best*sumq2 {
				scale = sumqx / sumq2
				best = scale * sumqx
				L = Laux
				onGrid = onGridAux
			}
		}
		if (!onGrid[0] || !onGrid[1]) && scale > 0 {
			id := 1 / scale
			for k := 0; k < 2; k++ {
				if onGrid[k] {
					continue
				}
				var u uint16
				for i := 0; i < 8; i++ {
					l := clampInt(nearestInt(0.5*(float32(id*xval[8*k+i])-1)), 0, kMaxQ-1)
					u |= uint16(l) << (2 * i)
					L[8*k+i] = int8(l)
				}
				if gi, nb := g.lookup(u); gi < 0 {
					g.findBestNeighbour(nb, xval[8*k:], waux[8*k:], scale, L[8*k:])
				}
			}
			var sumqx, sumq2 float32
			for i := 0; i < 16; i++ {
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
				blockSigns[k] = ^blockSigns[k]
				if !iq2s {
					blockSigns[k] &= 127
				}
			}
		}
		for k := 0; k < 2; k++ {
			indices[2*ib+k] = uint16(g.onGrid(L[8*k:]))
			signs[2*ib+k] = blockSigns[k]
		}
		scales[ib] = scale
		maxScale = max32(maxScale, scale)
	}
	return
}

// kgridIQ2XS is ggml-quants.c's kgrid_2bit_512 (iq2xs_grid, eight 2-bit levels per entry).
var kgridIQ2XS = [512]uint16{
	0, 2, 5, 8, 10, 17, 20, 22, 25, 32, 34, 37, 40, 65, 68, 70,
	73, 80, 82, 85, 88, 97, 100, 128, 130, 133, 136, 145, 148, 153, 160, 257,
	260, 262, 265, 272, 274, 277, 280, 282, 289, 292, 320, 322, 325, 328, 337, 340,
	352, 360, 385, 388, 400, 512, 514, 517, 520, 529, 532, 544, 577, 580, 592, 597,
	640, 650, 1025, 1028, 1030, 1033, 1040, 1042, 1045, 1048, 1057, 1060, 1088, 1090, 1093, 1096,
	1105, 1108, 1110, 1120, 1153, 1156, 1168, 1280, 1282, 1285, 1288, 1297, 1300, 1312, 1345, 1348,
	1360, 1377, 1408, 1537, 1540, 1552, 1574, 1600, 1602, 1668, 2048, 2050, 2053, 2056, 2058, 2065,
	2068, 2080, 2085, 2113, 2116, 2128, 2136, 2176, 2208, 2218, 2305, 2308, 2320, 2368, 2433, 2441,
	2560, 2592, 2600, 2710, 2720, 4097, 4100, 4102, 4105, 4112, 4114, 4117, 4120, 4129, 4132, 4160,
	4162, 4165, 4168, 4177, 4180, 4192, 4202, 4225, 4228, 4240, 4352, 4354, 4357, 4360, 4369, 4372,
	4384, 4417, 4420, 4432, 4480, 4500, 4502, 4609, 4612, 4614, 4624, 4672, 4704, 5120, 5122, 5125,
	5128, 5137, 5140, 5152, 5185, 5188, 5193, 5200, 5220, 5248, 5377, 5380, 5392, 5440, 5632, 5652,
	5705, 6145, 6148, 6160, 6162, 6208, 6228, 6278, 6400, 6405, 6502, 6737, 6825, 8192, 8194, 8197,
	8200, 8202, 8209, 8212, 8224, 8257, 8260, 8272, 8320, 8352, 8449, 8452, 8464, 8512, 8520, 8549,
	8704, 8738, 8832, 8872, 9217, 9220, 9232, 9257, 9280, 9472, 9537, 9554, 9625, 9729, 9754, 9894,
	10240, 10248, 10250, 10272, 10325, 10376, 10402, 10600, 10640, 10760, 10784, 10882, 10888, 10890, 16385, 16388,
	16390, 16393, 16400, 16402, 16405, 16408, 16417, 16420, 16448, 16450, 16453, 16456, 16458, 16465, 16468, 16480,
	16485, 16513, 16516, 16528, 16640, 16642, 16645, 16648, 16657, 16660, 16672, 16705, 16708, 16720, 16768, 16773,
	16802, 16897, 16900, 16912, 16914, 16937, 16960, 17408, 17410, 17413, 17416, 17425, 17428, 17433, 17440, 17473,
	17476, 17488, 17536, 17556, 17665, 17668, 17680, 17700, 17728, 17818, 17920, 17930, 17988, 18000, 18433, 18436,
	18448, 18496, 18501, 18516, 18530, 18688, 18705, 18756, 18768, 18793, 18948, 20480, 20482, 20485, 20488, 20497,
	20500, 20512, 20520, 20545, 20548, 20560, 20608, 20737, 20740, 20752, 20757, 20800, 20802, 20992, 21060, 21162,
	21505, 21508, 21520, 21537, 21568, 21600, 21633, 21665, 21760, 21768, 21888, 21896, 22049, 22120, 22177, 22528,
	22548, 22593, 22608, 22681, 22810, 22848, 22850, 23173, 24577, 24580, 24592, 24640, 24660, 24674, 24710, 24745,
	24832, 25124, 25162, 25234, 25600, 25622, 25872, 25920, 25925, 26020, 26625, 26730, 26917, 27142, 27220, 27234,
	32768, 32770, 32773, 32776, 32785, 32788, 32800, 32810, 32833, 32836, 32848, 32896, 32898, 32936, 32938, 33025,
	33028, 33030, 33040, 33088, 33105, 33113, 33280, 33312, 33408, 33410, 33440, 33448, 33793, 33796, 33808, 33810,
	33813, 33856, 33888, 33929, 34048, 34116, 34213, 34328, 34410, 34816, 34824, 34853, 34906, 34944, 34946, 34984,
	35078, 35362, 35456, 35464, 35478, 35496, 36865, 36868, 36880, 36928, 36950, 36996, 37120, 37154, 37220, 37462,
	37513, 37888, 37893, 37956, 37968, 37976, 38185, 38288, 38290, 38465, 38993, 39078, 39241, 39445, 39520, 40960,
	40962, 40968, 40970, 40992, 41002, 41120, 41297, 41305, 41382, 41472, 41474, 41480, 41514, 41600, 41632, 42048,
	42133, 42597, 42648, 43018, 43040, 43042, 43048, 43168, 43176, 43268, 43396, 43398, 43560, 43562, 43665, 43690,
}
