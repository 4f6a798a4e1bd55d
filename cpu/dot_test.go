package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/inferno-go/inferno/tensor"
)

// TestDotKernels: every matrix-product kernel (assembly when available, and the portable
// one) against tensor's reference dot, within float32 rounding (1e-5 relative to the
// sum of |terms|; integer parts are exact).
func TestDotKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const n = 2048
	for _, dt := range []tensor.DType{tensor.Q4_0, tensor.Q8_0, tensor.Q4_K, tensor.Q6_K, tensor.Q5_K, tensor.Q2_K, tensor.Q3_K, tensor.IQ4_XS, tensor.Q4_1, tensor.Q5_0} {
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
			if d := math.Abs(float64(got - want)); d > 1e-5*math.Max(1, math.Abs(float64(want))) {
				t.Errorf("%s noasm=%v: %v, reference %v", dt, noAsm, got, want)
			}
		}
	}
	if !useAVX2 {
		t.Log("assembly kernels not available here (noasm build or no AVX2): only the portable path was tested")
	}
}

// BenchmarkDotKernels reports GB/s of weights for the matrix-product kernels.
func BenchmarkDotKernels(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const n = 4096
	for _, dt := range []tensor.DType{tensor.Q4_0, tensor.Q8_0, tensor.Q4_K, tensor.Q6_K} {
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
		tensor.QuantizeActivation(vt, x, a)
		wr := w
		switch dt {
		case tensor.Q4_K:
			wr = repackQ4K(w)
		case tensor.Q6_K:
			wr = repackQ6K(w)
		}
		for _, noAsm := range []bool{false, true} {
			name := dt.String() + "/asm"
			if noAsm {
				name = dt.String() + "/go"
			} else if !useAVX2 {
				continue
			}
			be := newBackend(1, noAsm)
			f := be.dotFor(dt)
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(wr)))
				for b.Loop() {
					f(n, wr, a)
				}
			})
		}
	}
}
