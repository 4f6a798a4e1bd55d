package cuda

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// chain is a list of n dispatches on the fake GPU whose result depends on an input
// buffer's contents and on an inline value: copy in→a, fill a[8:16] with the value,
// copies a→b→a…, copy to out. out is then in's 8 bytes and the value twice.
type chain struct {
	d        *GPUDevice
	in, a, b Buffer
	out      Buffer
}

func newChain(t *testing.T, d *GPUDevice) *chain {
	return &chain{d: d, in: newBuf(t, d, make([]byte, 8)), a: newBuf(t, d, make([]byte, 16)),
		b: newBuf(t, d, make([]byte, 16)), out: newBuf(t, d, make([]byte, 16))}
}

// step writes input, records the n dispatches, syncs and checks out.
func (c *chain) step(t *testing.T, input string, value uint32, n int) {
	t.Helper()
	if err := c.in.Write(0, []byte(input)); err != nil {
		t.Fatal(err)
	}
	one := [3]int{1, 1, 1}
	copyOf := func(src, dst Buffer, bytes int) Dispatch {
		return Dispatch{Kernel: "copy", Args: []Arg{{Buf: src}, {Buf: dst}, {Bytes: i32(int32(bytes))}}, Grid: one, Threads: one}
	}
	arg := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, value), 2)
	ds := []Dispatch{copyOf(c.in, c.a, 8), {Kernel: "fill", Args: []Arg{{Buf: c.a, Off: 8}, {Bytes: arg}}, Grid: one, Threads: one}}
	from, to := c.a, c.b
	for len(ds) < n-1 {
		ds = append(ds, copyOf(from, to, 16))
		from, to = to, from
	}
	ds = append(ds, copyOf(from, c.out, 16))
	for _, x := range ds {
		if err := c.d.Run(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.d.Sync(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 16)
	if err := c.out.Read(0, got); err != nil {
		t.Fatal(err)
	}
	if want := []byte(input + string(arg[:4]) + string(arg[:4])); !bytes.Equal(got, want) {
		t.Errorf("input %q value %d, %d dispatches: out %q, want %q", input, value, n, got, want)
	}
}

// counts checks how often the fake GPU captured and launched graphs, and how many
// kernels it launched one by one (outside captures).
func counts(t *testing.T, f *fakeGPU, when string, captures, graphLaunches, kernelCalls int) {
	t.Helper()
	if f.captures != captures || f.graphLaunches != graphLaunches || f.kernelCalls != kernelCalls {
		t.Errorf("%s: %d captures, %d graph launches, %d kernel launches; want %d, %d, %d",
			when, f.captures, f.graphLaunches, f.kernelCalls, captures, graphLaunches, kernelCalls)
	}
}

// TestGraphReplaysARepeatedList: a long list is launched kernel by kernel the first
// time, captured the second (and launched as the graph), replayed after that; each
// Sync computes from the input of its own time.
func TestGraphReplaysARepeatedList(t *testing.T) {
	f := newFakeGPU()
	d := openFake(t, f)
	c := newChain(t, d)
	const n = 20
	c.step(t, "step 1..", 7, n)
	counts(t, f, "first", 0, 0, n)
	c.step(t, "step 2..", 7, n)
	counts(t, f, "second", 1, 1, n)
	c.step(t, "step 3..", 7, n)
	c.step(t, "step 4..", 7, n)
	counts(t, f, "fourth", 1, 3, n)
	if len(f.launches) != 4*n {
		t.Errorf("%d kernels executed, want %d", len(f.launches), 4*n)
	}
}

// TestGraphNewList: a list that differs from the captured one in a value or a buffer
// is launched kernel by kernel (its own result), captured when it repeats, replacing
// the old graph; short lists are never captured.
func TestGraphNewList(t *testing.T) {
	f := newFakeGPU()
	d := openFake(t, f)
	c := newChain(t, d)
	const n = 16
	c.step(t, "aaaaaaaa", 1, n)
	c.step(t, "bbbbbbbb", 1, n)
	counts(t, f, "captured", 1, 1, n)
	c.step(t, "cccccccc", 2, n) // another inline value
	counts(t, f, "new value", 1, 1, 2*n)
	c.step(t, "dddddddd", 2, n)
	counts(t, f, "new value again", 2, 2, 2*n)
	if len(f.graphs) != 1 || len(f.execs) != 1 {
		t.Errorf("%d graphs and %d executable graphs live, want the newest only", len(f.graphs), len(f.execs))
	}
	c.out = newBuf(t, d, make([]byte, 16)) // another buffer
	c.step(t, "eeeeeeee", 2, n)
	counts(t, f, "new buffer", 2, 2, 3*n)
	c.step(t, "ffffffff", 1, n) // the first list again: it is no longer the cached one
	counts(t, f, "first list again", 2, 2, 4*n)
	for i := range 3 {
		c.step(t, "short..."[:7]+string(rune('0'+i)), 1, n-1)
	}
	counts(t, f, "short lists", 2, 2, 4*n+3*(n-1))
	d.graphs.off = true // INFERNO_CUDA_GRAPH=0
	for range 3 {
		c.step(t, "off.....", 1, n)
	}
	counts(t, f, "graphs off", 2, 2, 4*n+3*(n-1)+3*n)
}

// TestGraphFailureFallsBack: whichever graph call fails, every Sync still computes
// its list's result (launched kernel by kernel), nothing leaks, the stream leaves
// capture mode, and the failure is reported once under the debug flag.
func TestGraphFailureFallsBack(t *testing.T) {
	for _, call := range []string{"cuStreamBeginCapture", "cuStreamEndCapture", "cuGraphInstantiate", "cuGraphLaunch"} {
		f := newFakeGPU()
		f.fail[call] = 1
		d := openFake(t, f)
		var debug strings.Builder
		d.graphs.debug = &debug
		c := newChain(t, d)
		const n = 16
		for i := range 4 {
			c.step(t, "input.."+string(rune('0'+i)), 3, n)
		}
		for i := range 2 { // another list fails too, unreported
			c.step(t, "other.."+string(rune('0'+i)), 4, n)
		}
		counts(t, f, call+" failing", f.captures, 0, 6*n)
		if f.capturing || len(f.graphs) != 0 || len(f.execs) != 0 {
			t.Errorf("%s failing: capturing %v, %d graphs and %d executable graphs live", call, f.capturing, len(f.graphs), len(f.execs))
		}
		if got := debug.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, call) || !strings.Contains(got, "CUDA_ERROR_INVALID_VALUE") {
			t.Errorf("%s failing: debug output %q, want one line naming the call", call, got)
		}
	}
	// a kernel launch failing in the capture is the Sync's error, as without graphs
	f := newFakeGPU()
	d := openFake(t, f)
	c := newChain(t, d)
	c.step(t, "first...", 3, 16)
	f.fail["cuLaunchKernel"] = 1
	for range 16 {
		if err := d.Run(Dispatch{Kernel: "copy", Args: []Arg{{Buf: c.a}, {Buf: c.b}, {Bytes: i32(16)}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{1, 1, 1}}); err != nil {
			t.Fatal(err)
		}
	}
	d.Sync() // seen once: launched plainly, fails
	for range 16 {
		if err := d.Run(Dispatch{Kernel: "copy", Args: []Arg{{Buf: c.a}, {Buf: c.b}, {Bytes: i32(16)}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{1, 1, 1}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Sync(); err == nil || !strings.Contains(err.Error(), "cuLaunchKernel(copy") {
		t.Errorf("a failing launch in a capture: Sync error %v", err)
	}
	if f.capturing || len(f.graphs) != 0 || len(f.execs) != 0 {
		t.Errorf("a failing launch in a capture: capturing %v, %d graphs and %d executable graphs live", f.capturing, len(f.graphs), len(f.execs))
	}
}

// TestGraphDestroyedOnClose: Close destroys the cached graph.
func TestGraphDestroyedOnClose(t *testing.T) {
	f := newFakeGPU()
	d := openFake(t, f)
	c := newChain(t, d)
	c.step(t, "12345678", 1, 16)
	c.step(t, "12345678", 1, 16)
	if len(f.graphs) != 1 || len(f.execs) != 1 {
		t.Fatalf("%d graphs, %d executable graphs before Close, want 1, 1", len(f.graphs), len(f.execs))
	}
	d.Close()
	if len(f.graphs) != 0 || len(f.execs) != 0 {
		t.Errorf("%d graphs, %d executable graphs after Close", len(f.graphs), len(f.execs))
	}
}

// TestRecordingReusesStorage: after a Sync, recording the next dispatches reuses the
// synced ones' argument storage (a decode step allocates nothing there), and each
// Sync still computes with its own values.
func TestRecordingReusesStorage(t *testing.T) {
	f := newFakeGPU()
	d := openFake(t, f)
	c := newChain(t, d)
	c.step(t, "storage1", 5, 4)
	if cap(d.pending) == 0 {
		t.Fatal("no storage kept after Sync")
	}
	slot := d.pending[:1][0]
	args, vals := &slot.args[0], &slot.vals[0]
	c.step(t, "storage2", 6, 4)
	slot = d.pending[:1][0]
	if &slot.args[0] != args || &slot.vals[0] != vals {
		t.Errorf("the first dispatch's argument storage was not reused")
	}
	// a slot that held a buffer argument now holds a value at that index
	if err := d.Run(Dispatch{Kernel: "fill", Args: []Arg{{Buf: c.out}, {Bytes: append(i32(9), i32(4)...)}}, Grid: [3]int{1, 1, 1}, Threads: [3]int{1, 1, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 16)
	if err := c.out.Read(0, got); err != nil {
		t.Fatal(err)
	}
	if want := bytes.Repeat(i32(9), 4); !bytes.Equal(got, want) {
		t.Errorf("fill in a reused slot: %x, want %x", got, want)
	}
}
