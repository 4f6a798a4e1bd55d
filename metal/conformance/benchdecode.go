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

// decodeShapes are TinyLlama-1.1B's decode matrices (rows × cols): q and o, k and v,
// gate and up, down, and the output projection.
var decodeShapes = []struct {
	name       string
	rows, cols int
}{{"q/o", 2048, 2048}, {"k/v", 256, 2048}, {"gate/up", 5632, 2048}, {"down", 2048, 5632}, {"output", 32000, 2048}}

// decodeStream is how many weight bytes one timed Sync streams at least: several times
// an H200's 60 MB L2, so the weights come from device memory as in a decode step.
const decodeStream = 256 << 20

// BenchDecode times the decode matvecs (the target's plain one, and matvec_fused with
// its RMSNorm, as a decode step runs it) at TinyLlama's shapes as a decode step runs them:
// many dispatches back to back in one Sync (on CUDA a graph after the second Sync), each
// reading its own copy of the weights, so a call's time is its GPU time in a stream, not
// the host's launch and wait. The % of bandwidth is of Info().MemoryBandwidth (0: unknown).
// On the simulator each case is one dispatch per Sync (the figures describe the CPU).
func BenchDecode(d metal.Device, types []tensor.DType, filter string, calls int) ([]BenchResult, error) {
	var out []BenchResult
	r := rand.New(rand.NewPCG(12, 12))
	tg := d.Info().Target
	for _, t := range types {
		for _, s := range decodeShapes {
			for _, launch := range []func(t tensor.DType, w, x, y metal.Arg, rows, cols, ntok int) metal.Dispatch{
				func(t tensor.DType, w, x, y metal.Arg, rows, cols, ntok int) metal.Dispatch {
					return metal.LaunchMatVecFor(tg, t, w, x, y, rows, cols, ntok)
				}, normMatVecFused} {
				name := launch(t, metal.Arg{}, metal.Arg{}, metal.Arg{}, s.rows, s.cols, 1).Kernel
				if filter != "" && !strings.Contains(name, filter) {
					continue
				}
				raw, _, err := quantized(r, t, s.rows, s.cols)
				if err != nil {
					return nil, err
				}
				copies := 1
				if !d.Simulated() {
					copies = max(64, (decodeStream+len(raw)-1)/len(raw))
				}
				b := &bufs{d: d}
				x, y := b.f32(randVec(r, s.cols)), b.zeros(4*s.rows)
				ds := make([]metal.Dispatch, copies)
				for i := range ds {
					ds[i] = launch(t, b.raw(raw), x, y, s.rows, s.cols, 1)
				}
				us, err := timeSyncs(b, ds, calls)
				b.release()
				if err != nil {
					return nil, fmt.Errorf("%s %dx%d: %w", name, s.rows, s.cols, err)
				}
				out = append(out, BenchResult{Kernel: name, Shape: fmt.Sprintf("%s %dx%d", s.name, s.rows, s.cols), Calls: calls * copies,
					USPerCall: us, WeightGBs: float64(len(raw)) / us / 1e3, GFLOPs: 2 * float64(s.rows*s.cols) / us / 1e3,
					Simulated: d.Simulated()})
			}
		}
	}
	return out, nil
}

// timeSyncs returns the median over calls Syncs of the time per dispatch of ds, all
// recorded then synced together (two untimed Syncs first: on CUDA the second captures
// the list as a graph).
func timeSyncs(b *bufs, ds []metal.Dispatch, calls int) (float64, error) {
	for range 2 {
		if err := b.exec(ds...); err != nil {
			return 0, err
		}
	}
	ts := make([]float64, calls)
	for i := range ts {
		t0 := time.Now()
		if err := b.exec(ds...); err != nil {
			return 0, err
		}
		ts[i] = float64(time.Since(t0).Nanoseconds()) / 1e3 / float64(len(ds))
	}
	sort.Float64s(ts)
	return ts[len(ts)/2], nil
}
