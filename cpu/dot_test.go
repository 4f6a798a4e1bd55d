package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/inferno-go/inferno/tensor"
)

// TestDotKernels: the row-by-row kernels (types without an interleaved layout, and the
// portable path for those with one) against tensor's reference dot, within float32
// rounding (dotTol: 1e-6 of the sum of |terms|; integer parts are exact).
func TestDotKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, dt := range []tensor.DType{tensor.F16, tensor.BF16, tensor.Q4_0, tensor.Q8_0, tensor.Q4_K, tensor.Q6_K, tensor.Q5_K, tensor.Q2_K, tensor.Q3_K, tensor.IQ4_XS, tensor.Q4_1, tensor.Q5_0} {
		n := 2048
		if dt == tensor.F16 || dt == tensor.BF16 {
			n = 2047 // the assembly's 8-element steps and the Go tail
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		wsz, _ := dt.RowSize(n)
		w := make([]byte, wsz)
		tensor.Quantize(dt, x, w)
		vt, _ := tensor.VecDotType(dt)
		asz, _ := vt.RowSize(n)
		a := make([]byte, asz)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		tensor.QuantizeActivation(vt, x, a)
		want, _ := tensor.Dot(dt, n, w, a)
		wr := w
		switch dt {
		case tensor.Q4_K:
			wr = repackQ4K(w)
		case tensor.Q6_K:
			wr = repackQ6K(w)
		}
		for _, noAsm := range []bool{false, true} {
			b := newBackend(1, noAsm)
			got := b.dotFor(dt)(n, wr, a)
			if d := math.Abs(float64(got - want)); d > dotTol(dt, vt, n, w, a) {
				t.Errorf("%s noasm=%v: %v, reference %v", dt, noAsm, got, want)
			}
		}
	}
	if !useF16Asm {
		t.Log("no F16/BF16 assembly in this build (noasm, or no AVX2): every row-by-row kernel here is Go")
	}
}

// needX8 skips t loudly unless this build has the x8 kernels of every type in dts.
func needX8(t *testing.T, dts ...tensor.DType) {
	for _, dt := range dts {
		if _, ok := x8Kernels[dt]; !ok {
			t.Skipf("SKIP: no %s interleaved-layout kernel in this build (noasm, or neither AVX2 nor arm64 dot product)", dt)
		}
	}
}

// dotTol is the tolerance of a kernel's dot product of n elements of weight type dt
// (bytes w) and activation type vt (bytes a): 1e-6 of Σ|w_i·a_i| over the dequantized
// values, the rounding a float32 sum of that magnitude may carry (the integer parts are
// exact, the order of the float sums is the kernel's).
func dotTol(dt, vt tensor.DType, n int, w, a []byte) float64 {
	wf, af := make([]float32, n), make([]float32, n)
	tensor.Dequantize(dt, w, wf)
	tensor.Dequantize(vt, a, af)
	var s float64
	for i := range wf {
		s += math.Abs(float64(wf[i]) * float64(af[i]))
	}
	return 1e-6 * s
}

// q4x8Act is what MatMul hands the q4x8 kernels for one Q8_0 activation row: per
// block the float32 scale, then 8·Σa as int32 bits.
func q4x8Act(a []byte, nb int) []float32 {
	sa := make([]float32, 2*nb)
	x8Act(a, nb, sa, 2)
	return sa
}

// TestQuantizeQ8_0: the x8 layouts' activation quantizer (AVX2 on amd64) writes tensor.QuantizeQ8_0Act's bytes
// and x8Act's scales and sums, for random blocks, all-zero blocks, and blocks whose
// values fall on .5 after scaling (round half to even).
func TestQuantizeQ8_0(t *testing.T) {
	if !useQ8KAsm {
		t.Log("no quantizer assembly in this build (noasm, or no AVX2): testing the Go quantizeQ8_0X8")
	}
	r := rand.New(rand.NewPCG(7, 7))
	const nb = 64
	x := randVec(r, nb*32)
	for j := range 32 {
		x[5*32+j] = 0
		x[7*32+j] = float32(j) - 15.5 // amax 127 below: id 1, every value a tie
	}
	x[7*32] = 127
	for i := 10; i < 20; i++ {
		for j := range 32 {
			x[i*32+j] *= float32(math.Pow(10, float64(i-15)))
		}
	}
	want := make([]byte, nb*34)
	tensor.QuantizeQ8_0Act(x, want)
	for _, sstride := range []int{1, 2} {
		wantSc := make([]float32, nb*sstride)
		x8Act(want, nb, wantSc, sstride)
		got, sc := make([]byte, nb*34), make([]float32, nb*sstride)
		quantizeQ8_0X8(x, nb, got, sc, sstride)
		for i := 0; i < nb; i++ {
			if string(got[34*i:34*i+34]) != string(want[34*i:34*i+34]) {
				t.Fatalf("block %d: % x, want % x", i, got[34*i:34*i+34], want[34*i:34*i+34])
			}
		}
		for i := range sc {
			if math.Float32bits(sc[i]) != math.Float32bits(wantSc[i]) {
				t.Fatalf("sstride %d: sc[%d] = %v, want %v", sstride, i, sc[i], wantSc[i])
			}
		}
	}
}

