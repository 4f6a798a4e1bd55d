package cpu

import (
	"math"
	"sync"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/tensor"
)

// The ops of backend.ArchOps. They run once or twice per layer on small rows, so they are
// plain Go on the calling goroutine.

// Scale: x *= s.
func (b *Backend) Scale(x backend.Tensor, s float32) {
	xs := x.(*Tensor).Floats()
	for i := range xs {
		xs[i] *= s
	}
}

// AddRow: dst[i] = x[i] + bias.
func (b *Backend) AddRow(dst, x, bias backend.Tensor) {
	d, xs, bs := dst.(*Tensor), x.(*Tensor), bias.(*Tensor)
	n := xs.cols
	for r := 0; r < xs.rows; r++ {
		xr, dr := xs.f32[r*n:(r+1)*n], d.f32[r*n:(r+1)*n]
		for i, v := range xr {
			dr[i] = v + bs.f32[i]
		}
	}
}

// SoftCap: x = c * tanh(x * (1/c)), the three ggml ops (scale, tanh, scale) in float32.
func (b *Backend) SoftCap(x backend.Tensor, c float32) {
	softCap(x.(*Tensor).Floats(), c)
}

func softCap(xs []float32, c float32) {
	inv := 1 / c
	for i, v := range xs {
		xs[i] = c * float32(math.Tanh(float64(v*inv)))
	}
}

// GeGLU: dst = gelu(gate) * up with ggml's CPU GELU: the argument rounded to fp16 and
// looked up in a table of fp16 results (|x| >= 10 short-cut to 0 or x).
func (b *Backend) GeGLU(dst, gate, up backend.Tensor) {
	d, g, u := dst.(*Tensor), gate.(*Tensor), up.(*Tensor)
	tab := geluTable()
	n := g.rows * g.cols
	for i := 0; i < n; i++ {
		d.f32[i] = geluF16(tab, g.f32[i]) * u.f32[i]
	}
}

func geluF16(tab *[1 << 16]float32, x float32) float32 {
	switch {
	case x <= -10:
		return 0
	case x >= 10:
		return x
	}
	return tab[tensor.FP32ToFP16(x)]
}

var (
	geluOnce sync.Once
	geluTab  *[1 << 16]float32
)

// geluTable is ggml_table_gelu_f16: for every fp16 x, fp16(gelu_f32(x)), kept as float32.
func geluTable() *[1 << 16]float32 {
	geluOnce.Do(func() {
		geluTab = new([1 << 16]float32)
		for i := range geluTab {
			x := tensor.FP16ToFP32(uint16(i))
			geluTab[i] = tensor.FP16ToFP32(tensor.FP32ToFP16(geluF32(x)))
		}
	})
	return geluTab
}

// geluF32 is ggml_gelu_f32 with each float32 operation rounded (the conversions keep Go
// from fusing multiply-adds).
func geluF32(x float32) float32 {
	const sqrt2OverPi, coefA = float32(0.79788456080286535587989211986876), float32(0.044715)
	inner := float32(sqrt2OverPi*x) * (1 + float32(float32(coefA*x)*x))
	return float32(0.5*x) * (1 + float32(math.Tanh(float64(inner))))
}

var _ backend.ArchOps = (*Backend)(nil)
