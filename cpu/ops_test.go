package cpu

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/tensor"
)

func randVec(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func nmse(a []float32, b []float64) float64 {
	var num, den float64
	for i := range b {
		d := float64(a[i]) - b[i]
		num += d * d
		den += b[i] * b[i]
	}
	return num / den
}

func act(b *Backend, rows, cols int, data []float32) *Tensor {
	t := b.Activation(rows, cols).(*Tensor)
	copy(t.f32, data)
	return t
}

func TestRMSNormAndSwiGLU(t *testing.T) {
	b := New(2)
	defer b.Close()
	r := rand.New(rand.NewPCG(1, 1))
	x, w := randVec(r, 3*96), randVec(r, 96)
	out := b.Activation(3, 96)
	b.RMSNorm(out, act(b, 3, 96, x), act(b, 1, 96, w), 1e-5)
	want := make([]float64, len(x))
	for row := 0; row < 3; row++ {
		var ss float64
		for i := 0; i < 96; i++ {
			ss += float64(x[row*96+i]) * float64(x[row*96+i])
		}
		s := 1 / math.Sqrt(ss/96+1e-5)
		for i := 0; i < 96; i++ {
			want[row*96+i] = float64(x[row*96+i]) * s * float64(w[i])
		}
	}
	if e := nmse(out.(*Tensor).Floats(), want); e > 1e-12 {
		t.Errorf("RMSNorm NMSE %.3g", e)
	}
	g, u := randVec(r, 2*40), randVec(r, 2*40) // 40: groups of 8 plus a scalar tail
	b.SwiGLU(out, act(b, 2, 40, g), act(b, 2, 40, u))
	want = want[:80]
	for i := range want {
		gv := float64(g[i])
		want[i] = gv / (1 + math.Exp(-gv)) * float64(u[i])
	}
	if e := nmse(out.(*Tensor).f32[:80], want); e > 1e-12 {
		t.Errorf("SwiGLU NMSE %.3g", e)
	}
}

// ggml_v_expf of llama.cpp's AVX2 build (c392e50, gcc -mavx2 -mfma): the first two are
// where the AVX-512 form (1 added inside the polynomial) gives another float; -100.5 a
// subnormal result.
var ggmlAVX2Exp = [][2]uint32{
	{0xc2adf70f, 0x00b65ec6}, // -86.9825363
	{0x422fe79e, 0x5f2e27b9}, // 43.9761887
	{0xc2c90000, 0x00000010}, // -100.5
	{0xbf000000, 0x3f1b4597}, // -0.5
	{0x00000000, 0x3f800000}, // 0
	{0x3f800000, 0x402df855}, // 1
	{0x42b00000, 0x7ef882b7}, // 88
}

func TestExpFAccuracy(t *testing.T) {
	for _, v := range ggmlAVX2Exp {
		x := math.Float32frombits(v[0])
		if got := ExpF(x); math.Float32bits(got) != v[1] {
			t.Errorf("ExpF(%v) = %v, ggml_v_expf (AVX2) %v", x, got, math.Float32frombits(v[1]))
		}
		if useAVX2 { // the assembly, one lane block at a time
			blk := [8]float32{x, x, x, x, x, x, x, x}
			if n := expSubAVX2(&blk[0], 8, 0); n == 8 && math.Float32bits(blk[0]) != v[1] {
				t.Errorf("expSubAVX2(%v) = %v, ggml_v_expf (AVX2) %v", x, blk[0], math.Float32frombits(v[1]))
			}
		}
	}
	for x := float32(-87); x < 88; x += 0.0137 { // normal float32 results
		got, want := float64(ExpF(x)), math.Exp(float64(x))
		if math.Abs(got-want) > 3e-7*want {
			t.Fatalf("ExpF(%v) = %v, exp %v", x, got, want)
		}
	}
	if ExpF(float32(math.Inf(-1))) != 0 || !math.IsInf(float64(ExpF(200)), 1) {
		t.Error("ExpF limits")
	}
	// 2^n·(1+j) is rounded once, as the AVX2 build's fma(j, 2^n, 2^n) (normal results)
	for x := float32(-87); x < 88; x += 0.00731 {
		j, n := expFParts(x)
		if got, want := ExpF(x), float32(math.Ldexp(1+float64(j), int(n))); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("ExpF(%v) = %v, once-rounded %v", x, got, want)
		}
	}
	// subnormal results: within one subnormal step of the exact value
	for x := float32(-103); x < -87.4; x += 0.00731 {
		j, n := expFParts(x)
		if got, want := float64(ExpF(x)), math.Ldexp(1+float64(j), int(n)); math.Abs(got-want) > 0x1p-149 {
			t.Fatalf("ExpF(%v) = %v, exact %v", x, got, want)
		}
	}
}

