package cpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/inferno-go/inferno/tensor"
)

// TestDotKernels: the row-by-row kernels (types without an interleaved layout, and the
// portable path for those with one, through its row layout) of every weight type, in
// every kernel set this machine runs, against tensor's reference dot, within float32 rounding (dotTol: 1e-6 of the sum of
// |terms|; integer parts are exact).
func TestDotKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, dt := range tensor.WeightTypes() {
		n := 2048
		if !dt.Quantized() {
			n = 2047 // the assembly's 8-element steps and the Go tail
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		wsz, _ := dt.RowSize(n)
		w := make([]byte, wsz)
		quantizeAny(dt, x, w)
		vt, _ := tensor.VecDotType(dt)
		asz, _ := vt.RowSize(n)
		a := make([]byte, asz)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		tensor.QuantizeActivation(vt, x, a)
		want, _ := tensor.Dot(dt, n, w, a)
		wr := w
		if rl, ok := rowLayouts[dt]; ok {
			wr = rl.repack(make([]byte, rl.rowBytes(n)), w)
		}
		for _, set := range KernelSets() {
			got := newBackendSet(1, set).dotFor(dt)(n, wr, a)
			if d := math.Abs(float64(got - want)); d > dotTol(dt, vt, n, w, a) {
				t.Errorf("%s %s: %v, reference %v", dt, set, got, want)
			}
		}
	}
	if sk := setKernelsOf(KernelSets()[0]); sk.dotF16 == nil {
		t.Log("no F16/BF16 assembly in this build (noasm, or no AVX2): every row-by-row kernel here is Go")
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

// TestQuantizeQ8_0: the x8 layouts' activation quantizers of every kernel set this
// machine runs (assembly but in the portable set) write tensor.QuantizeQ8_0Act's bytes
// and q8_0Scales' scales or q8_0ScaleSums' scales and sums, for random blocks, all-zero
// blocks, and blocks whose values fall on .5 after scaling (round half to even).
func TestQuantizeQ8_0(t *testing.T) {
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
	wantSc, wantSS := make([]float32, nb), make([]q8ScaleSum, nb)
	q8_0Scales(want, nb, wantSc)
	q8_0ScaleSums(want, nb, wantSS)
	for _, set := range KernelSets() {
		sk := setKernelsOf(set)
		if sk.q8_0 == nil {
			t.Logf("%s: no quantizer assembly: testing the Go path", set)
		}
		got1, got2 := make([]byte, nb*34), make([]byte, nb*34)
		sc, ss := make([]float32, nb), make([]q8ScaleSum, nb)
		quantizeQ8_0Scales(&sk, x, nb, got1, sc)
		quantizeQ8_0ScaleSums(&sk, x, nb, got2, ss)
		for i := 0; i < nb; i++ {
			for _, got := range [][]byte{got1, got2} {
				if string(got[34*i:34*i+34]) != string(want[34*i:34*i+34]) {
					t.Fatalf("%s block %d: % x, want % x", set, i, got[34*i:34*i+34], want[34*i:34*i+34])
				}
			}
			if math.Float32bits(sc[i]) != math.Float32bits(wantSc[i]) || math.Float32bits(ss[i].d) != math.Float32bits(wantSS[i].d) || ss[i].sum8 != wantSS[i].sum8 {
				t.Fatalf("%s block %d: scale %v, scale and sum %+v; want %v, %+v", set, i, sc[i], ss[i], wantSc[i], wantSS[i])
			}
		}
	}
}

// TestQuantizeQ8_1: the Q8_1 activation quantizer of every kernel set this machine runs
// (assembly in avx512vnni, Go elsewhere) writes tensor.QuantizeQ8_1Act's bytes and
// q8_1Scales' d and s, on TestQuantizeQ8_0's blocks.
func TestQuantizeQ8_1(t *testing.T) {
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
	want := make([]byte, nb*36)
	tensor.QuantizeQ8_1Act(x, want)
	wantDS := make([]q8_1Scale, nb)
	q8_1Scales(want, nb, wantDS)
	for _, set := range KernelSets() {
		sk := setKernelsOf(set)
		got, ds := make([]byte, nb*36), make([]q8_1Scale, nb)
		quantizeQ8_1Scales(&sk, x, nb, got, ds)
		for i := 0; i < nb; i++ {
			if string(got[36*i:36*i+36]) != string(want[36*i:36*i+36]) {
				t.Fatalf("%s block %d: % x, want % x", set, i, got[36*i:36*i+36], want[36*i:36*i+36])
			}
			if math.Float32bits(ds[i].d) != math.Float32bits(wantDS[i].d) || math.Float32bits(ds[i].s) != math.Float32bits(wantDS[i].s) {
				t.Fatalf("%s block %d: d, s %+v; want %+v", set, i, ds[i], wantDS[i])
			}
		}
	}
}

// TestQuantizeF16: every kernel set's F16 activation conversion (VCVTPS2PH in the
// assembly sets) writes tensor.QuantizeF16's bits (ggml_fp32_to_fp16_row's) for values
// over the whole float32 range: normal and subnormal halves, ties at each, overflow to
// infinity, infinities, NaNs and signed zeros, in rows whose lengths end in every tail.
func TestQuantizeF16(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 47))
	x := make([]float32, 1<<16+13)
	for i := range x {
		switch i % 4 {
		case 0: // any bits
			x[i] = math.Float32frombits(r.Uint32())
		case 1: // around the half range, subnormals and overflow included
			x[i] = float32(math.Ldexp(r.NormFloat64(), r.IntN(50)-30))
		case 2: // a tie between two halves (or one ulp either side)
			h := uint16(r.Uint32()) &^ 0x8000 % 0x7bff
			lo, hi := tensor.FP16ToFP32(h), tensor.FP16ToFP32(h+1)
			mid := math.Float32bits((lo + hi) / 2)
			x[i] = math.Float32frombits(mid + uint32(r.IntN(3)) - 1)
		case 3:
			x[i] = []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 65504, 65520, -65519.99, 5.96e-8, 2.98e-8, -2.99e-8}[r.IntN(11)]
		}
	}
	want := make([]byte, 2*len(x))
	tensor.QuantizeF16(x, want)
	for _, set := range KernelSets() {
		b := newBackendSet(1, set)
		for _, n := range []int{1, 7, 8, 15, 16, 24, 31, 4096, len(x)} {
			got := make([]byte, 2*n)
			b.quantizeAct(tensor.F16, x[:n], got)
			for i := 0; i < n; i++ {
				if got[2*i] != want[2*i] || got[2*i+1] != want[2*i+1] {
					t.Fatalf("%s n=%d: element %d (%v, %#x): %#x, want %#x", set, n, i, x[i], math.Float32bits(x[i]),
						binary.LittleEndian.Uint16(got[2*i:]), binary.LittleEndian.Uint16(want[2*i:]))
				}
			}
		}
	}
}

