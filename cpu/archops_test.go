package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/tensor"
)

// TestArchOps: Scale, AddRow, SoftCap and GeGLU against float64 references (GeGLU
// within the fp16 rounding of ggml's GELU table), on shapes that are not multiples of 8.
func TestArchOps(t *testing.T) {
	b := New(1)
	defer b.Close()
	r := rand.New(rand.NewPCG(7, 7))
	const rows, cols = 3, 37
	x := randVec(r, rows*cols)
	for i := range x {
		x[i] *= 4 // reach GELU's |x| >= 10 short-cuts and tanh's flat parts
	}
	x[0], x[1] = 10.5, -12
	bias := randVec(r, cols)
	want := make([]float64, len(x))

	xt := act(b, rows, cols, x)
	b.Scale(xt, 0.125)
	for i, v := range x {
		want[i] = float64(v) * 0.125
	}
	if e := nmse(xt.Floats(), want); e > 1e-14 {
		t.Errorf("Scale NMSE %.3g", e)
	}

	bt := act(b, 1, cols, bias)
	dt := b.Activation(rows, cols).(*Tensor)
	b.AddRow(dt, act(b, rows, cols, x), bt)
	for i, v := range x {
		want[i] = float64(v) + float64(bias[i%cols])
	}
	if e := nmse(dt.Floats(), want); e > 1e-14 {
		t.Errorf("AddRow NMSE %.3g", e)
	}

	xt = act(b, rows, cols, x)
	b.SoftCap(xt, 2.5)
	for i, v := range x {
		want[i] = 2.5 * math.Tanh(float64(v)/2.5)
	}
	if e := nmse(xt.Floats(), want); e > 1e-13 {
		t.Errorf("SoftCap NMSE %.3g", e)
	}

	up := randVec(r, rows*cols)
	b.GeGLU(dt, act(b, rows, cols, x), act(b, rows, cols, up))
	for i, v := range x {
		g := float64(v)
		want[i] = 0.5 * g * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(g+0.044715*g*g*g))) * float64(up[i])
	}
	if e := nmse(dt.Floats(), want); e > 1e-6 || e == 0 {
		t.Errorf("GeGLU NMSE %.3g, want the fp16 table's rounding (0 < e <= 1e-6)", e)
	}
	if got := dt.Floats()[0]; got != 10.5*up[0] {
		t.Errorf("GeGLU(10.5) = %v, want x*up = %v", got, 10.5*up[0])
	}
	if got := dt.Floats()[1]; got != 0 {
		t.Errorf("GeGLU(-12) = %v, want 0", got)
	}
	// The table holds fp16 results of fp16 arguments: 1.0 is exact in fp16.
	if got, want := geluF16(geluTable(), 1), tensor.FP16ToFP32(tensor.FP32ToFP16(0.8411920)); got != want {
		t.Errorf("gelu(1) = %v, want %v", got, want)
	}
}

// TestRopeFactors: each pair's angle divided by its factor, cos and sin multiplied by
// the attention factor, for both pairings.
func TestRopeFactors(t *testing.T) {
	b := New(1)
	defer b.Close()
	r := rand.New(rand.NewPCG(4, 4))
	const nHead, hd, dims = 2, 16, 16
	factors := []float32{1, 1.5, 2.7, 8, 8, 3, 1, 40}
	for _, neox := range []bool{false, true} {
		x := randVec(r, 2*nHead*hd)
		xt := act(b, 2, nHead*hd, x)
		pos := []int32{3, 301}
		b.Rope(xt, pos, backend.RopeParams{NHead: nHead, HeadDim: hd, Dims: dims, Base: 500000, NeoX: neox, Factors: factors, AttnFactor: 1.25})
		want := make([]float64, len(x))
		for row := 0; row < 2; row++ {
			for h := 0; h < nHead; h++ {
				base := row*nHead*hd + h*hd
				for i := 0; i < dims/2; i++ {
					theta := float64(pos[row]) * math.Pow(500000, -2*float64(i)/dims) / float64(factors[i])
					a, c := base+2*i, base+2*i+1
					if neox {
						a, c = base+i, base+i+dims/2
					}
					x0, x1 := float64(x[a]), float64(x[c])
					want[a] = 1.25 * (x0*math.Cos(theta) - x1*math.Sin(theta))
					want[c] = 1.25 * (x0*math.Sin(theta) + x1*math.Cos(theta))
				}
			}
		}
		if e := nmse(xt.Floats(), want); e > 1e-10 {
			t.Errorf("rope with factors neox=%v NMSE %.3g", neox, e)
		}
	}
}

// TestAttentionWindowSoftCap: soft-capped scores and a sliding window against a float64
// reference, on the AVX2 and portable paths (head sizes 32 and 48) and F32/F16 caches.
func TestAttentionWindowSoftCap(t *testing.T) {
	for _, hd := range []int{32, 48} {
		for _, noAsm := range []bool{false, true} {
			b := newBackend(2, noAsm)
			testAttentionWindowSoftCap(t, b, hd)
			b.Close()
		}
	}
}

func testAttentionWindowSoftCap(t *testing.T, b *Backend, hd int) {
	r := rand.New(rand.NewPCG(5, 5))
	const nHead, nKV, n, window = 4, 2, 37, 7
	const softCap = 0.6
	q, k, v := randVec(r, n*nHead*hd), randVec(r, n*nKV*hd), randVec(r, n*nKV*hd)
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	scale := 1 / math.Sqrt(float64(hd))
	want := make([]float64, n*nHead*hd)
	for i := 0; i < n; i++ {
		for h := 0; h < nHead; h++ {
			kvh := h / (nHead / nKV)
			lo := max(0, i-window+1)
			s := make([]float64, i+1-lo)
			maxS := math.Inf(-1)
			for j := lo; j <= i; j++ {
				var d float64
				for e := 0; e < hd; e++ {
					d += float64(q[i*nHead*hd+h*hd+e]) * float64(k[j*nKV*hd+kvh*hd+e])
				}
				s[j-lo] = softCap * math.Tanh(d*scale/softCap)
				maxS = math.Max(maxS, s[j-lo])
			}
			var sum float64
			for j := range s {
				s[j] = math.Exp(s[j] - maxS)
				sum += s[j]
			}
			for e := 0; e < hd; e++ {
				var o float64
				for j := range s {
					o += s[j] / sum * float64(v[(j+lo)*nKV*hd+kvh*hd+e])
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
			backend.AttentionParams{NHead: nHead, NKVHead: nKV, HeadDim: hd, Scale: float32(scale), SoftCap: softCap, Window: window})
		if e := nmse(out.(*Tensor).Floats(), want); e > c.tol {
			t.Errorf("attention window/softcap hd=%d noasm=%v f16=%v NMSE %.3g", hd, b.noAsm, c.f16, e)
		}
	}
}
