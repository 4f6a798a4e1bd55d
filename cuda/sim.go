package cuda

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/inferno-go/inferno/kernels"
	"github.com/inferno-go/inferno/metal/sim"
)

// SimDevice (cuda-sim) runs the CUDA kernels — kernels/cuda/kernels.cu's entry points
// with their prelude, as compiled for the GPU but as C++ — on the CPU simulator of
// metal/sim: every thread a fiber, __syncthreads and warp shuffles switching fibers,
// lanes started in one of three orders, diagnostics (divergent shuffles, barriers after
// an exit, shared memory over 48 KiB) errors in strict mode. It keeps the Device
// contract as GPUDevice does: Run checks a dispatch against the kernel's own parameter
// list and records it, Sync executes, and a host access to a buffer that a recorded
// dispatch binds is an *UnsyncedAccessError. Through MetalDevice, metal.Backend and the
// conformance cases run on it as on a GPU.
type SimDevice struct {
	lib     *sim.Library
	Order   sim.LaneOrder
	Seed    uint64
	Workers int
	// Strict makes the simulator's diagnostics Sync errors (the default).
	Strict bool

	mu      sync.Mutex // guards pending, closed and every simBuffer's uses and released
	pending []simRecorded
	closed  bool
	syncMu  sync.Mutex // one Sync at a time
}

var _ Device = (*SimDevice)(nil)

type simRecorded struct {
	d    Dispatch
	bufs []*simBuffer  // by argument; nil for values
	vals []*sim.Buffer // by argument; nil for buffers: the values' copies
}

// NewSimDevice builds the CUDA kernels for the simulator (clang-19; cached by content
// hash) and returns a strict device starting lanes in forward order on 2 workers.
func NewSimDevice() (*SimDevice, error) {
	lib, err := sim.LoadCUDA(kernels.CUDASources(), kernels.CUDAMain)
	if err != nil {
		return nil, err
	}
	return &SimDevice{lib: lib, Strict: true, Workers: 2}, nil
}

// Kernels lists the entry points the simulator built, with their parameters (-1 a
// pointer, else a value's size in bytes).
func (d *SimDevice) Kernels() map[string][]int {
	out := make(map[string][]int, len(d.lib.Params))
	for k, p := range d.lib.Params {
		out[k] = append([]int(nil), p...)
	}
	return out
}

func (d *SimDevice) Name() string    { return "cuda-sim (CUDA kernels on the CPU simulator)" }
func (d *SimDevice) Simulated() bool { return true }

// simMemory is the memory the simulated GPU reports ($INFERNO_SIM_WORKING_SET bytes, as
// metal-sim's working set, else 16 GiB): enough for tests' plans, small enough to test them.
func simMemory() int64 {
	if v := os.Getenv("INFERNO_SIM_WORKING_SET"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 16 << 30
}

// Info describes the simulator as an sm_80 device (the PTX's target) with one SM.
func (d *SimDevice) Info() Info {
	return Info{Name: "cuda-sim", Major: 8, Minor: 0, Multiprocessors: 1, TotalMemory: simMemory()}
}

// MemInfo reports the whole simulated memory free.
func (d *SimDevice) MemInfo() (free, total int64, err error) {
	m := simMemory()
	return m, m, nil
}

type simBuffer struct {
	t   sim.Tracked
	dev *SimDevice
}

func (d *SimDevice) NewBuffer(n int) (Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cuda sim: a buffer of %d bytes", n)
	}
	b, err := sim.NewBuffer(n)
	if err != nil {
		return nil, err
	}
	return &simBuffer{t: sim.Tracked{B: b}, dev: d}, nil
}

func (b *simBuffer) Size() int { return len(b.t.B.Data) }

func (b *simBuffer) access(op string, off int, p []byte) error {
	if err := b.t.CheckAccess(op, off, len(p)); err != nil {
		return fmt.Errorf("cuda sim: %w", err)
	}
	if k := b.t.Pending(); k != "" {
		return &UnsyncedAccessError{Kernel: k}
	}
	return nil
}

func (b *simBuffer) Write(off int, p []byte) error {
	b.dev.mu.Lock()
	defer b.dev.mu.Unlock()
	if err := b.access("write", off, p); err != nil {
		return err
	}
	copy(b.t.B.Data[off:], p)
	return nil
}

func (b *simBuffer) Read(off int, p []byte) error {
	b.dev.mu.Lock()
	defer b.dev.mu.Unlock()
	if err := b.access("read", off, p); err != nil {
		return err
	}
	copy(p, b.t.B.Data[off:])
	return nil
}

func (b *simBuffer) Release() {
	b.dev.mu.Lock()
	defer b.dev.mu.Unlock()
	b.t.Release()
}

