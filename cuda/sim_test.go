package cuda

import (
	"errors"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/inferno-go/inferno/kernels"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/metal/conformance"
	"github.com/inferno-go/inferno/metal/sim"
)

func openSim(t *testing.T) *SimDevice {
	t.Helper()
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	d, err := NewSimDevice()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// recordingSim notes the kernels dispatched.
type recordingSim struct {
	*SimDevice
	kernels map[string]bool
}

func (d *recordingSim) Run(x Dispatch) error {
	d.kernels[x.Kernel] = true
	return d.SimDevice.Run(x)
}

// TestSimConformance (cuda-sim): every case of metal/conformance — every CUDA entry
// point × type × shape, launched with metal/launch.go's geometry through MetalDevice
// as the backend launches them on a GPU — against the CPU reference, in the three lane
// orders (forward only with -short), strict; and every entry point of kernels.cu is
// dispatched by some case.
func TestSimConformance(t *testing.T) {
	d := openSim(t)
	rec := &recordingSim{SimDevice: d, kernels: map[string]bool{}}
	md := NewMetalDevice(rec)
	orders := []sim.LaneOrder{sim.Forward, sim.Reverse, sim.Shuffled}
	if testing.Short() {
		orders = orders[:1]
	}
	for _, o := range orders {
		d.Order, d.Seed = o, 42
		start := time.Now()
		rs := conformance.Run(md, "")
		t.Logf("%s lanes: %d cases in %v", o, len(rs), time.Since(start).Round(time.Millisecond))
		for _, r := range rs {
			if !r.Pass {
				t.Errorf("%s [%s lanes]: NMSE %.3g (max %.0g) err %v", r.Name, o, r.NMSE, r.Max, r.Err)
			}
		}
	}
	var missing []string
	for k := range d.Kernels() {
		if !rec.kernels[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		t.Errorf("entry point %s: no conformance case dispatches it", k)
	}
}

// TestSimEntryPointsMatchPTX: the simulator built the entry points the committed PTX
// has, with the same parameter sizes (a pointer is 8 bytes there), so what cuda-sim
// checks is what the GPU runs.
func TestSimEntryPointsMatchPTX(t *testing.T) {
	d := openSim(t)
	want, err := ptxParams(kernels.PTX())
	if err != nil {
		t.Fatal(err)
	}
	got := d.Kernels()
	for k, sizes := range want {
		p, ok := got[k]
		if !ok {
			t.Errorf("%s: in the PTX, not built by the simulator", k)
			continue
		}
		s := make([]int, len(p))
		for i, v := range p {
			s[i] = v
			if v < 0 {
				s[i] = 8
			}
		}
		if !slices.Equal(s, sizes) {
			t.Errorf("%s: parameters %v in the simulator, %v in the PTX", k, s, sizes)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: built by the simulator, not in the PTX (run make kernels)", k)
		}
	}
}

// TestSimContract: cuda-sim keeps the device contract — Run records, Sync executes,
// host access to a pending dispatch's buffer is an UnsyncedAccessError, Release of a
// pending buffer is deferred — and checks dispatches against the entry point.
func TestSimContract(t *testing.T) {
	d := openSim(t)
	md := NewMetalDevice(d)
	buf := func(data []byte) metal.Arg {
		b, err := d.NewBuffer(len(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Write(0, data); err != nil {
			t.Fatal(err)
		}
		return metal.Arg{Buf: b}
	}
	x := buf(f32Bytes([]float32{1, 2, 3, 4}))
	w := buf(f32Bytes([]float32{1, 1, 1, 1}))
	y := buf(make([]byte, 16))
	if err := md.Run(metal.LaunchRMSNorm(x, w, y, 1, 4, 0)); err != nil {
		t.Fatal(err)
	}
	var ue *metal.UnsyncedAccessError
	if err := y.Buf.Read(0, make([]byte, 16)); !errors.As(err, &ue) || ue.Kernel != "rms_norm" {
		t.Errorf("read before Sync: %v, want an UnsyncedAccessError naming rms_norm", err)
	}
	if err := x.Buf.Write(0, make([]byte, 4)); !errors.As(err, &ue) {
		t.Errorf("write before Sync: %v, want an UnsyncedAccessError", err)
	}
	w.Buf.Release() // deferred: the pending dispatch still reads it
	if err := md.Sync(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 16)
	if err := y.Buf.Read(0, got); err != nil {
		t.Fatal(err)
	}
	if e := nmse(floatsOf(got), []float32{0.3651484, 0.7302967, 1.0954452, 1.4605935}); e > 1e-12 {
		t.Errorf("rms_norm: NMSE %g", e)
	}
	if err := md.Run(metal.LaunchRMSNorm(x, w, y, 1, 4, 0)); err == nil || !strings.Contains(err.Error(), "released") {
		t.Errorf("a released buffer: %v", err)
	}

	rms := metal.LaunchRMSNorm(x, x, y, 1, 4, 0)
	for _, c := range []struct {
		name string
		edit func(d *Dispatch)
		want string
	}{
		{"unknown kernel", func(d *Dispatch) { d.Kernel = "no_such_kernel" }, "no kernel"},
		{"argument missing", func(d *Dispatch) { d.Args = d.Args[:3] }, "3 arguments, the kernel takes 4"},
		{"value for a pointer", func(d *Dispatch) { d.Args[0] = Arg{Bytes: make([]byte, 8)} }, "is a value, the kernel's parameter is a pointer"},
		{"buffer for a value", func(d *Dispatch) { d.Args[3] = d.Args[0] }, "argument 3 is a buffer"},
		{"short struct", func(d *Dispatch) { d.Args[3] = Arg{Bytes: make([]byte, 4)} }, "4 value bytes, the kernel's parameter has 8"},
		{"offset", func(d *Dispatch) { d.Args[2].Off = 16 }, "offset 16 outside"},
		{"block", func(d *Dispatch) { d.Threads = [3]int{2048, 1, 1} }, "threads per block"},
		{"shared", func(d *Dispatch) { d.Shared = 64 << 10 }, "48 KiB"},
	} {
		x, err := Convert(rms)
		if err != nil {
			t.Fatal(err)
		}
		c.edit(&x)
		if err := d.Run(x); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if err := d.Sync(); err != nil { // nothing was recorded by the rejected dispatches
		t.Fatal(err)
	}
}
