package tensor

// TQ1_0 (256-element super-blocks, 54 bytes: qs[48], qh[4], then d): ternary values in
// base 3, five to a byte in qs and four in qh, each byte stored as ⌈c·256/243⌉ of its
// base-3 number c so that trit n is the top bits of byte·3ⁿ·3. Order: trit n of qs[m]
// is element 32n + m for m < 32, 160 + 16n + (m−32) after; trit n of qh[j] is element
// 240 + 4n + j. x = d·(trit − 1).

func init() {
	register(Codec{Type: TQ1_0, Dequantize: DequantizeTQ1_0, Quantize: QuantizeTQ1_0, Activation: Q8_K, Dot: dotTQ1_0,
		KLevels: tq1Levels, Fallback: Q4_0, // llama-quantize's, for rows not whole blocks
		// llama-quantize's TQ1_0 file type is a mix (token_embd and output at other types), in package quant.
		FileType: -1})
}

// trit is base-3 digit n (from the top) of a TQ1_0 byte.
func trit(b uint8, n int) int32 {
	q := b * [5]uint8{1, 3, 9, 27, 81}[n]
	return int32(uint16(q) * 3 >> 8)
}

// tq1Levels unpacks one block's trits as levels trit − 1, all in one group of scale 1.
func tq1Levels(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	for n := 0; n < 5; n++ {
		for m := 0; m < 32; m++ {
			q[32*n+m] = trit(b[m], n) - 1
		}
		for m := 0; m < 16; m++ {
			q[160+16*n+m] = trit(b[32+m], n) - 1
		}
	}
	for n := 0; n < 4; n++ {
		for j := 0; j < 4; j++ {
			q[240+4*n+j] = trit(b[48+j], n) - 1
		}
	}
	for g := range sc {
		sc[g], mn[g] = 1, 0
	}
	return f16(b[52:]), 0
}

// DequantizeTQ1_0 is dequantize_row_tq1_0.
func DequantizeTQ1_0(src []byte, dst []float32) {
	var k kBlock
	for i := 0; i < len(dst)/QK_K; i++ {
		d, _ := tq1Levels(src[i*54:], &k.q, &k.sc, &k.mn)
		for j, q := range k.q {
			dst[i*QK_K+j] = float32(q) * d
		}
	}
}

// dotTQ1_0 is ggml_vec_dot_tq1_0_q8_K in its AVX2 order (ternaryDot).
func dotTQ1_0(n int, w, a []byte) float32 {
	var k kBlock
	var acc lanes8
	for i := 0; i < n/QK_K; i++ {
		d, _ := tq1Levels(w[i*54:], &k.q, &k.sc, &k.mn)
		ternaryDot(&acc, &k.q, d, a[i*292:])
	}
	return acc.hsum()
}

// tritsByte packs ternary codes c (0, 1, 2; the first one most significant) as
// ⌈c·256/243⌉; a group of four is shifted up a digit first.
func tritsByte(x []float32, stride, count int, id float32) uint8 {
	var q uint8
	for n := 0; n < count; n++ {
		q = q*3 + ternaryCode(x[n*stride], id)
	}
	if count == 4 {
		q *= 3
	}
	return uint8((uint16(q)*256 + 242) / 243)
}

// QuantizeTQ1_0 is quantize_row_tq1_0_ref (llama-quantize ignores an importance matrix
// for the ternary types).
func QuantizeTQ1_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK_K; i++ {
		x, b := src[i*QK_K:i*QK_K+QK_K], dst[i*54:i*54+54]
		d, id := ternaryScale(x)
		putF16(b[52:], d)
		for m := 0; m < 32; m++ {
			b[m] = tritsByte(x[m:], 32, 5, id)
		}
		for m := 0; m < 16; m++ {
			b[32+m] = tritsByte(x[160+m:], 16, 5, id)
		}
		for j := 0; j < 4; j++ {
			b[48+j] = tritsByte(x[240+j:], 4, 4, id)
		}
	}
}