// TestX8Kernels: every interleaved layout this build has kernels for (x8Types), in each
// assembly kernel set of the architecture (forKernelSets), its one- and many-token
// kernels against tensor's reference dot, through the layout's own repack and the
// kernels' activation preparation: 13 rows (a group padded with zero rows; all-zero
// blocks, the largest and the smallest fp16 scales in some rows), rows of
// one, odd and many blocks, sixteen tokens' activations a block apart more than a row (the
// stride, not the row length, must be used) and many-token results 16 floats apart. The
// many-token kernel gives each token the one-token kernel's bits.
func TestX8Kernels(t *testing.T) {
	forKernelSets(t, func(t *testing.T, set string) {
		if len(x8Types) == 0 {
			t.Fatalf("%s runs here but no interleaved layout registered", set)
		}
		for _, dt := range tensor.WeightTypes() {
			xt := x8Types[dt]
			if xt == nil {
				if dt.Quantized() {
					t.Logf("%s: no interleaved-layout kernels in this build (TestDotKernels tests its row-by-row path)", dt)
				}
				continue
			}
			if set == SetAVX512VNNI && vnniKernels[dt].one == nil {
				t.Logf("%s: no %s kernels; the set runs its AVX2 ones (tested under %s)", dt, set, SetAVX2)
				continue
			}
			if set == SetAVX512AMX && amxKernels[dt].one == nil {
				t.Logf("%s: no %s kernels; the set runs its avx512vnni or AVX2 ones (tested under those)", dt, set)
				continue
			}
			testX8Kernels(t, dt, xt, xt.sets[set])
		}
	})
}