func TestRope(t *testing.T) {
	b := New(1)
	defer b.Close()
	r := rand.New(rand.NewPCG(2, 2))
	const nHead, hd, dims = 3, 16, 12 // partial rotation: dims < head dim
	for _, neox := range []bool{false, true} {
		x := randVec(r, 2*nHead*hd)
		xt := act(b, 2, nHead*hd, x)
		pos := []int32{5, 77}
		b.Rope(xt, pos, backend.RopeParams{NHead: nHead, HeadDim: hd, Dims: dims, Base: 10000, NeoX: neox})
		want := make([]float64, len(x))
		for i := range x {
			want[i] = float64(x[i])
		}
		for row := 0; row < 2; row++ {
			for h := 0; h < nHead; h++ {
				base := row*nHead*hd + h*hd
				for i := 0; i < dims/2; i++ {
					theta := float64(pos[row]) * math.Pow(10000, -2*float64(i)/dims)
					a, c := base+2*i, base+2*i+1
					if neox {
						a, c = base+i, base+i+dims/2
					}
					x0, x1 := float64(x[a]), float64(x[c])
					want[a] = x0*math.Cos(theta) - x1*math.Sin(theta)
					want[c] = x0*math.Sin(theta) + x1*math.Cos(theta)
				}
			}
		}
		if e := nmse(xt.Floats(), want); e > 1e-10 {
			t.Errorf("rope neox=%v NMSE %.3g", neox, e)
		}
	}
}

// TestAttention against a float64 reference with GQA, on an F32 cache (exact up to
// rounding) and an F16 cache (F16 rounding of K, V, q and p).
func TestAttention(t *testing.T) {
	for _, hd := range []int{32, 48, 64} { // 48: not a multiple of 32, the portable path
		for _, noAsm := range []bool{false, true} {
			testAttention(t, newBackend(2, noAsm), hd)
		}
	}
}

func testAttention(t *testing.T, b *Backend, hd int) {
	defer b.Close()
	r := rand.New(rand.NewPCG(3, 3))
	const nHead, nKV, n = 4, 2, 37 // 37 keys: the four-key steps and a tail
	q, k, v := randVec(r, n*nHead*hd), randVec(r, n*nKV*hd), randVec(r, n*nKV*hd)
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	want := make([]float64, n*nHead*hd)
	scale := 1 / math.Sqrt(float64(hd))
	for i := 0; i < n; i++ {
		for h := 0; h < nHead; h++ {
			kvh := h / (nHead / nKV)
			s := make([]float64, i+1)
			maxS := math.Inf(-1)
			for j := 0; j <= i; j++ {
				var d float64
				for e := 0; e < hd; e++ {
					d += float64(q[i*nHead*hd+h*hd+e]) * float64(k[j*nKV*hd+kvh*hd+e])
				}
				s[j] = d * scale
				maxS = math.Max(maxS, s[j])
			}
			var sum float64
			for j := range s {
				s[j] = math.Exp(s[j] - maxS)
				sum += s[j]
			}
			for e := 0; e < hd; e++ {
				var o float64
				for j := range s {
					o += s[j] / sum * float64(v[j*nKV*hd+kvh*hd+e])
				}
				want[i*nHead*hd+h*hd+e] = o
			}
		}
	}
	for _, c := range []struct {
		f16 bool
		tol float64
	}{{false, 1e-10}, {true, 5e-6}} {
		cache := b.NewKVCache(1, 64, nKV*hd, c.f16)
		out := b.Activation(n, nHead*hd)
		b.Attention(out, act(b, n, nHead*hd, q), act(b, n, nKV*hd, k), act(b, n, nKV*hd, v), cache, pos,
			backend.AttentionParams{NHead: nHead, NKVHead: nKV, HeadDim: hd, Scale: float32(scale)})
		if e := nmse(out.(*Tensor).Floats(), want); e > c.tol {
			t.Errorf("attention hd=%d noasm=%v f16=%v NMSE %.3g", hd, b.noAsm, c.f16, e)
		}
	}
}

