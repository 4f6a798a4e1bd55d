package cuda

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func openFake(t *testing.T, f *fakeGPU) *GPUDevice {
	t.Helper()
	d, err := openWith(f.driver(), 0, []byte(fakePTX))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

func newBuf(t *testing.T, d Device, data []byte) Buffer {
	t.Helper()
	b, err := d.NewBuffer(len(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Write(0, data); err != nil {
		t.Fatal(err)
	}
	return b
}

func i32(v int32) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }

func TestInfo(t *testing.T) {
	d := openFake(t, newFakeGPU())
	i := d.Info()
	if i.Name != "Fake GPU 0" || i.ComputeCapability() != "9.0" || i.Multiprocessors != 132 || i.TotalMemory != 1<<30 || i.Driver() != "13.0" {
		t.Errorf("info %+v (cc %s, driver %s)", i, i.ComputeCapability(), i.Driver())
	}
	free, total, err := d.MemInfo()
	if err != nil || free != 1<<29 || total != 1<<30 {
		t.Errorf("MemInfo = %d, %d, %v", free, total, err)
	}
}

// TestDevices lists every device with its own name and compute capability.
func TestDevices(t *testing.T) {
	f := newFakeGPU()
	f.devices = 2
	l, err := devicesWith(f.driver())
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 2 || l[0].Name != "Fake GPU 0" || l[1].Name != "Fake GPU 1" || l[0].ComputeCapability() != "9.0" || l[1].ComputeCapability() != "8.6" || l[1].Multiprocessors != 84 {
		t.Errorf("devices %+v", l)
	}
	f.fail["cuDeviceGetAttribute"] = 1
	if _, err := devicesWith(f.driver()); err == nil || err.Error() != "cuda: cuDeviceGetAttribute(compute capability major): CUDA_ERROR_INVALID_VALUE" {
		t.Errorf("failing attribute: %v", err)
	}
}

// TestOpenErrors: each failing driver call is a one-line error naming the call and the
// CUDA error name, and what was acquired is released.
func TestOpenErrors(t *testing.T) {
	for call, want := range map[string]string{
		"cuInit":           "cuda: cuInit: CUDA_ERROR_NO_DEVICE",
		"cuModuleLoadData": "cuda: cuModuleLoadData(6 bytes of PTX): CUDA_ERROR_INVALID_PTX",
		"cuStreamCreate":   "cuda: cuStreamCreate: CUDA_ERROR_OUT_OF_MEMORY",
	} {
		f := newFakeGPU()
		f.fail[call] = map[string]cuResult{"cuInit": 100, "cuModuleLoadData": 218, "cuStreamCreate": 2}[call]
		_, err := openWith(f.driver(), 0, []byte("// ptx"))
		if err == nil || err.Error() != want {
			t.Errorf("%s failing: error %v, want %q", call, err, want)
		}
		if call != "cuInit" && !f.released {
			t.Errorf("%s failing: the primary context was not released", call)
		}
	}
	if _, err := openWith(newFakeGPU().driver(), 3, nil); err == nil || !strings.Contains(err.Error(), "device 3 does not exist") {
		t.Errorf("ordinal 3 of 1: %v", err)
	}
	f := newFakeGPU()
	f.fail["cuMemAlloc"] = 2
	d := openFake(t, f)
	if _, err := d.NewBuffer(1 << 20); err == nil || err.Error() != "cuda: cuMemAlloc(1048576 bytes): CUDA_ERROR_OUT_OF_MEMORY" {
		t.Errorf("NewBuffer: %v", err)
	}
	f.fail["cuMemGetInfo"] = 999 // a code without a name
	if _, _, err := d.MemInfo(); err == nil || err.Error() != "cuda: cuMemGetInfo: CUDA error 999" {
		t.Errorf("MemInfo: %v", err)
	}
}

// TestRunRecordsSyncExecutes: nothing is launched before Sync; dispatches execute in
// recorded order with their buffers' offsets and their values.
func TestRunRecordsSyncExecutes(t *testing.T) {
	f := newFakeGPU()
	d := openFake(t, f)
	src := newBuf(t, d, []byte("abcdefgh"))
	mid := newBuf(t, d, make([]byte, 8))
	dst := newBuf(t, d, make([]byte, 8))
	if err := d.Run(Dispatch{Kernel: "copy", Args: []Arg{{Buf: src, Off: 2}, {Buf: mid}, {Bytes: i32(4)}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{32, 1, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Run(Dispatch{Kernel: "copy", Args: []Arg{{Buf: mid}, {Buf: dst, Off: 1}, {Bytes: i32(4)}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{32, 1, 1}}); err != nil {
		t.Fatal(err)
	}
	if len(f.launches) != 0 {
		t.Fatalf("launched at Run: %v", f.launches)
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 8)
	if err := dst.Read(0, got); err != nil {
		t.Fatal(err)
	}
	if want := []byte("\x00cdef\x00\x00\x00"); !bytes.Equal(got, want) {
		t.Errorf("dst = %q, want %q", got, want)
	}
	// a value argument of 8 bytes (an argument struct) arrives whole
	arg := append(i32(0x01020304), i32(2)...)
	if err := d.Run(Dispatch{Kernel: "fill", Args: []Arg{{Buf: dst}, {Bytes: arg}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{1, 1, 1}}); err != nil {
		t.Fatal(err)
	}
	arg[0] = 0xff // Run copied it
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := dst.Read(0, got); err != nil {
		t.Fatal(err)
	}
	if want := []byte("\x04\x03\x02\x01\x04\x03\x02\x01"); !bytes.Equal(got, want) {
		t.Errorf("fill: dst = %q, want %q", got, want)
	}
}

// TestUnsyncedAccess: a host copy to or from a buffer that a recorded dispatch binds is
// an *UnsyncedAccessError until Sync; other buffers stay reachable.
func TestUnsyncedAccess(t *testing.T) {
	d := openFake(t, newFakeGPU())
	a, b, other := newBuf(t, d, make([]byte, 8)), newBuf(t, d, make([]byte, 8)), newBuf(t, d, make([]byte, 8))
	if err := d.Run(Dispatch{Kernel: "copy", Args: []Arg{{Buf: a}, {Buf: b}, {Bytes: i32(8)}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{1, 1, 1}}); err != nil {
		t.Fatal(err)
	}
	var ue *UnsyncedAccessError
	if err := b.Read(0, make([]byte, 8)); !errors.As(err, &ue) || ue.Kernel != "copy" {
		t.Errorf("Read before Sync: %v", err)
	}
	if err := a.Write(0, make([]byte, 8)); !errors.As(err, &ue) {
		t.Errorf("Write before Sync: %v", err)
	}
	if err := other.Write(0, make([]byte, 8)); err != nil {
		t.Errorf("Write to an unbound buffer: %v", err)
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := b.Read(0, make([]byte, 8)); err != nil {
		t.Errorf("Read after Sync: %v", err)
	}
	if err := b.Read(4, make([]byte, 8)); err == nil || !strings.Contains(err.Error(), "outside the buffer's 8 bytes") {
		t.Errorf("Read past the end: %v", err)
	}
}

// TestReleaseWhilePending: a released buffer that a recorded dispatch binds is freed
// after that dispatch has executed, not before.
func TestReleaseWhilePending(t *testing.T) {
	f := newFakeGPU()
	d := openFake(t, f)
	a, b := newBuf(t, d, []byte("12345678")), newBuf(t, d, make([]byte, 8))
	if err := d.Run(Dispatch{Kernel: "copy", Args: []Arg{{Buf: a}, {Buf: b}, {Bytes: i32(8)}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{1, 1, 1}}); err != nil {
		t.Fatal(err)
	}
	a.Release()
	if f.freed != 0 {
		t.Fatal("freed while a recorded dispatch binds it")
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if f.freed != 1 {
		t.Errorf("freed %d buffers after Sync, want 1", f.freed)
	}
	got := make([]byte, 8)
	if err := b.Read(0, got); err != nil || string(got) != "12345678" {
		t.Errorf("b = %q, %v", got, err)
	}
}

func TestRunRejects(t *testing.T) {
	d := openFake(t, newFakeGPU())
	other := openFake(t, newFakeGPU())
	b := newBuf(t, d, make([]byte, 16))
	foreign := newBuf(t, other, make([]byte, 16))
	gone := newBuf(t, d, make([]byte, 16))
	gone.Release()
	ok := func(first Arg) Dispatch { // copy(first, b, 8)
		return Dispatch{Kernel: "copy", Args: []Arg{first, {Buf: b}, {Bytes: i32(8)}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{32, 1, 1}}
	}
	for _, c := range []struct {
		d    Dispatch
		want string
	}{
		{Dispatch{Kernel: "nope", Grid: [3]int{1, 1, 1}, Threads: [3]int{1, 1, 1}}, `no kernel "nope" in the module: cuModuleGetFunction: CUDA_ERROR_NOT_FOUND`},
		{Dispatch{Kernel: "copy", Grid: [3]int{0, 1, 1}, Threads: [3]int{1, 1, 1}}, "dimension 0 is out of range"},
		{Dispatch{Kernel: "copy", Grid: [3]int{1, 1, 1}, Threads: [3]int{1025, 1, 1}}, "threads per block"},
		{ok(Arg{Buf: b, Off: 16}), "argument 0: offset 16 outside the buffer's 16 bytes"},
		{ok(Arg{Buf: foreign}), "argument 0 is not a buffer of this device"},
		{ok(Arg{Buf: gone}), "argument 0 is a released buffer"},
		{ok(Arg{Buf: b, Bytes: i32(1)}), "argument 0 has both a buffer and bytes"},
		{ok(Arg{Bytes: make([]byte, MaxInlineBytes+1)}), "argument 0: 4097 value bytes"},
		{ok(Arg{}), "argument 0: 0 value bytes, the kernel's parameter has 8"},
		// against the kernel's parameters, read from the PTX
		{Dispatch{Kernel: "copy", Args: []Arg{{Buf: b}, {Buf: b}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{1, 1, 1}}, "copy: 2 arguments, the kernel takes 3"},
		{ok(Arg{Bytes: i32(1)}), "argument 0: 4 value bytes, the kernel's parameter has 8"},
		{Dispatch{Kernel: "fill", Args: []Arg{{Buf: b}, {Bytes: i32(1)}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{1, 1, 1}}, "argument 1: 4 value bytes, the kernel's parameter has 8"},
		{Dispatch{Kernel: "copy", Args: []Arg{{Buf: b}, {Buf: b}, {Buf: b}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{1, 1, 1}}, "argument 2 is a buffer, the kernel's parameter is 4 bytes"},
	} {
		if err := d.Run(c.d); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%s %v): %v, want %q", c.d.Kernel, c.d.Args, err, c.want)
		}
	}
	if len(d.pending) != 0 {
		t.Errorf("rejected dispatches were recorded: %d", len(d.pending))
	}
}

// TestSyncErrors: a failed launch and an execution error come back from Sync naming
// the call and the dispatches; the buffers are free to touch afterwards.
func TestSyncErrors(t *testing.T) {
	f := newFakeGPU()
	d := openFake(t, f)
	a, b := newBuf(t, d, make([]byte, 8)), newBuf(t, d, make([]byte, 8))
	run := func() {
		t.Helper()
		if err := d.Run(Dispatch{Kernel: "copy", Args: []Arg{{Buf: a}, {Buf: b}, {Bytes: i32(8)}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{32, 1, 1}}); err != nil {
			t.Fatal(err)
		}
	}
	run()
	f.fail["cuLaunchKernel"] = 1
	if err := d.Sync(); err == nil || err.Error() != "cuda: cuLaunchKernel(copy, grid [1 1 1], block [32 1 1]): CUDA_ERROR_INVALID_VALUE" {
		t.Errorf("failed launch: %v", err)
	}
	delete(f.fail, "cuLaunchKernel")
	run()
	run()
	f.fail["cuStreamSynchronize"] = 700
	if err := d.Sync(); err == nil || err.Error() != "cuda: cuStreamSynchronize(2 dispatches, copy first, copy last): CUDA_ERROR_ILLEGAL_ADDRESS" {
		t.Errorf("execution error: %v", err)
	}
	if err := b.Read(0, make([]byte, 8)); err != nil {
		t.Errorf("Read after a failed Sync: %v", err)
	}
}

// TestNoDriver: without libcuda (CI, this machine) Open says so, wrapping ErrNoDriver.
func TestNoDriver(t *testing.T) {
	d, err := Open(0)
	if err == nil {
		d.Close()
		t.Skip("SKIP: a CUDA driver and device are present")
	}
	t.Logf("Open(0): %v", err)
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
}