func testX8Kernels(t *testing.T, dt tensor.DType, xt *x8Type, kern *x8Kernels) {
	r := rand.New(rand.NewPCG(6, 6))
	const rows, ntok = 13, 16
	if kern.many != nil && ntok%kern.tokens != 0 {
		t.Fatalf("%s: a %d-token kernel; the test runs %d tokens", dt, kern.tokens, ntok)
	}
	lens := []int{32, 96, 416, 2048}
	if xt.block == tensor.QK_K {
		lens = []int{256, 1024, 2816}
	}
	vt, _ := tensor.VecDotType(dt)
	for _, n := range lens {
		nb := n / xt.block
		rb, _ := dt.RowSize(n)
		raw := make([]byte, rows*rb)
		for row := 0; row < rows; row++ {
			quantizeAny(dt, randVec(r, n), raw[row*rb:])
		}
		// all-zero blocks, and rows whose every block has the largest or the smallest
		// (subnormal) fp16 scales
		bs := dt.TypeSize()
		clear(raw[3*rb : 3*rb+bs])
		clear(raw[10*rb-bs : 10*rb])
		for b := 0; b < rb; b += bs {
			setBlockScales(dt, raw[10*rb+b:10*rb+b+bs], 0x7bff)
			setBlockScales(dt, raw[11*rb+b:11*rb+b+bs], 0x0001)
		}
		gb := xt.groupBytes(nb)
		w := make([]byte, (rows+7)/8*gb)
		xt.repack(w, raw, nb, 0, rows)
		arb, _ := vt.RowSize(n)
		arb += vt.TypeSize()
		mm := &matmulOp{ntok: ntok, k: n, vt: vt, arb: arb, act: make([]byte, ntok*arb),
			x: &Tensor{rows: ntok, cols: n, dt: tensor.F32, f32: randVec(r, ntok*n)}}
		mm.setX8(xt, kern, &sideBufs{})
		for tk := 0; tk < ntok; tk++ {
			kern.prepare(mm, tk)
		}
		for g := 0; g < 2; g++ {
			wg := &w[g*gb]
			var one [ntok][8]float32
			var many, mid [ntok][16]float32 // 16 apart: the output stride must be used
			for tk := 0; tk < ntok; tk++ {
				kern.one(mm, wg, tk, &one[tk][0], 32)
				if kern.many != nil && tk%kern.tokens == 0 {
					kern.many(mm, wg, tk, &many[tk][0], 64)
				}
				if kern.mid != nil && tk%kern.midTokens == 0 {
					kern.mid(mm, wg, tk, &mid[tk][0], 64)
				}
			}
			for tk := 0; tk < ntok; tk++ {
				for ri := 0; ri < 8; ri++ {
					row := 8*g + ri
					want, tol := float32(0), 1e-30
					if row < rows {
						wr, at := raw[row*rb:(row+1)*rb], mm.actRow(tk)
						want, _ = tensor.Dot(dt, n, wr, at)
						tol = dotTol(dt, vt, n, wr, at)
					}
					if math.Abs(float64(one[tk][ri]-want)) > tol {
						t.Errorf("%s n=%d row %d token %d: one-token kernel %v, reference %v", dt, n, row, tk, one[tk][ri], want)
					}
					if kern.many != nil && math.Abs(float64(many[tk][ri]-want)) > tol {
						t.Errorf("%s n=%d row %d token %d: %d-token kernel %v, reference %v", dt, n, row, tk, kern.tokens, many[tk][ri], want)
					}
					// a token's result may not depend on its batch (EvalBatch's results are Eval's)
					if kern.many != nil && math.Float32bits(many[tk][ri]) != math.Float32bits(one[tk][ri]) {
						t.Errorf("%s n=%d row %d token %d: %d-token kernel %v, one-token kernel %v: not the same bits", dt, n, row, tk, kern.tokens, many[tk][ri], one[tk][ri])
					}
					if kern.mid != nil && math.Float32bits(mid[tk][ri]) != math.Float32bits(one[tk][ri]) {
						t.Errorf("%s n=%d row %d token %d: %d-token kernel %v, one-token kernel %v: not the same bits", dt, n, row, tk, kern.midTokens, mid[tk][ri], one[tk][ri])
					}
				}
			}
		}
	}
}