// TestScaleRoundF16: the vector round to float16 equals FP32ToFP16 for normal,
// subnormal, tiny, huge and tie values.
func TestScaleRoundF16(t *testing.T) {
	if !useAVX2 {
		t.Skip("SKIP: no AVX2 here (or noasm build)")
	}
	r := rand.New(rand.NewPCG(8, 8))
	x := make([]float32, 8192)
	for i := range x {
		switch i % 4 {
		case 0:
			x[i] = float32(r.NormFloat64())
		case 1:
			x[i] = float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(60)-40)))
		case 2: // exactly between two halves
			x[i] = tensor.FP16ToFP32(uint16(r.IntN(0x7bff))) + float32(math.Pow(2, -25))
		default:
			x[i] = math.Float32frombits(r.Uint32())
		}
	}
	for _, s := range []float32{1, 0.37} {
		got := append([]float32(nil), x...)
		scaleRoundF16AVX2(&got[0], len(got), s)
		for i, v := range x {
			want := tensor.FP16ToFP32(tensor.FP32ToFP16(v * s))
			if math.Float32bits(got[i]) != math.Float32bits(want) && !(want != want && got[i] != got[i]) {
				t.Fatalf("%g × %g: %g, FP32ToFP16 gives %g", v, s, got[i], want)
			}
		}
	}
}

// TestMatMul: every weight type against dequantized weights times float activations,
// within the error the activation quantization allows, in every kernel set this
// machine runs (KernelSets: the best, the others, portable).
func TestMatMul(t *testing.T) {
	for _, set := range allKernelSets {
		t.Run(set, func(t *testing.T) {
			if !slices.Contains(KernelSets(), set) {
				t.Skipf("SKIP: this build or CPU cannot run the %s kernels (it runs %v)", set, KernelSets())
			}
			testMatMul(t, set)
		})
	}
}

func testMatMul(t *testing.T, set string) {
	b := newBackendSet(2, set)
	defer b.Close()
	r := rand.New(rand.NewPCG(4, 4))
	// 41 rows: an odd row left over from the two-row tiles and a partial row band;
	// 1, 3, 9 and 39 tokens: the decode kernels, the four- and sixteen-token tiles and
	// their tails (39: two sixteens, a four and three ones).
	const rows, cols = 41, 512
	for _, ntok := range []int{1, 3, 9, 39} {
		x := randVec(r, ntok*cols)
		for _, dt := range tensor.WeightTypes() {
			wf := randVec(r, rows*cols)
			sz, _ := dt.RowSize(rows * cols)
			raw := make([]byte, sz)
			if err := quantizeAny(dt, wf, raw); err != nil {
				t.Fatal(err)
			}
			deq := make([]float32, rows*cols)
			tensor.Dequantize(dt, raw, deq)
			w, err := b.Weight("w", dt, rows, cols, raw)
			if err != nil {
				t.Fatal(err)
			}
			out := b.Activation(ntok, rows)
			b.MatMul(out, w, act(b, ntok, cols, x))
			want := make([]float64, ntok*rows)
			for tk := 0; tk < ntok; tk++ {
				for o := 0; o < rows; o++ {
					var s float64
					for i := 0; i < cols; i++ {
						s += float64(deq[o*cols+i]) * float64(x[tk*cols+i])
					}
					want[tk*rows+o] = s
				}
			}
			tol := 1e-4 // 8-bit activations
			switch dt {
			case tensor.F32:
				tol = 1e-12
			case tensor.F16, tensor.BF16:
				tol = 1e-5
			}
			if e := nmse(out.(*Tensor).Floats(), want); e > tol {
				t.Errorf("%s, %d tokens: MatMul NMSE %.3g > %g", dt, ntok, e, tol)
			}
		}
	}
}

