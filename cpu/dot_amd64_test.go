//go:build !noasm

package cpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/inferno-go/inferno/tensor"
)

// TestHalfDotsAVX512: every AVX2 and AVX-512 F16/BF16 row dot, the BF16 ones the
// avx512vnni set does not pick on this CPU included (VDPBF16PS or the widening one),
// against the exact float64 sum of the products (each exact in float64), within 1e-6 of
// Σ|terms| (dotTol), over lengths that end in every one of the kernels' tails. It logs
// each kernel's largest error relative to Σ|terms|.
func TestHalfDotsAVX512(t *testing.T) {
	if !hasAVX512VNNI {
		t.Skipf("SKIP: this CPU cannot run the %s set (it runs %v)", SetAVX512VNNI, KernelSets())
	}
	type kernel struct {
		name string
		bf16 bool
		f    func(n int, w, a []byte) float32
	}
	ks := []kernel{{"dotF16RowAVX2", false, dotF16RowAVX2}, {"dotF16RowAVX512", false, dotF16RowAVX512},
		{"dotBF16RowAVX2", true, dotBF16RowAVX2}, {"dotBF16RowAVX512", true, dotBF16RowAVX512}}
	if hasAVX512BF16 {
		ks = append(ks, kernel{"dotBF16RowAVX512BF16", true, dotBF16RowAVX512BF16})
	} else {
		t.Logf("no AVX512-BF16 on this CPU: dotBF16RowAVX512BF16 not tested")
	}
	r := rand.New(rand.NewPCG(41, 41))
	lens := []int{1, 7, 8, 16, 24, 31, 32, 33, 40, 56, 63, 64, 65, 72, 96, 120, 128, 129, 136, 152, 248, 256, 264, 4096 + 120, 4096 + 7}
	for _, k := range ks {
		var worst float64
		for _, n := range lens {
			for rep := 0; rep < 4; rep++ {
				w, a := make([]byte, 2*n), make([]byte, 2*n)
				var exact, mag float64
				for i := 0; i < n; i++ {
					x, y := float32(r.NormFloat64()), float32(r.NormFloat64()*0.1)
					var hx, hy uint16
					if k.bf16 {
						hx, hy = tensor.FP32ToBF16(x), tensor.FP32ToBF16(y)
						x, y = tensor.BF16ToFP32(hx), tensor.BF16ToFP32(hy)
					} else {
						hx, hy = tensor.FP32ToFP16(x), tensor.FP32ToFP16(y)
						x, y = tensor.FP16ToFP32(hx), tensor.FP16ToFP32(hy)
					}
					binary.LittleEndian.PutUint16(w[2*i:], hx)
					binary.LittleEndian.PutUint16(a[2*i:], hy)
					exact += float64(x) * float64(y)
					mag += math.Abs(float64(x) * float64(y))
				}
				got := k.f(n, w, a)
				e := math.Abs(float64(got)-exact) / mag
				worst = max(worst, e)
				if e > 1e-6 {
					t.Errorf("%s n=%d: %v, exact %v (error %.3g of Σ|terms|)", k.name, n, got, exact, e)
				}
			}
		}
		t.Logf("%s: largest error %.3g of Σ|terms|", k.name, worst)
	}
}

// TestQuantizersAVX512LikeAVX2: the AVX-512 activation quantizers write the AVX2 ones'
// bytes (and scales and sums; Q8_1, which has no AVX2 assembly: tensor.QuantizeQ8_1Act's
// and q8_1Scales') for many blocks of values spread over 2^±40, with ties
// after scaling, zeros, and a block's largest magnitude repeated with either sign.
func TestQuantizersAVX512LikeAVX2(t *testing.T) {
	if !hasAVX512VNNI {
		t.Skipf("SKIP: this CPU cannot run the %s set (it runs %v)", SetAVX512VNNI, KernelSets())
	}
	r := rand.New(rand.NewPCG(43, 43))
	const nsb = 400 // super-blocks; 8 Q8_0 blocks each
	x := make([]float32, nsb*256)
	for s := 0; s < nsb; s++ {
		blk := x[s*256 : (s+1)*256]
		scale := float32(math.Ldexp(1, r.IntN(81)-40))
		for i := range blk {
			switch s % 5 {
			case 0:
				blk[i] = scale * float32(r.NormFloat64())
			case 1: // integers and halves: ties after scaling by 1 or 127/amax
				blk[i] = float32(r.IntN(255)-127) / 2
			case 2: // few distinct values: the largest magnitude repeats with both signs
				blk[i] = scale * float32(r.IntN(5)-2)
			case 3: // mostly zeros
				if r.IntN(8) == 0 {
					blk[i] = scale * float32(r.NormFloat64())
				}
			case 4:
				blk[i] = 0
			}
		}
	}
	want, got := make([]byte, nsb*292), make([]byte, nsb*292)
	quantizeQ8_KAVX2(&x[0], nsb, &want[0])
	quantizeQ8_KAVX512(&x[0], nsb, &got[0])
	for s := 0; s < nsb; s++ {
		if string(got[292*s:292*s+292]) != string(want[292*s:292*s+292]) {
			t.Fatalf("Q8_K super-block %d: got\n% x\nwant\n% x", s, got[292*s:292*s+292], want[292*s:292*s+292])
		}
	}
	nb := nsb * 8
	for _, sstride := range []int{1, 2} {
		want, got := make([]byte, nb*34), make([]byte, nb*34)
		wsc, gsc := make([]float32, nb*sstride), make([]float32, nb*sstride)
		quantizeQ8_0AVX2(&x[0], nb, &want[0], &wsc[0], sstride)
		quantizeQ8_0AVX512(&x[0], nb, &got[0], &gsc[0], sstride)
		for i := 0; i < nb; i++ {
			if string(got[34*i:34*i+34]) != string(want[34*i:34*i+34]) {
				t.Fatalf("Q8_0 block %d: got % x, want % x", i, got[34*i:34*i+34], want[34*i:34*i+34])
			}
		}
		for i := range gsc {
			if math.Float32bits(gsc[i]) != math.Float32bits(wsc[i]) {
				t.Fatalf("Q8_0 sstride %d side word %d: %#x, want %#x", sstride, i, math.Float32bits(gsc[i]), math.Float32bits(wsc[i]))
			}
		}
	}
	want1, got1 := make([]byte, nb*36), make([]byte, nb*36)
	wantDS, gotDS := make([]q8_1Scale, nb), make([]q8_1Scale, nb)
	tensor.QuantizeQ8_1Act(x, want1)
	q8_1Scales(want1, nb, wantDS)
	quantizeQ8_1AVX512(&x[0], nb, &got1[0], &gotDS[0].d)
	for i := 0; i < nb; i++ {
		if string(got1[36*i:36*i+36]) != string(want1[36*i:36*i+36]) {
			t.Fatalf("Q8_1 block %d: got % x, want % x", i, got1[36*i:36*i+36], want1[36*i:36*i+36])
		}
		if math.Float32bits(gotDS[i].d) != math.Float32bits(wantDS[i].d) || math.Float32bits(gotDS[i].s) != math.Float32bits(wantDS[i].s) {
			t.Fatalf("Q8_1 block %d: d, s %+v; want %+v", i, gotDS[i], wantDS[i])
		}
	}
}