// TestDotX8: the one- and four-token q4x8 (Q4_0) and q8x8 (Q8_0) kernels against
// tensor's reference dot, for 13 rows (a group padded with zero rows) and block counts
// that are one, odd, and many.
func TestDotX8(t *testing.T) {
	needX8(t, tensor.Q4_0, tensor.Q8_0)
	r := rand.New(rand.NewPCG(6, 6))
	const rows = 13
	for _, dt := range []tensor.DType{tensor.Q4_0, tensor.Q8_0} {
		bb := dt.TypeSize()
		for _, n := range []int{32, 96, 416, 1024} {
			nb := n / 32
			raw := make([]byte, rows*nb*bb)
			for row := 0; row < rows; row++ {
				tensor.Quantize(dt, randVec(r, n), raw[row*nb*bb:])
			}
			w, gb, sstride := repackX8(tensor.Q4_0, raw, rows, nb), q4x8GroupBytes(nb), 2*nb
			one, four := dotQ4_0x8, dotQ4_0x8x4
			if dt == tensor.Q8_0 {
				w, gb, sstride = repackX8(tensor.Q8_0, raw, rows, nb), q8x8GroupBytes(nb), nb
				one, four = dotQ8_0x8, dotQ8_0x8x4
			}
			astride := nb*34 + 34 // a gap: the stride, not the row length, must be used
			a := make([]byte, 4*astride)
			sa := make([]float32, 4*sstride)
			for tk := 0; tk < 4; tk++ {
				tensor.QuantizeQ8_0Act(randVec(r, n), a[tk*astride:tk*astride+nb*34])
				s := q4x8Act(a[tk*astride:], nb)
				if dt == tensor.Q8_0 { // scales only
					for i := 0; i < nb; i++ {
						s[i] = s[2*i]
					}
				}
				copy(sa[tk*sstride:(tk+1)*sstride], s)
			}
			for g := 0; g < 2; g++ {
				wg := &w[g*gb]
				var out4 [4][16]float32 // 16 apart: the output stride must be used
				if x8Kernels[dt] == 4 {
					four(nb, wg, &sa[0], &a[0], astride, &out4[0][0], 64)
				}
				for tk := 0; tk < 4; tk++ {
					var out1 [8]float32
					one(nb, wg, &sa[tk*sstride], &a[tk*astride], &out1[0])
					for ri := 0; ri < 8; ri++ {
						row := 8*g + ri
						want, tol := float32(0), 1e-30
						if row < rows {
							wr, at := raw[row*nb*bb:(row+1)*nb*bb], a[tk*astride:tk*astride+nb*34]
							want, _ = tensor.Dot(dt, n, wr, at)
							tol = dotTol(dt, tensor.Q8_0, n, wr, at)
						}
						if math.Abs(float64(out1[ri]-want)) > tol || x8Kernels[dt] == 4 && math.Abs(float64(out4[tk][ri]-want)) > tol {
							t.Errorf("%s n=%d row %d token %d: one-token %v, four-token %v, reference %v", dt, n, row, tk, out1[ri], out4[tk][ri], want)
						}
					}
				}
			}
		}
	}
}