// TestExpSub: the AVX2 exp equals ExpF lane for lane (both are ggml's AVX-512 expf: the
// Go one rounds its fused multiply-adds through float64, so allow 1 ulp, rarely), and
// the portable path is ExpF itself.
func TestExpSub(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, noAsm := range []bool{false, true} {
		b := New(1)
		b.noAsm = noAsm
		for _, n := range []int{1, 7, 8, 9, 64, 1003} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64() * 30) // some lanes below -87: the slow path
			}
			if n > 40 {
				x[17] = float32(math.Inf(-1)) // a masked score
			}
			m := float32(2.5)
			got := append([]float32(nil), x...)
			b.expSub(got, m)
			off := 0
			for i := range x {
				want := ExpF(x[i] - m)
				d := int64(math.Float32bits(got[i])) - int64(math.Float32bits(want))
				if d != 0 {
					off++
				}
				if d < -1 || d > 1 || (noAsm && d != 0) {
					t.Fatalf("noasm=%v n=%d: exp(%v-%v) = %v, ExpF %v", noAsm, n, x[i], m, got[i], want)
				}
			}
			if off > n/100+1 {
				t.Errorf("noasm=%v n=%d: %d lanes 1 ulp off", noAsm, n, off)
			}
		}
		b.Close()
	}
}

// TestSwiGLUPaths: the AVX2 SwiGLU (vector ExpF, scalar division) equals the portable
// one (SiLUF per element) to 1 ulp, including gates far outside exp's fast range.
func TestSwiGLUPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	const rows, cols = 3, 1000 // 1000: groups of 16 and a tail
	g, u := randVec(r, rows*cols), randVec(r, rows*cols)
	for i := range g {
		g[i] *= float32([]float64{1, 10, 100}[i%3])
	}
	var outs [2][]float32
	for k, noAsm := range []bool{false, true} {
		b := newBackend(2, noAsm)
		out := b.Activation(rows, cols)
		b.SwiGLU(out, act(b, rows, cols, g), act(b, rows, cols, u))
		outs[k] = out.(*Tensor).Floats()
		b.Close()
	}
	for i := range outs[0] {
		a, c := outs[0][i], outs[1][i]
		if d := int64(math.Float32bits(a)) - int64(math.Float32bits(c)); a != c && (d > 1 || d < -1) {
			t.Fatalf("gate %g up %g: AVX2 path %g, portable %g", g[i], u[i], a, c)
		}
	}
}

// TestTokenEmbdRepackedOnUse: the token embedding is left in the file's layout at load
// (GetRows reads those bytes) and repacked by its first MatMul (a tied output), whose
// results equal those of the same weight repacked at load.
func TestTokenEmbdRepackedOnUse(t *testing.T) {
	b := New(2)
	defer b.Close()
	r := rand.New(rand.NewPCG(14, 14))
	const rows, cols = 24, 512
	for _, dt := range tensor.WeightTypes() {
		sz, _ := dt.RowSize(rows * cols)
		raw := make([]byte, sz)
		quantizeAny(dt, randVec(r, rows*cols), raw)
		emb, _ := b.Weight("token_embd.weight", dt, rows, cols, raw)
		eager, _ := b.Weight("output.weight", dt, rows, cols, raw)
		if e := emb.(*Tensor); e.x8 != nil || e.rp != nil || !e.lazy {
			t.Fatalf("%s: token_embd repacked at load", dt)
		}
		row := b.Activation(1, cols)
		b.GetRows(row, emb, []int32{5})
		x := act(b, 2, cols, randVec(r, 2*cols))
		got, want := b.Activation(2, rows), b.Activation(2, rows)
		b.MatMul(got, emb, x)
		b.MatMul(want, eager, x)
		for i, v := range want.(*Tensor).Floats() {
			if got.(*Tensor).Floats()[i] != v {
				t.Fatalf("%s: lazily repacked MatMul %v, repacked at load %v", dt, got.(*Tensor).Floats()[i], v)
			}
		}
		deq := make([]float32, rows*cols)
		tensor.Dequantize(dt, raw, deq)
		for i, v := range row.(*Tensor).Floats() {
			if v != deq[5*cols+i] {
				t.Fatalf("%s: GetRows after load %v, want %v", dt, v, deq[5*cols+i])
			}
		}
	}
}

