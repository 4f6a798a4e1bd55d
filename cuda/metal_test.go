package cuda

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/tensor"
)

// launch is what one cuLaunchKernel received.
type launch struct {
	fn            uintptr
	grid, block   [3]uint32
	shared        uint32
	ptr           uint64 // parameter 0, a device pointer
	value         []byte // parameter 1's first 8 bytes
	allocation    []byte // the allocation ptr points into, and the offset
	allocationOff int
}

// recordLaunches opens a fake GPU whose driver records every launch's geometry and
// first two parameters before running the fake kernel.
func recordLaunches(t *testing.T) (*fakeGPU, *GPUDevice, *[]launch) {
	t.Helper()
	f := newFakeGPU()
	drv := f.driver()
	var got []launch
	run := drv.LaunchKernel
	drv.LaunchKernel = func(fn uintptr, gx, gy, gz, bx, by, bz, shared uint32, s uintptr, params *unsafe.Pointer, extra *unsafe.Pointer) cuResult {
		ps := unsafe.Slice(params, 2)
		l := launch{fn: fn, grid: [3]uint32{gx, gy, gz}, block: [3]uint32{bx, by, bz}, shared: shared,
			ptr: *(*uint64)(ps[0]), value: append([]byte(nil), unsafe.Slice((*byte)(ps[1]), 8)...)}
		l.allocation, l.allocationOff = f.at(l.ptr)
		got = append(got, l)
		return run(fn, gx, gy, gz, bx, by, bz, shared, s, params, extra)
	}
	d, err := openWith(drv, 0, []byte("// ptx"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return f, d, &got
}

// TestMetalDispatchConverted: a metal.Dispatch run through MetalDevice reaches
// cuLaunchKernel with its arguments in order (a buffer as its pointer plus offset, an
// argument struct by value), its grid and threads, and its threadgroup memory as
// dynamic shared memory (each allocation rounded up to 16 bytes).
func TestMetalDispatchConverted(t *testing.T) {
	_, d, got := recordLaunches(t)
	m := NewMetalDevice(d)
	dst, err := m.NewBuffer(24)
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.Write(0, make([]byte, 24)); err != nil {
		t.Fatal(err)
	}
	value := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 0xdeadbeef), 2) // fill(dst, {value, n})
	if err := m.Run(metal.Dispatch{Kernel: "fill", Args: []metal.Arg{{Buf: dst, Off: 8}, {Bytes: value}},
		Grid: [3]int{3, 2, 1}, Threads: [3]int{64, 2, 1}, Threadgroup: []int{100, 8}}); err != nil {
		t.Fatal(err)
	}
	value[0] = 0 // Run copied the inline bytes
	if len(*got) != 0 {
		t.Fatal("launched before Sync")
	}
	if err := m.Sync(); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 1 {
		t.Fatalf("%d launches, want 1", len(*got))
	}
	l := (*got)[0]
	if l.fn != fakeKernels["fill"] || l.grid != [3]uint32{3, 2, 1} || l.block != [3]uint32{64, 2, 1} || l.shared != 112+16 {
		t.Errorf("launch fn %d grid %v block %v shared %d; want fn %d grid [3 2 1] block [64 2 1] shared 128",
			l.fn, l.grid, l.block, l.shared, fakeKernels["fill"])
	}
	if l.allocationOff != 8 || len(l.allocation) != 24 {
		t.Errorf("parameter 0 points %d bytes into a %d-byte allocation, want 8 into dst's 24", l.allocationOff, len(l.allocation))
	}
	if want := []byte{0xef, 0xbe, 0xad, 0xde, 2, 0, 0, 0}; !bytes.Equal(l.value, want) {
		t.Errorf("parameter 1 = % x, want % x", l.value, want)
	}
	out := make([]byte, 24)
	if err := dst.Read(0, out); err != nil {
		t.Fatal(err)
	}
	want := append(append(make([]byte, 8), bytes.Repeat([]byte{0xef, 0xbe, 0xad, 0xde}, 2)...), make([]byte, 8)...)
	if !bytes.Equal(out, want) {
		t.Errorf("dst = % x, want % x", out, want)
	}

	// argument order: copy(src, dst, n) copies from the first buffer to the second
	src, _ := m.NewBuffer(4)
	if err := src.Write(0, []byte("wxyz")); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(metal.Dispatch{Kernel: "copy", Args: []metal.Arg{{Buf: src}, {Buf: dst, Off: 20}, {Bytes: i32(4)}},
		Grid: [3]int{1, 1, 1}, Threads: [3]int{32, 1, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := dst.Read(20, out[:4]); err != nil || string(out[:4]) != "wxyz" {
		t.Errorf("copy(src, dst+20): dst[20:24] = %q, %v", out[:4], err)
	}
	if (*got)[1].shared != 0 {
		t.Errorf("no threadgroup memory: shared %d", (*got)[1].shared)
	}
}

type notCUDA struct{ metal.Buffer }

// TestMetalDispatchRejected: what CUDA cannot run is Run's error, and nothing is recorded.
func TestMetalDispatchRejected(t *testing.T) {
	_, d, _ := recordLaunches(t)
	m := NewMetalDevice(d)
	buf, _ := m.NewBuffer(16)
	ok := metal.Dispatch{Kernel: "copy", Grid: [3]int{1, 1, 1}, Threads: [3]int{32, 1, 1}}
	constants, foreign, negative := ok, ok, ok
	constants.Args = []metal.Arg{{Buf: buf}, {Buf: buf}, {Bytes: i32(4)}}
	constants.Constants = map[int]any{0: int32(1)}
	foreign.Args = []metal.Arg{{Buf: notCUDA{}}, {Buf: buf}, {Bytes: i32(4)}}
	negative.Args = constants.Args
	negative.Threadgroup = []int{-16}
	for want, x := range map[string]metal.Dispatch{
		"function constants map[0:1] are Metal-only":          constants,
		"argument 0 is a cuda.notCUDA, not a CUDA buffer":     foreign,
		"copy: threadgroup memory 0: -16 bytes":               negative,
		"threads per block: each at least 1, z at most 64":    {Kernel: "copy", Args: constants.Args, Grid: [3]int{1, 1, 1}},
		"argument 2: offset 16 outside the buffer's 16 bytes": {Kernel: "copy", Args: []metal.Arg{{Buf: buf}, {Buf: buf}, {Buf: buf, Off: 16}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{1, 1, 1}},
	} {
		if err := m.Run(x); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run: %v, want an error containing %q", err, want)
		}
	}
	if len(d.pending) != 0 {
		t.Errorf("%d rejected dispatches recorded", len(d.pending))
	}
}

// TestBackendOverCUDA: metal.Backend reaches device memory only by copies, so it runs
// on memory the host cannot map: weights uploaded, activations written and read back
// at row offsets.
func TestBackendOverCUDA(t *testing.T) {
	f, d, _ := recordLaunches(t)
	m := NewMetalDevice(d)
	if i := m.Info(); i.Name != "Fake GPU 0" || i.Family != "compute capability 9.0" || i.UnifiedMemory || i.MaxWorkingSet != 1<<30 || i.Target != metal.TargetCUDA {
		t.Errorf("Info %+v", i)
	}
	b := metal.NewBackend(m)
	if b.Name() != "cuda" {
		t.Errorf("backend name %q, want cuda", b.Name())
	}
	w := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	raw := make([]byte, 4*len(w))
	for i, v := range w {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	wt, err := b.Weight("w", tensor.F32, 2, 4, raw)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 4)
	b.Read(b.View(wt, 1, 2), got)
	if got[0] != 5 || got[3] != 8 {
		t.Errorf("weight row 1 = %v, want [5 6 7 8]", got)
	}
	a := b.Activation(3, 2)
	b.Write(b.View(a, 1, 3), []float32{9, 10, 11, 12})
	all := make([]float32, 6)
	b.Read(a, all)
	if all[2] != 9 || all[5] != 12 {
		t.Errorf("activation = %v, want rows 1-2 = 9..12", all)
	}
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	if len(f.mem) != 2 || b.WeightBytes() != 32 || b.ScratchBytes() != 24 {
		t.Errorf("%d device allocations, %d weight bytes, %d scratch bytes; want 2, 32, 24", len(f.mem), b.WeightBytes(), b.ScratchBytes())
	}
}
