package cuda

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/metal"
)

// The CUDA kernels against the CPU reference on a real GPU, with llama.cpp
// test-backend-ops's thresholds (NMSE ≤ 1e-7 for norm; argmax exact), launched with
// metal/launch.go's geometry through MetalDevice, as the backend launches them. Without
// a driver they skip, printing why; INFERNO_CUDA_REQUIRE=1 (set by the GPU check) makes
// that a failure.

var ref = cpu.New(1)

func openGPU(t *testing.T) *MetalDevice {
	t.Helper()
	g, err := Open(0)
	if err != nil {
		if os.Getenv("INFERNO_CUDA_REQUIRE") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: no CUDA device: %v", err)
	}
	d := NewMetalDevice(g)
	t.Cleanup(d.Close)
	i := g.Info()
	free, total, err := g.MemInfo()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s, compute capability %s, %d SMs, %.1f GiB (%.1f GiB free), driver CUDA %s",
		i.Name, i.ComputeCapability(), i.Multiprocessors, float64(total)/(1<<30), float64(free)/(1<<30), i.Driver())
	return d
}

func randVec(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func nmse(a, b []float32) float64 {
	var num, den float64
	for i := range b {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return num / den
}

func f32Bytes(v []float32) []byte {
	out := make([]byte, 0, 4*len(v))
	for _, x := range v {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
	}
	return out
}

func upload(t *testing.T, d metal.Device, data []byte) metal.Arg {
	t.Helper()
	b, err := d.NewBuffer(len(data))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Release)
	if err := b.Write(0, data); err != nil {
		t.Fatal(err)
	}
	return metal.Arg{Buf: b}
}

func download(t *testing.T, a metal.Arg, n int) []byte {
	t.Helper()
	out := make([]byte, n)
	if err := a.Buf.Read(a.Off, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func floatsOf(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func TestConformanceRMSNorm(t *testing.T) {
	d := openGPU(t)
	for _, sh := range [][2]int{{1, 64}, {3, 100}, {2, 4096}, {7, 2048}} {
		rows, cols := sh[0], sh[1]
		t.Run(fmt.Sprintf("rms_norm %dx%d", rows, cols), func(t *testing.T) {
			r := rand.New(rand.NewPCG(4, uint64(cols)))
			x, w := randVec(r, rows*cols), randVec(r, cols)
			y := upload(t, d, make([]byte, 4*rows*cols))
			if err := d.Run(metal.LaunchRMSNorm(upload(t, d, f32Bytes(x)), upload(t, d, f32Bytes(w)), y, rows, cols, 1e-5)); err != nil {
				t.Fatal(err)
			}
			if err := d.Sync(); err != nil {
				t.Fatal(err)
			}
			xa, wa, out := ref.Activation(rows, cols), ref.Activation(1, cols), ref.Activation(rows, cols)
			ref.Write(xa, x)
			ref.Write(wa, w)
			ref.RMSNorm(out, xa, wa, 1e-5)
			want := make([]float32, rows*cols)
			ref.Read(out, want)
			e := nmse(floatsOf(download(t, y, 4*rows*cols)), want)
			t.Logf("NMSE %.3g", e)
			if !(e <= 1e-7) {
				t.Errorf("NMSE %.3g > 1e-7", e)
			}
		})
	}
}

func TestConformanceArgmax(t *testing.T) {
	d := openGPU(t)
	for _, n := range []int{1, 100, 32000, 151936} {
		t.Run(fmt.Sprintf("argmax %d", n), func(t *testing.T) {
			r := rand.New(rand.NewPCG(8, uint64(n)))
			x := randVec(r, 2*n)
			// a tie: the first of two equal maxima wins
			x[n/3], x[n-1] = 50, 50
			x[n+n/2] = 60
			out := upload(t, d, make([]byte, 8))
			if err := d.Run(metal.LaunchArgmax(upload(t, d, f32Bytes(x)), out, 2, n)); err != nil {
				t.Fatal(err)
			}
			if err := d.Sync(); err != nil {
				t.Fatal(err)
			}
			b := download(t, out, 8)
			got := []int32{int32(binary.LittleEndian.Uint32(b)), int32(binary.LittleEndian.Uint32(b[4:]))}
			want := []int32{int32(n / 3), int32(n / 2)}
			if n == 1 {
				want[0] = 0
			}
			if got[0] != want[0] || got[1] != want[1] {
				t.Errorf("argmax got %v, want %v", got, want)
			}
		})
	}
}

// TestConformanceChain: one Sync runs dependent dispatches in recorded order (rms_norm,
// then argmax of its output), as a decode step's tail does.
func TestConformanceChain(t *testing.T) {
	d := openGPU(t)
	const cols = 4096
	r := rand.New(rand.NewPCG(10, cols))
	x, w := randVec(r, cols), make([]float32, cols)
	for i := range w {
		w[i] = 1
	}
	x[1234] = 40 // the largest, before and after the norm
	y := upload(t, d, make([]byte, 4*cols))
	out := upload(t, d, make([]byte, 4))
	for _, dp := range []metal.Dispatch{metal.LaunchRMSNorm(upload(t, d, f32Bytes(x)), upload(t, d, f32Bytes(w)), y, 1, cols, 1e-5), metal.LaunchArgmax(y, out, 1, cols)} {
		if err := d.Run(dp); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := int32(binary.LittleEndian.Uint32(download(t, out, 4))); got != 1234 {
		t.Errorf("argmax of rms_norm's output = %d, want 1234", got)
	}
}

// TestDriverErrors: real driver errors are one-line errors naming the call.
func TestDriverErrors(t *testing.T) {
	d := openGPU(t)
	if _, err := d.NewBuffer(1 << 50); err == nil {
		t.Error("a 1 PiB allocation succeeded")
	} else {
		t.Log(err)
	}
	if err := d.Run(metal.Dispatch{Kernel: "no_such_kernel", Grid: [3]int{1, 1, 1}, Threads: [3]int{1, 1, 1}}); err == nil {
		t.Error("an unknown kernel was recorded")
	} else {
		t.Log(err)
	}
}

// BenchmarkSync records n rms_norm dispatches and one Sync per iteration, for a row of
// 32 columns (almost no GPU work: the launch and synchronization cost) and of 4096
// (one warp's latency-bound pass over a 1.1B model's hidden row). µs/dispatch is the
// wall time over the dispatches. The 200-dispatch list repeats, so it runs as a CUDA
// graph after its second Sync; graph=false launches it kernel by kernel.
func BenchmarkSync(b *testing.B) {
	for _, cols := range []int{32, 4096} {
		b.Run(fmt.Sprintf("cols=%d/dispatches=1", cols), func(b *testing.B) { benchSync(b, cols, 1, false) })
		for _, graph := range []bool{false, true} {
			b.Run(fmt.Sprintf("cols=%d/dispatches=200/graph=%v", cols, graph), func(b *testing.B) { benchSync(b, cols, 200, graph) })
		}
	}
}

func benchSync(b *testing.B, cols, n int, graph bool) {
	g, err := Open(0)
	if err != nil {
		b.Skipf("SKIP: no CUDA device: %v", err)
	}
	g.graphs.off = !graph
	d := NewMetalDevice(g)
	defer d.Close()
	bufs := make([]metal.Arg, 3)
	for i := range bufs {
		buf, err := d.NewBuffer(4 * cols)
		if err != nil {
			b.Fatal(err)
		}
		defer buf.Release()
		if err := buf.Write(0, make([]byte, 4*cols)); err != nil {
			b.Fatal(err)
		}
		bufs[i] = metal.Arg{Buf: buf}
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for range n {
			if err := d.Run(metal.LaunchRMSNorm(bufs[0], bufs[1], bufs[2], 1, cols, 1e-5)); err != nil {
				b.Fatal(err)
			}
		}
		if err := d.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer() // the deferred Close (the context's teardown) is not a dispatch's cost
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*n)/1e3, "µs/dispatch")
}