// TestF32Kernels: the F32 dot and axpy (assembly where this build has it, and Go)
// against float64 sums, within 1e-6 of the terms' magnitude, for lengths around the
// kernels' 16- and 4-lane steps.
func TestF32Kernels(t *testing.T) {
	if !useF32Asm {
		t.Log("no F32 assembly in this build: testing the Go loops only")
	}
	r := rand.New(rand.NewPCG(17, 17))
	for _, n := range []int{1, 3, 4, 5, 15, 16, 17, 31, 64, 67, 128, 1000} {
		x, y := randVec(r, n), randVec(r, n)
		var want, mag float64
		for i := range x {
			want += float64(x[i]) * float64(y[i])
			mag += math.Abs(float64(x[i]) * float64(y[i]))
		}
		alpha := float32(r.NormFloat64())
		for _, noAsm := range []bool{false, true} {
			b := newBackend(1, noAsm)
			if got := b.dotF32s(x, y); math.Abs(float64(got)-want) > 1e-6*mag {
				t.Errorf("dot n=%d noasm=%v: %v, want %v", n, noAsm, got, want)
			}
			acc := append([]float32(nil), y...)
			b.axpy(alpha, x, acc)
			for i := range acc {
				w := float64(y[i]) + float64(alpha)*float64(x[i])
				if d := math.Abs(float64(acc[i]) - w); d > 1e-6*(math.Abs(float64(y[i]))+math.Abs(float64(alpha*x[i]))) {
					t.Fatalf("axpy n=%d noasm=%v: y[%d] = %v, want %v", n, noAsm, i, acc[i], w)
				}
			}
		}
	}
}

// TestAttentionAssemblyBits: the AVX2 scores and values kernels give the portable
// path's bits (lanes by e%8 and by key j%8, hsum8), on F32 and F16 caches.
func TestAttentionAssemblyBits(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 kernels in this build or on this CPU: nothing to compare")
	}
	r := rand.New(rand.NewPCG(5, 5))
	for _, hd := range []int{8, 48, 64} {
		const nHead, nKV, n = 4, 2, 45 // 45 keys: eight-key steps and every tail length on the way
		q, k, v := randVec(r, n*nHead*hd), randVec(r, n*nKV*hd), randVec(r, n*nKV*hd)
		pos := make([]int32, n)
		for i := range pos {
			pos[i] = int32(i)
		}
		for _, f16 := range []bool{false, true} {
			var got [2][]float32
			for i, noAsm := range []bool{false, true} {
				b := newBackend(2, noAsm)
				cache := b.NewKVCache(1, 64, nKV*hd, f16)
				out := b.Activation(n, nHead*hd)
				b.Attention(out, act(b, n, nHead*hd, q), act(b, n, nKV*hd, k), act(b, n, nKV*hd, v), cache, pos,
					backend.AttentionParams{NHead: nHead, NKVHead: nKV, HeadDim: hd, Scale: 0.3})
				got[i] = append([]float32(nil), out.(*Tensor).Floats()...)
				b.Close()
			}
			for i := range got[0] {
				if math.Float32bits(got[0][i]) != math.Float32bits(got[1][i]) {
					t.Fatalf("hd=%d f16=%v: element %d (row %d) assembly %g, portable %g", hd, f16, i, i/(nHead*hd), got[0][i], got[1][i])
				}
			}
		}
	}
}