// Run checks x as GPUDevice.Run does — geometry, shared memory, each argument against
// the entry point's parameter — and records it.
func (d *SimDevice) Run(x Dispatch) error {
	for i, n := range x.Grid {
		if n < 1 || (i == 0 && n > 1<<31-1) || (i > 0 && n > 65535) {
			return fmt.Errorf("cuda sim: %s: grid %v: dimension %d is out of range", x.Kernel, x.Grid, i)
		}
	}
	if t := x.Threads; t[0] < 1 || t[1] < 1 || t[2] < 1 || t[2] > 64 || t[0]*t[1]*t[2] > 1024 {
		return fmt.Errorf("cuda sim: %s: %v threads per block: each at least 1, z at most 64, at most 1024 in all", x.Kernel, t)
	}
	if x.Shared < 0 || x.Shared > 48<<10 {
		return fmt.Errorf("cuda sim: %s: %d bytes of shared memory: at most 48 KiB without an opt-in", x.Kernel, x.Shared)
	}
	params, ok := d.lib.Params[x.Kernel]
	if !ok {
		return fmt.Errorf("cuda sim: no kernel %q among the CUDA entry points", x.Kernel)
	}
	sizes := make([]int, len(params))
	for i, p := range params {
		sizes[i] = p
		if p < 0 {
			sizes[i] = 8 // a pointer, as the PTX's .u64 parameter
		}
	}
	if err := checkParams(x, sizes); err != nil {
		return err
	}
	for i, a := range x.Args {
		if a.Buf != nil && params[i] >= 0 {
			return fmt.Errorf("cuda sim: %s: argument %d is a buffer, the kernel's parameter is an 8-byte value", x.Kernel, i)
		}
		if a.Buf == nil && params[i] < 0 {
			return fmt.Errorf("cuda sim: %s: argument %d is a value, the kernel's parameter is a pointer", x.Kernel, i)
		}
	}
	r := simRecorded{d: x, bufs: make([]*simBuffer, len(x.Args)), vals: make([]*sim.Buffer, len(x.Args))}
	r.d.Args = append([]Arg(nil), x.Args...)
	fail := func(err error) error {
		freeAll(r.vals)
		return err
	}
	for i, a := range x.Args {
		switch {
		case a.Buf != nil && a.Bytes != nil:
			return fail(fmt.Errorf("cuda sim: %s: argument %d has both a buffer and bytes", x.Kernel, i))
		case a.Bytes != nil:
			if len(a.Bytes) == 0 || len(a.Bytes) > MaxInlineBytes {
				return fail(fmt.Errorf("cuda sim: %s: argument %d: %d value bytes, from 1 to %d", x.Kernel, i, len(a.Bytes), MaxInlineBytes))
			}
			v, err := sim.NewBuffer(len(a.Bytes))
			if err != nil {
				return fail(err)
			}
			copy(v.Data, a.Bytes)
			r.vals[i] = v
		case a.Buf != nil:
			sb, ok := a.Buf.(*simBuffer)
			if !ok || sb.dev != d {
				return fail(fmt.Errorf("cuda sim: %s: argument %d is not a buffer of this device", x.Kernel, i))
			}
			r.bufs[i] = sb
		default:
			return fail(fmt.Errorf("cuda sim: %s: argument %d is empty (no buffer, no bytes)", x.Kernel, i))
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fail(errors.New("cuda sim: device is closed"))
	}
	for i, sb := range r.bufs {
		if sb != nil {
			if err := sb.t.CheckArg(x.Kernel, i, x.Args[i].Off); err != nil {
				return fail(fmt.Errorf("cuda sim: %w", err))
			}
		}
	}
	for _, sb := range r.bufs {
		if sb != nil {
			sb.t.Bind(x.Kernel)
		}
	}
	d.pending = append(d.pending, r)
	return nil
}

// Sync executes the recorded dispatches in order; after a failed one the rest are
// dropped, as a failed stream's are.
func (d *SimDevice) Sync() error {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	d.mu.Lock()
	p := d.pending
	d.pending = nil
	d.mu.Unlock()
	var err error
	for _, r := range p {
		if err == nil {
			err = d.execute(r)
		}
	}
	d.retire(p)
	return err
}

func (d *SimDevice) execute(r simRecorded) error {
	bufs := make([]*sim.Buffer, len(r.d.Args))
	offs := make([]int, len(r.d.Args))
	for i, a := range r.d.Args {
		if r.bufs[i] != nil {
			bufs[i], offs[i] = r.bufs[i].t.B, a.Off
		} else {
			bufs[i] = r.vals[i]
		}
	}
	var shared []int
	if r.d.Shared > 0 {
		shared = []int{r.d.Shared}
	}
	_, err := d.lib.Run(sim.Dispatch{Kernel: r.d.Kernel, Buffers: bufs, Offsets: offs, Grid: r.d.Grid, Threads: r.d.Threads,
		Threadgroup: shared, Order: d.Order, Seed: d.Seed, Workers: d.Workers, Strict: d.Strict})
	return err
}

func (d *SimDevice) retire(p []simRecorded) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range p {
		for _, sb := range r.bufs {
			if sb == nil {
				continue
			}
			sb.t.Unbind()
		}
		freeAll(r.vals)
	}
}

func freeAll(l []*sim.Buffer) {
	for _, b := range l {
		if b != nil {
			b.Free()
		}
	}
}

// Close drops whatever is still recorded; Run fails afterwards.
func (d *SimDevice) Close() {
	d.mu.Lock()
	p := d.pending
	d.pending, d.closed = nil, true
	d.mu.Unlock()
	d.retire(p)
}