// TestDotQ4Kx8: the one- and two-token q4kx8 kernels against tensor's reference dot for
// 13 rows (a padded group), one and several super-blocks.
func TestDotQ4Kx8(t *testing.T) {
	needX8(t, tensor.Q4_K)
	r := rand.New(rand.NewPCG(11, 11))
	const rows = 13
	for _, n := range []int{256, 1024, 2816} {
		nsb := n / 256
		raw := make([]byte, rows*nsb*144)
		for row := 0; row < rows; row++ {
			tensor.Quantize(tensor.Q4_K, randVec(r, n), raw[row*nsb*144:])
		}
		w := repackX8(tensor.Q4_K, raw, rows, nsb)
		astride := nsb*292 + 292 // a gap: the stride, not the row length, must be used
		a := make([]byte, 2*astride)
		bs := make([]int16, 2*nsb*8)
		for tk := 0; tk < 2; tk++ {
			tensor.QuantizeQ8_K(randVec(r, n), a[tk*astride:tk*astride+nsb*292])
			q8KSums(a[tk*astride:], nsb, bs[tk*nsb*8:])
		}
		for g := 0; g < 2; g++ {
			wg := &w[g*q4kx8GroupBytes(nsb)]
			var out2 [2][16]float32 // 16 apart: the output stride must be used
			if x8Kernels[tensor.Q4_K] == 2 {
				dotQ4Kx8x2(nsb, wg, &a[0], astride, &bs[0], &out2[0][0], 64)
			}
			for tk := 0; tk < 2; tk++ {
				var out1 [8]float32
				dotQ4Kx8(nsb, wg, &a[tk*astride], &bs[tk*nsb*8], &out1[0])
				for ri := 0; ri < 8; ri++ {
					row := 8*g + ri
					want, tol := float32(0), 1e-30
					if row < rows {
						wr, at := raw[row*nsb*144:(row+1)*nsb*144], a[tk*astride:tk*astride+nsb*292]
						want, _ = tensor.Dot(tensor.Q4_K, n, wr, at)
						tol = dotTol(tensor.Q4_K, tensor.Q8_K, n, wr, at)
					}
					if math.Abs(float64(out1[ri]-want)) > tol || x8Kernels[tensor.Q4_K] == 2 && math.Abs(float64(out2[tk][ri]-want)) > tol {
						t.Errorf("n=%d row %d token %d: one-token %v, two-token %v, reference %v", n, row, tk, out1[ri], out2[tk][ri], want)
					}
				}
			}
		}
	}
}

// TestDotQ5Q6Kx8: the one-token q5kx8, q6kx8, q3kx8 and q2kx8 kernels against tensor's reference dot
// for 13 rows (a padded group), one and several super-blocks.
func TestDotQ5Q6Kx8(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	const rows = 13
	for _, dt := range []tensor.DType{tensor.Q5_K, tensor.Q6_K, tensor.Q3_K, tensor.Q2_K} {
		if _, ok := x8Kernels[dt]; !ok {
			t.Logf("SKIP %s: no interleaved-layout kernel for it in this build", dt)
			continue
		}
		bb := dt.TypeSize()
		for _, n := range []int{256, 1024, 2816} {
			nsb := n / 256
			raw := make([]byte, rows*nsb*bb)
			for row := 0; row < rows; row++ {
				tensor.Quantize(dt, randVec(r, n), raw[row*nsb*bb:])
			}
			a := make([]byte, nsb*292)
			tensor.QuantizeQ8_K(randVec(r, n), a)
			var w []byte
			var gb int
			var bs []int16
			var kern func(nsb int, w *byte, a *byte, bs *int16, out *float32)
			switch dt {
			case tensor.Q5_K:
				w, gb, bs, kern = repackX8(tensor.Q5_K, raw, rows, nsb), q5kx8GroupBytes(nsb), make([]int16, nsb*8), dotQ5Kx8
				q8KSums(a, nsb, bs)
			case tensor.Q6_K:
				w, gb, bs, kern = repackX8(tensor.Q6_K, raw, rows, nsb), q6kx8GroupBytes(nsb), make([]int16, nsb*32), dotQ6Kx8
				q8KGroupSums(a, nsb, bs)
			case tensor.Q3_K:
				w, gb, bs, kern = repackX8(tensor.Q3_K, raw, rows, nsb), q3kx8GroupBytes(nsb), make([]int16, nsb*32), dotQ3Kx8
				q8KGroupSums32(a, nsb, bs, 4)
			case tensor.Q2_K:
				w, gb, bs, kern = repackX8(tensor.Q2_K, raw, rows, nsb), q2kx8GroupBytes(nsb), make([]int16, nsb*32), dotQ2Kx8
				q8KGroupSums32(a, nsb, bs, 1)
			}
			for g := 0; g < 2; g++ {
				var out [8]float32
				kern(nsb, &w[g*gb], &a[0], &bs[0], &out[0])
				for ri := 0; ri < 8; ri++ {
					row := 8*g + ri
					want, tol := float32(0), 1e-30
					if row < rows {
						want, _ = tensor.Dot(dt, n, raw[row*nsb*bb:(row+1)*nsb*bb], a)
						tol = dotTol(dt, tensor.Q8_K, n, raw[row*nsb*bb:(row+1)*nsb*bb], a)
					}
					if math.Abs(float64(out[ri]-want)) > tol {
						t.Errorf("%s n=%d row %d: %v, reference %v", dt, n, row, out[ri], want)
					}
				}
			}
		}
	}
}

