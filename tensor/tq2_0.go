package tensor

// TQ2_0 (256-element super-blocks, 66 bytes: qs[64], then d): ternary values, four
// 2-bit codes c a byte (value c − 1); byte m of each 32-byte half holds elements
// 128h + 32l + m in bits 2l. x = d·(c − 1).

func init() {
	register(Codec{Type: TQ2_0, Dequantize: DequantizeTQ2_0, Quantize: QuantizeTQ2_0, Activation: Q8_K, Dot: dotTQ2_0,
		KLevels: tq2Levels, Fallback: Q4_0, // llama-quantize's, for rows not whole blocks
		// llama-quantize's TQ2_0 file type is a mix (token_embd and output at other types), in package quant.
		FileType: -1})
}

// tq2Levels unpacks one block's codes as levels c − 1, all in one group of scale 1.
func tq2Levels(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32) {
	for h := 0; h < 2; h++ {
		for l := 0; l < 4; l++ {
			for m := 0; m < 32; m++ {
				q[128*h+32*l+m] = int32(b[32*h+m]>>(2*l)&3) - 1
			}
		}
	}
	for g := range sc {
		sc[g], mn[g] = 1, 0
	}
	return f16(b[64:]), 0
}

// DequantizeTQ2_0 is dequantize_row_tq2_0.
func DequantizeTQ2_0(src []byte, dst []float32) {
	var k kBlock
	for i := 0; i < len(dst)/QK_K; i++ {
		d, _ := tq2Levels(src[i*66:], &k.q, &k.sc, &k.mn)
		for j, q := range k.q {
			dst[i*QK_K+j] = float32(q) * d
		}
	}
}

// dotTQ2_0 is ggml_vec_dot_tq2_0_q8_K in its AVX2 order (ternaryDot).
func dotTQ2_0(n int, w, a []byte) float32 {
	var k kBlock
	var acc lanes8
	for i := 0; i < n/QK_K; i++ {
		d, _ := tq2Levels(w[i*66:], &k.q, &k.sc, &k.mn)
		ternaryDot(&acc, &k.q, d, a[i*292:])
	}
	return acc.hsum()
}

// ternaryDot adds one TQ super-block of levels q (−1, 0, 1) and scale d times the Q8_K
// activation block ab to acc the way the AVX2 kernels of TQ1_0 and TQ2_0 do: each lane's
// Σ (q+1)·a minus the two bsums of its index, then acc += float(sum)·(d_a·d). The C
// writes a multiply and an add; the compiler fuses them (-march with FMA, GNU C's
// default -ffp-contract=fast), and the vectors agree only with the fused form.
func ternaryDot(acc *lanes8, q *[QK_K]int32, d float32, ab []byte) {
	var sums [8]int32
	for p, v := range q {
		sums[lane(p)] += (v + 1) * int32(int8(ab[4+p]))
	}
	for l := range sums {
		sums[l] -= int32(int16(uint16(ab[260+4*l])|uint16(ab[261+4*l])<<8)) + int32(int16(uint16(ab[262+4*l])|uint16(ab[263+4*l])<<8))
	}
	acc.fma(f32le(ab)*d, &sums)
}

// QuantizeTQ2_0 is quantize_row_tq2_0_ref (llama-quantize ignores an importance matrix
// for the ternary types).
func QuantizeTQ2_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK_K; i++ {
		x, b := src[i*QK_K:i*QK_K+QK_K], dst[i*66:i*66+66]
		d, id := ternaryScale(x)
		putF16(b[64:], d)
		for h := 0; h < 2; h++ {
			for m := 0; m < 32; m++ {
				var c uint8
				for l := 0; l < 4; l++ {
					c |= ternaryCode(x[128*h+32*l+m], id) & 3 << (2 * l)
				}
				b[32*h+m] = c
			}
		}
	}
}

// ternaryScale is the TQ quantizers' d = max |x| of the block and its inverse (0 for 0).
func ternaryScale(x []float32) (d, id float32) {
	for _, v := range x {
		d = maxf(d, absf(v))
	}
	if d != 0 {
		id = 1 / d
	}
	return d, id
}

// ternaryCode is lroundf(x·id) + 1: 0, 1 or 2 for −1, 0, 1.
func ternaryCode(x, id float32) uint8 { return uint8(int(roundf(x*id)) + 1) }