// TestQuantizeQ8_K: the Q8_K activation quantizer's assembly of every kernel set this
// machine runs (AVX2, AVX-512, NEON) writes tensor.QuantizeQ8_K's bytes for random
// super-blocks, an all-zero one (±0), one whose largest magnitude occurs twice with both
// signs (the first wins), and ties after scaling (round half to even).
func TestQuantizeQ8_K(t *testing.T) {
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
	want := make([]byte, nsb*292)
	tensor.QuantizeQ8_K(x, want)
	tested := 0
	for _, set := range KernelSets() {
		if setKernelsOf(set).q8K == nil {
			continue
		}
		tested++
		got := make([]byte, nsb*292)
		for i := range got {
			got[i] = 0xAA // every byte must be written
		}
		newBackendSet(1, set).quantizeAct(tensor.Q8_K, x, got)
		for i := 0; i < nsb; i++ {
			if string(got[292*i:292*i+292]) != string(want[292*i:292*i+292]) {
				t.Fatalf("%s super-block %d: got\n% x\nwant\n% x", set, i, got[292*i:292*i+292], want[292*i:292*i+292])
			}
		}
	}
	if tested == 0 {
		t.Skipf("SKIP: no Q8_K quantizer assembly in this build or CPU (sets %v)", KernelSets())
	}
}

// quantizeAny quantizes to any type, with unit importance weights (one row) for the
// types that require them (IQ2_XXS, IQ2_XS, IQ1_S).
func quantizeAny(dt tensor.DType, x []float32, q []byte) error {
	if c, _ := tensor.CodecOf(dt); c.RequiresImatrix {
		w := make([]float32, len(x))
		for i := range w {
			w[i] = 1
		}
		return tensor.QuantizeWeighted(dt, x, q, len(x), w)
	}
	return tensor.Quantize(dt, x, q)
}

// BenchmarkQuantizeAct is each kernel set's activation quantizers (and F16 conversion)
// on one token of 4096 floats (with the side data the x8 kernels take), reporting GB/s of float input.
func BenchmarkQuantizeAct(b *testing.B) {
	const n = 4096
	x := randVec(rand.New(rand.NewPCG(3, 4)), n)
	for _, set := range KernelSets() {
		sk := setKernelsOf(set)
		q0, ss := make([]byte, n/32*34), make([]q8ScaleSum, n/32)
		q1, ds := make([]byte, n/32*36), make([]q8_1Scale, n/32)
		qk, h := make([]byte, n/256*292), make([]byte, 2*n)
		for _, c := range []struct {
			name string
			f    func()
		}{
			{"Q8_0", func() { quantizeQ8_0ScaleSums(&sk, x, n/32, q0, ss) }},
			{"Q8_1", func() { quantizeQ8_1Scales(&sk, x, n/32, q1, ds) }},
			{"Q8_K", func() { quantizeQ8K(&sk, x, qk) }},
			{"F16", func() { quantizeF16(&sk, x, h) }},
		} {
			b.Run(set+"/"+c.name, func(b *testing.B) {
				b.SetBytes(4 * n)
				for b.Loop() {
					c.f()
				}
			})
		}
	}
}
