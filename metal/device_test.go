package metal_test

import (
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/tensor"
)

func simDevice(t *testing.T) *metal.SimDevice {
	t.Helper()
	return simBackend(t).Device().(*metal.SimDevice)
}

func f32buf(t *testing.T, d metal.Device, v []float32) metal.Buffer {
	t.Helper()
	b, err := d.NewBuffer(4 * len(v))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Release)
	if err := b.Write(0, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))); err != nil {
		t.Fatal(err)
	}
	return b
}

// f32s is the simulator buffer's memory, mapped (so an unsynced access panics).
func f32s(b metal.Buffer) []float32 {
	m := b.(metal.HostBuffer).Bytes()
	return unsafe.Slice((*float32)(unsafe.Pointer(&m[0])), len(m)/4)
}

// unsynced calls f and returns the *UnsyncedAccessError it panicked with (nil if none).
func unsynced(f func()) (err *metal.UnsyncedAccessError) {
	defer func() {
		if p := recover(); p != nil {
			if !errors.As(p.(error), &err) {
				panic(p)
			}
		}
	}()
	f()
	return nil
}

// TestSimDeviceCommandBuffer: Run records, Sync executes in recorded order, and the
// host may not touch a bound buffer in between.
func TestSimDeviceCommandBuffer(t *testing.T) {
	d := simDevice(t)
	a := f32buf(t, d, []float32{1, 2, 3})
	b := f32buf(t, d, []float32{10, 20, 30})
	y := f32buf(t, d, make([]float32, 3))
	z := f32buf(t, d, make([]float32, 3))
	other := f32buf(t, d, []float32{7})
	// z = (a + b) + a: the second dispatch reads what the first wrote
	arg := func(b metal.Buffer) metal.Arg { return metal.Arg{Buf: b} }
	for _, x := range []metal.Dispatch{metal.LaunchAdd(arg(a), arg(b), arg(y), 3), metal.LaunchAdd(arg(y), arg(a), arg(z), 3)} {
		if err := d.Run(x); err != nil {
			t.Fatal(err)
		}
	}
	for name, buf := range map[string]metal.Buffer{"output y": y, "output z": z, "input a": a} {
		e := unsynced(func() { _ = buf.(metal.HostBuffer).Bytes() })
		if e == nil || e.Kernel != "add" {
			t.Errorf("host access to %s before Sync: got %v, want an *UnsyncedAccessError naming add", name, e)
		}
	}
	if e := unsynced(func() { f32s(other)[0] = 8 }); e != nil {
		t.Errorf("a buffer no pending dispatch binds: %v", e)
	}
	b.Release() // legal while bound: freed after the dispatches that use it
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := f32s(z); got[0] != 12 || got[1] != 24 || got[2] != 36 {
		t.Errorf("z = %v, want [12 24 36]", got)
	}
	if e := unsynced(func() { _ = a.(metal.HostBuffer).Bytes() }); e != nil {
		t.Errorf("after Sync: %v", e)
	}
}

// TestSimDeviceRejectsBadDispatch: problems with a dispatch itself are Run's errors.
func TestSimDeviceRejectsBadDispatch(t *testing.T) {
	d := simDevice(t)
	x := f32buf(t, d, make([]float32, 4))
	for name, disp := range map[string]metal.Dispatch{
		"unknown kernel": {Kernel: "no_such_kernel"},
		"inline too big": metal.LaunchAdd(metal.Arg{Buf: x}, metal.Arg{Bytes: make([]byte, metal.MaxInlineBytes+1)}, metal.Arg{Buf: x}, 1),
		"offset outside": metal.LaunchAdd(metal.Arg{Buf: x, Off: 16}, metal.Arg{Buf: x}, metal.Arg{Buf: x}, 1),
	} {
		if err := d.Run(disp); err == nil {
			t.Errorf("%s: Run accepted it", name)
		}
	}
	if err := d.Sync(); err != nil {
		t.Errorf("nothing was recorded, Sync: %v", err)
	}
}

// TestWeightTypes: every block decoder in quants.metal names a ggml type, and the
// backend accepts exactly those.
func TestWeightTypes(t *testing.T) {
	ts := metal.WeightTypes()
	if len(ts) == 0 {
		t.Fatal("no weight types")
	}
	for _, typ := range ts {
		if metal.KernelName("matvec", typ) != "matvec_"+strings.ToLower(typ.String()) {
			t.Errorf("%s: kernel name %s", typ, metal.KernelName("matvec", typ))
		}
	}
	b := metal.NewBackend(nil)
	// Q8_K is an activation type: a valid row size, no block decoder in quants.metal
	if _, err := b.Weight("w", tensor.Q8_K, 1, 256, make([]byte, 292)); err == nil || !strings.Contains(err.Error(), "no Metal kernels") {
		t.Errorf("Q8_K (no block decoder in quants.metal): %v", err)
	}
}

// TestSimBufferReadWrite: Read and Write copy at an offset, refuse ranges outside the
// buffer, and in strict mode return an *UnsyncedAccessError for a buffer a pending
// dispatch binds (the contract a device the host cannot map, such as CUDA, keeps too).
func TestSimBufferReadWrite(t *testing.T) {
	d := simDevice(t)
	a := f32buf(t, d, []float32{1, 2, 3, 4})
	if err := a.Write(4, []byte{0, 0, 0xa0, 0x40}); err != nil { // a[1] = 5
		t.Fatal(err)
	}
	got := make([]byte, 8)
	if err := a.Read(4, got); err != nil {
		t.Fatal(err)
	}
	if f := unsafe.Slice((*float32)(unsafe.Pointer(&got[0])), 2); f[0] != 5 || f[1] != 3 {
		t.Errorf("read %v after writing 5 at offset 4, want [5 3]", f)
	}
	for _, off := range []int{-1, 13, 17} {
		if err := a.Read(off, make([]byte, 4)); err == nil || !strings.Contains(err.Error(), "outside the buffer's 16 bytes") {
			t.Errorf("read of 4 bytes at offset %d: %v", off, err)
		}
		if err := a.Write(off, make([]byte, 4)); err == nil {
			t.Errorf("write of 4 bytes at offset %d accepted", off)
		}
	}
	y := f32buf(t, d, make([]float32, 4))
	if err := d.Run(metal.LaunchAdd(metal.Arg{Buf: a}, metal.Arg{Buf: a}, metal.Arg{Buf: y}, 4)); err != nil {
		t.Fatal(err)
	}
	var ue *metal.UnsyncedAccessError
	if err := y.Read(0, got); !errors.As(err, &ue) || ue.Kernel != "add" {
		t.Errorf("read before Sync: %v, want an *UnsyncedAccessError naming add", err)
	}
	if err := a.Write(0, got); !errors.As(err, &ue) {
		t.Errorf("write before Sync: %v, want an *UnsyncedAccessError", err)
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := y.Read(0, got); err != nil {
		t.Fatal(err)
	}
	if f := unsafe.Slice((*float32)(unsafe.Pointer(&got[0])), 2); f[0] != 2 || f[1] != 10 {
		t.Errorf("y = a + a: %v, want [2 10]", f)
	}
}
