package conformance

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/tensor"
)

// BenchResult is the time of one kernel × type × shape.
type BenchResult struct {
	Kernel    string  `json:"kernel"`
	Shape     string  `json:"shape"`
	Calls     int     `json:"calls"`
	USPerCall float64 `json:"us_per_call"` // median
	WeightGBs float64 `json:"weights_gb_per_s,omitempty"`
	GFLOPs    float64 `json:"gflop_per_s,omitempty"`
	Simulated bool    `json:"simulated"`
}

// Bench times the weight kernels (matvec, matvec_wide, matvec_fused with its RMSNorm,
// matmul, matmul_wide) for every type and both RMSNorms. A
// call is Run and Sync: the time of the GPU executing the dispatch (with one commit),
// not of encoding it. Under the simulator the figures describe the simulator, not a GPU.
func Bench(d metal.Device, filter string, calls int) ([]BenchResult, error) {
	var out []BenchResult
	r := rand.New(rand.NewPCG(11, 11))
	for _, t := range metal.WeightTypes() {
		for _, k := range []string{"matvec", "matvec_wide", "matvec_fused", "matmul", "matmul_wide"} {
			rows, cols, ntok := 256, 4096, 1
			launch := metal.LaunchMatVec
			switch k {
			case "matvec_wide": // CUDA's decode matvec
				launch = metal.LaunchMatVecWide
			case "matvec_fused": // CUDA's decode matvec with the RMSNorm of x (x as its weight)
				launch = normMatVecFused
			case "matmul":
				rows, cols, ntok = 64, 1024, 32
				launch = metal.LaunchMatMul
			case "matmul_wide": // CUDA's prompt matmul, on a whole 64 × 64 tile
				rows, cols, ntok = 64, 1024, 64
				launch = metal.LaunchMatMulWide
			}
			name := launch(t, metal.Arg{}, metal.Arg{}, metal.Arg{}, rows, cols, ntok).Kernel
			if filter != "" && !strings.Contains(name, filter) {
				continue
			}
			raw, _, err := quantized(r, t, rows, cols)
			if err != nil {
				return nil, err
			}
			b := &bufs{d: d}
			x := launch(t, b.raw(raw), b.f32(randVec(r, ntok*cols)), b.zeros(4*ntok*rows), rows, cols, ntok)
			us, err := timeIt(b, x, calls)
			b.release()
			if err != nil {
				return nil, err
			}
			out = append(out, BenchResult{Kernel: name, Shape: fmt.Sprintf("%dx%d x %d tok", rows, cols, ntok), Calls: calls,
				USPerCall: us, WeightGBs: float64(len(raw)) / us / 1e3, GFLOPs: 2 * float64(rows*cols*ntok) / us / 1e3,
				Simulated: d.Simulated()})
		}
	}
	for _, launch := range []func(x, w, y metal.Arg, rows, cols int, eps float32) metal.Dispatch{metal.LaunchRMSNorm, metal.LaunchRMSNormWide} {
		name := launch(metal.Arg{}, metal.Arg{}, metal.Arg{}, 8, 4096, 0).Kernel
		if filter != "" && !strings.Contains(name, filter) {
			continue
		}
		b := &bufs{d: d}
		x := launch(b.f32(randVec(r, 8*4096)), b.f32(randVec(r, 4096)), b.zeros(4*8*4096), 8, 4096, 1e-5)
		us, err := timeIt(b, x, calls)
		b.release()
		if err != nil {
			return nil, err
		}
		out = append(out, BenchResult{Kernel: name, Shape: "8x4096", Calls: calls, USPerCall: us, Simulated: d.Simulated()})
	}
	return out, nil
}

// normMatVecFused is matvec_fused's RMSNorm-then-product launch for one weight, with x's
// first row as the norm weight, in LaunchMatVec's form.
func normMatVecFused(t tensor.DType, w, x, y metal.Arg, rows, cols, ntok int) metal.Dispatch {
	return metal.LaunchMatVecFused(metal.MatVecFused{Type: t, W: [3]metal.Arg{w}, Rows: [3]int{rows}, X: x, Norm: x, Eps: 1e-5,
		Y: [3]metal.Arg{y}, Cols: cols, Tokens: ntok, Flags: metal.FusedNorm})
}

// timeIt returns the median time of calls executions of x, each Run then Sync.
func timeIt(b *bufs, x metal.Dispatch, calls int) (float64, error) {
	if err := b.exec(x); err != nil { // warm-up
		return 0, err
	}
	ts := make([]float64, calls)
	for i := range ts {
		t0 := time.Now()
		if err := b.exec(x); err != nil {
			return 0, err
		}
		ts[i] = float64(time.Since(t0).Nanoseconds()) / 1e3
	}
	sort.Float64s(ts)
	return ts[len(ts)/2], nil
}