// TestDotIQ4x8: the one-token IQ4_NL (q4x8 layout) and iq4xsx8 kernels against
// tensor's reference dot for 13 rows (a padded group), one and several blocks.
func TestDotIQ4x8(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 19))
	const rows = 13
	for _, dt := range []tensor.DType{tensor.IQ4_NL, tensor.IQ4_XS} {
		if _, ok := x8Kernels[dt]; !ok {
			t.Logf("SKIP %s: no interleaved-layout kernel for it in this build", dt)
			continue
		}
		bb := dt.TypeSize()
		for _, n := range []int{256, 1024, 2816} {
			nb := n / dt.BlockSize()
			raw := make([]byte, rows*nb*bb)
			for row := 0; row < rows; row++ {
				tensor.Quantize(dt, randVec(r, n), raw[row*nb*bb:])
			}
			vt, _ := tensor.VecDotType(dt)
			asz, _ := vt.RowSize(n)
			a := make([]byte, asz)
			tensor.QuantizeActivation(vt, randVec(r, n), a)
			for g := 0; g < 2; g++ {
				var out [8]float32
				if dt == tensor.IQ4_NL {
					as := make([]float32, nb)
					x8Act(a, nb, as, 1)
					dotIQ4NLx8(nb, &repackX8(tensor.Q4_0, raw, rows, nb)[g*q4x8GroupBytes(nb)], &as[0], &a[0], &out[0])
				} else {
					dotIQ4XSx8(nb, &repackX8(tensor.IQ4_XS, raw, rows, nb)[g*iq4xsx8GroupBytes(nb)], &a[0], &out[0])
				}
				for ri := 0; ri < 8; ri++ {
					row := 8*g + ri
					want, tol := float32(0), 1e-30
					if row < rows {
						wr := raw[row*nb*bb : (row+1)*nb*bb]
						want, _ = tensor.Dot(dt, n, wr, a)
						tol = dotTol(dt, vt, n, wr, a)
					}
					if math.Abs(float64(out[ri]-want)) > tol {
						t.Errorf("%s n=%d row %d: %v, reference %v", dt, n, row, out[ri], want)
					}
				}
			}
		}
	}
}

// TestDotLegacyX8: the one-token Q5_0 (q5x8), Q4_1 (q41x8) and Q5_1 (q51x8) kernels
// against tensor's reference dot for 13 rows (a padded group), one, odd and many blocks.
func TestDotLegacyX8(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 23))
	const rows = 13
	for _, dt := range []tensor.DType{tensor.Q5_0, tensor.Q4_1, tensor.Q5_1} {
		if _, ok := x8Kernels[dt]; !ok {
			t.Logf("SKIP %s: no interleaved-layout kernel for it in this build", dt)
			continue
		}
		bb := dt.TypeSize()
		for _, n := range []int{32, 96, 416, 2048} {
			nb := n / 32
			raw := make([]byte, rows*nb*bb)
			for row := 0; row < rows; row++ {
				tensor.Quantize(dt, randVec(r, n), raw[row*nb*bb:])
			}
			vt, _ := tensor.VecDotType(dt)
			asz, _ := vt.RowSize(n)
			a := make([]byte, asz)
			tensor.QuantizeActivation(vt, randVec(r, n), a)
			side := make([]float32, 2*nb)
			if dt == tensor.Q5_0 {
				x8Act(a, nb, side, 2)
			} else {
				q8_1Scales(a, nb, side)
			}
			w, gb := repackX8(dt, raw, rows, nb), x8Layouts[dt].groupBytes(nb)
			kern := map[tensor.DType]func(int, *byte, *float32, *byte, *float32){tensor.Q5_0: dotQ5_0x8, tensor.Q4_1: dotQ4_1x8, tensor.Q5_1: dotQ5_1x8}[dt]
			for g := 0; g < 2; g++ {
				var out [8]float32
				kern(nb, &w[g*gb], &side[0], &a[0], &out[0])
				for ri := 0; ri < 8; ri++ {
					row := 8*g + ri
					want, tol := float32(0), 1e-30
					if row < rows {
						wr := raw[row*nb*bb : (row+1)*nb*bb]
						want, _ = tensor.Dot(dt, n, wr, a)
						tol = dotTol(dt, vt, n, wr, a)
					}
					if math.Abs(float64(out[ri]-want)) > tol {
						t.Errorf("%s n=%d row %d: %v, reference %v", dt, n, row, out[ri], want)
					}
				}
			}
		}
	}
}

