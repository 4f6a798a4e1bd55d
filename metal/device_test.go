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
	copy(unsafe.Slice((*float32)(unsafe.Pointer(&b.Bytes()[0])), len(v)), v)
	return b
}

func f32s(b metal.Buffer) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(&b.Bytes()[0])), len(b.Bytes())/4)
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
		e := unsynced(func() { _ = buf.Bytes() })
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
	if e := unsynced(func() { _ = a.Bytes() }); e != nil {
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
