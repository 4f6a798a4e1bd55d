package conformance

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/inferno-go/inferno/metal"
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

// Bench times the weight kernels (matvec, matmul) for every type and a few other ops.
// Under the simulator the figures describe the simulator, not a GPU.
func Bench(d metal.Device, filter string, calls int) ([]BenchResult, error) {
	var out []BenchResult
	r := rand.New(rand.NewPCG(11, 11))
	for _, t := range WeightTypes {
		for _, kind := range []string{"matvec", "matmul"} {
			name := kind + "_" + suffix(t)
			if filter != "" && !strings.Contains(name, filter) {
				continue
			}
			rows, cols, ntok := 256, 4096, 1
			grid, threads := [3]int{rows / 8, 1, 1}, [3]int{64, 1, 1}
			if kind == "matmul" {
				rows, cols, ntok = 64, 1024, 32
				grid, threads = [3]int{rows / 32, 1, 1}, [3]int{128, 1, 1}
			}
			raw, _, err := quantized(r, t, rows, cols)
			if err != nil {
				return nil, err
			}
			b := &bufs{d: d}
			wb, _ := b.raw(raw)
			xb, _ := b.f32(randVec(r, ntok*cols))
			yb, _ := b.zeros(4 * ntok * rows)
			ab, _ := b.args(int32(cols), int32(rows), int32(ntok))
			us, err := timeIt(d, metal.Dispatch{Kernel: name, Buffers: []metal.Buffer{wb, xb, yb, ab}, Grid: grid, Threads: threads}, calls)
			b.release()
			if err != nil {
				return nil, err
			}
			out = append(out, BenchResult{Kernel: name, Shape: fmt.Sprintf("%dx%d x %d tok", rows, cols, ntok), Calls: calls,
				USPerCall: us, WeightGBs: float64(len(raw)) / us / 1e3, GFLOPs: 2 * float64(rows*cols*ntok) / us / 1e3,
				Simulated: d.Simulated()})
		}
	}
	if filter == "" || strings.Contains("rms_norm", filter) {
		b := &bufs{d: d}
		xb, _ := b.f32(randVec(r, 8*4096))
		wb, _ := b.f32(randVec(r, 4096))
		yb, _ := b.zeros(4 * 8 * 4096)
		ab, _ := b.args(int32(4096), float32(1e-5))
		us, err := timeIt(d, metal.Dispatch{Kernel: "rms_norm", Buffers: []metal.Buffer{xb, wb, yb, ab}, Grid: [3]int{8, 1, 1}, Threads: [3]int{32, 1, 1}}, calls)
		b.release()
		if err != nil {
			return nil, err
		}
		out = append(out, BenchResult{Kernel: "rms_norm", Shape: "8x4096", Calls: calls, USPerCall: us, Simulated: d.Simulated()})
	}
	return out, nil
}

func timeIt(d metal.Device, x metal.Dispatch, calls int) (float64, error) {
	if err := d.Run(x); err != nil { // warm-up
		return 0, err
	}
	ts := make([]float64, calls)
	for i := range ts {
		t0 := time.Now()
		if err := d.Run(x); err != nil {
			return 0, err
		}
		ts[i] = float64(time.Since(t0).Nanoseconds()) / 1e3
	}
	sort.Float64s(ts)
	return ts[len(ts)/2], nil
}