// TestQuantizeQ8_K: the Q8_K activation quantizer's assembly (AVX2, NEON) writes tensor.QuantizeQ8_K's
// bytes for random super-blocks, an all-zero one (±0), one whose largest magnitude occurs
// twice with both signs (the first wins), and ties after scaling (round half to even).
func TestQuantizeQ8_K(t *testing.T) {
	if !useQ8KAsm {
		t.Skip("SKIP: no Q8_K quantizer assembly in this build (noasm, or no AVX2)")
	}
	r := rand.New(rand.NewPCG(29, 29))
	const nsb = 12
	x := randVec(r, nsb*256)
	for j := range 256 {
		x[2*256+j] = float32(math.Copysign(0, float64(j%3-1))) // zeros of both signs
		x[4*256+j] = float32(j%64) - 31.5                      // max −127 below: iscale 1, ties everywhere
	}
	x[4*256+200] = -127
	x[5*256+17], x[5*256+20] = 9, -9   // the first of the two is max (same vector)
	x[3*256+100], x[3*256+200] = -8, 8 // and in different vectors
	x[6*256+255] = -50                 // max in the last element
	for i := 7; i < nsb; i++ {
		for j := range 256 {
			x[i*256+j] *= float32(math.Pow(10, float64(2*i-18)))
		}
	}
	want, got := make([]byte, nsb*292), make([]byte, nsb*292)
	tensor.QuantizeQ8_K(x, want)
	for i := range got {
		got[i] = 0xAA // every byte must be written
	}
	newBackend(1, false).quantizeAct(tensor.Q8_K, x, got)
	for i := 0; i < nsb; i++ {
		if string(got[292*i:292*i+292]) != string(want[292*i:292*i+292]) {
			t.Fatalf("super-block %d: got\n% x\nwant\n% x", i, got[292*i:292*i+292], want[292*i:292*i+292])
		}
	}
}

// TestDotKx8x2: the two-token q5kx8 and q6kx8 kernels against tensor's reference dot,
// for 13 rows (a padded group), one and several super-blocks.
func TestDotKx8x2(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 31))
	const rows = 13
	for _, dt := range []tensor.DType{tensor.Q5_K, tensor.Q6_K} {
		if x8Kernels[dt] != 2 {
			t.Logf("SKIP %s: no two-token kernel for it in this build", dt)
			continue
		}
		bb := dt.TypeSize()
		for _, n := range []int{256, 1024, 2816} {
			nsb := n / 256
			raw := make([]byte, rows*nsb*bb)
			for row := 0; row < rows; row++ {
				tensor.Quantize(dt, randVec(r, n), raw[row*nsb*bb:])
			}
			astride := nsb*292 + 292 // a gap: the stride, not the row length, must be used
			a := make([]byte, 2*astride)
			st := nsb * 8 // side data per token: Q5_K's sub-block sums, Q6_K's group-sum pairs
			if dt == tensor.Q6_K {
				st = nsb * 32
			}
			side := make([]int16, 2*st)
			for tk := 0; tk < 2; tk++ {
				tensor.QuantizeQ8_K(randVec(r, n), a[tk*astride:tk*astride+nsb*292])
				if dt == tensor.Q6_K {
					q8KGroupSums(a[tk*astride:], nsb, side[tk*st:])
				} else {
					q8KSums(a[tk*astride:], nsb, side[tk*st:])
				}
			}
			w, gb, kern := repackX8(tensor.Q5_K, raw, rows, nsb), q5kx8GroupBytes(nsb), dotQ5Kx8x2
			if dt == tensor.Q6_K {
				w, gb, kern = repackX8(tensor.Q6_K, raw, rows, nsb), q6kx8GroupBytes(nsb), dotQ6Kx8x2
			}
			for g := 0; g < 2; g++ {
				var out2 [2][16]float32 // 16 apart: the output stride must be used
				kern(nsb, &w[g*gb], &a[0], astride, &side[0], &out2[0][0], 64)
				for tk := 0; tk < 2; tk++ {
					for ri := 0; ri < 8; ri++ {
						row := 8*g + ri
						want, tol := float32(0), 1e-30
						if row < rows {
							wr, at := raw[row*nsb*bb:(row+1)*nsb*bb], a[tk*astride:tk*astride+nsb*292]
							want, _ = tensor.Dot(dt, n, wr, at)
							tol = dotTol(dt, tensor.Q8_K, n, wr, at)
						}
						if math.Abs(float64(out2[tk][ri]-want)) > tol {
							t.Errorf("%s n=%d row %d token %d: two-token %v, reference %v", dt, n, row, tk, out2[tk][ri], want)
						}
					}
				}
			}
		}
	}
}
