package conformance

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/inferno-go/inferno/kernels"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/metal/sim"
)

// TestSimulator runs every case in the three lane orders with strict diagnostics.
func TestSimulator(t *testing.T) {
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	dev, err := metal.NewSimDevice()
	if err != nil {
		t.Fatal(err)
	}
	orders := []sim.LaneOrder{sim.Forward, sim.Reverse, sim.Shuffled}
	if testing.Short() {
		orders = orders[:1]
	}
	// INFERNO_CONFORMANCE_FILTER (comma-separated case filters) runs a subset: the arm64
	// build under qemu (scripts/test-sim-arm64.sh) checks the fiber switch, not every case
	filters := []string{""}
	if f := os.Getenv("INFERNO_CONFORMANCE_FILTER"); f != "" {
		filters = strings.Split(f, ",")
		t.Logf("INFERNO_CONFORMANCE_FILTER: only the cases matching %q", filters)
	}
	rec := &recordingDevice{SimDevice: dev, kernels: map[string]bool{}}
	for _, o := range orders {
		dev.Order, dev.Seed = o, 42
		var rs []Result
		for _, f := range filters {
			rs = append(rs, Run(rec, f)...)
		}
		for _, r := range rs {
			if o == sim.Forward {
				t.Logf("%-40s NMSE %.3g (max %.0g) %v", r.Name, r.NMSE, r.Max, r.Elapsed.Round(time.Microsecond))
			}
			if !r.Pass {
				t.Errorf("%s [%s lanes]: NMSE %.3g (max %.0g) err %v", r.Name, o, r.NMSE, r.Max, r.Err)
			}
		}
	}
	if filters[0] != "" {
		return
	}
	// every kernel in the library is checked by some case
	lib, err := sim.Load(kernels.Sources())
	if err != nil {
		t.Fatal(err)
	}
	for k := range lib.Kernels {
		if !rec.kernels[k] {
			t.Errorf("kernel %s: no conformance case dispatches it", k)
		}
	}
}

// recordingDevice notes the kernels dispatched.
type recordingDevice struct {
	*metal.SimDevice
	kernels map[string]bool
}

func (d *recordingDevice) Run(x metal.Dispatch) error {
	d.kernels[x.Kernel] = true
	return d.SimDevice.Run(x)
}

// TestMissingSyncFails: a case written like the others but reading its output after
// Run without Sync fails under the simulator, naming the problem; the same case with
// Sync passes.
func TestMissingSyncFails(t *testing.T) {
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	dev, err := metal.NewSimDevice()
	if err != nil {
		t.Fatal(err)
	}
	rmsNormCase := func(sync bool) func(d metal.Device) (float64, error) {
		return func(d metal.Device) (float64, error) {
			b := &bufs{d: d}
			defer b.release()
			x := []float32{1, 2, 3, 4}
			y := b.zeros(4 * len(x))
			if err := d.Run(metal.LaunchRMSNorm(b.f32(x), b.f32([]float32{1, 1, 1, 1}), y, 1, len(x), 0)); err != nil {
				return 0, err
			}
			if sync {
				if err := d.Sync(); err != nil {
					return 0, err
				}
			}
			got := b.floats(y, len(x)) // the planted bug: without Sync, the GPU has not written y
			want := []float32{0.3651484, 0.7302967, 1.0954452, 1.4605935}
			return b.result(nmse(got, want))
		}
	}
	r := runCase(dev, Case{Family: "planted", Name: "rms_norm without Sync", Max: 1e-7, run: rmsNormCase(false)})
	var ue *metal.UnsyncedAccessError
	if r.Pass || !errors.As(r.Err, &ue) || !strings.Contains(r.Err.Error(), "rms_norm") {
		t.Errorf("missing Sync: pass %v, err %v; want a failure naming an unsynced access after rms_norm", r.Pass, r.Err)
	}
	if r := runCase(dev, Case{Family: "planted", Name: "rms_norm with Sync", Max: 1e-7, run: rmsNormCase(true)}); !r.Pass {
		t.Errorf("with Sync: NMSE %.3g err %v", r.NMSE, r.Err)
	}
}
