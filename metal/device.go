// Package metal is the GPU backend's host side, for Metal and CUDA alike. Device is the
// small interface the graph-encoding code and the kernel conformance suite are written
// against: buffers, pipelines by kernel name, dispatch, sync. The simulator (SimDevice,
// every platform), Metal itself through purego (darwin) and an NVIDIA GPU through
// cuda.MetalDevice implement it, so the same code runs on all three.
package metal

import (
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/inferno-go/inferno/kernels"
	"github.com/inferno-go/inferno/metal/sim"
)

// Buffer is device memory. The host reaches it by copies, so a device whose memory
// the host cannot map (CUDA) implements the contract too; see Device for when.
type Buffer interface {
	// Write copies p into the buffer at byte offset off.
	Write(off int, p []byte) error
	// Read copies the buffer's bytes at offset off into p.
	Read(off int, p []byte) error
	// Release frees the buffer once no recorded dispatch uses it any more.
	Release()
}

// HostBuffer is a buffer whose memory the host maps (Metal's shared storage, the
// simulator): Bytes is that memory, under the same rule as Read and Write.
type HostBuffer interface {
	Buffer
	Bytes() []byte
}

// MaxInlineBytes is the largest Arg.Bytes (Metal's setBytes limit).
const MaxInlineBytes = 4096

// Arg is one [[buffer(i)]] binding: a buffer and a byte offset into it, or (Buf nil)
// small constant data such as an argument struct, copied when the dispatch is
// recorded, so it needs no buffer.
type Arg struct {
	Buf   Buffer
	Off   int
	Bytes []byte
}

// Dispatch is one kernel launch.
type Dispatch struct {
	Kernel      string
	Args        []Arg  // by [[buffer(i)]] index
	Grid        [3]int // threadgroups
	Threads     [3]int // threads per threadgroup
	Threadgroup []int  // bytes of [[threadgroup(i)]] memory
	Constants   map[int]any
}

// Info describes a device for the log lines and `inferno system`.
type Info struct {
	Name            string
	Family          string // e.g. MTLGPUFamilyApple9
	UnifiedMemory   bool
	MaxWorkingSet   int64 // recommendedMaxWorkingSetSize, bytes
	MaxBufferLength int64
	// MemoryBandwidth is the device memory's peak in bytes/s where the device has its
	// own memory and reports it (CUDA); 0 otherwise.
	MemoryBandwidth float64
	// Target is the kind of GPU, for the kernel choices that depend on it (Launch*For).
	Target Target
}

// Target is the kind of GPU a Device is: the backend picks work splits by it.
type Target int

const (
	TargetMetal Target = iota // Apple GPUs and the simulator: the Metal work splits
	TargetCUDA                // NVIDIA GPUs: the wide decode kernels (matvec_wide, rms_norm_wide)
)

// Device runs kernels with Metal's command-buffer contract:
//
//   - Run records a dispatch and returns at once; nothing has executed yet. Recorded
//     dispatches execute in the order they were recorded, each after the previous one
//     has finished (a serial encoder), so one dispatch may read what an earlier one
//     wrote without any host involvement.
//   - Sync commits everything recorded since the last Sync and waits until it has
//     executed; it returns the first execution error.
//   - The host may Read or Write a buffer only while no recorded, unsynced
//     dispatch binds it: inputs are written before the Run that reads them, outputs
//     are read after the Sync that follows it. Writing a buffer between the Run that
//     binds it and the Sync is a race with the GPU; reading one returns stale bytes.
//     Buffers that no pending dispatch binds may be touched at any time. Arg.Bytes are
//     copied by Run, so the caller may reuse them at once.
//   - Release may be called while a recorded dispatch still binds the buffer; the
//     memory is freed when that dispatch is done.
//
// The simulator enforces the third rule in strict mode: Read and Write return an
// *UnsyncedAccessError, and Bytes panics with one.
type Device interface {
	Name() string
	Info() Info
	// Simulated reports whether figures from this device are simulator figures.
	Simulated() bool
	NewBuffer(n int) (Buffer, error)
	// Run records d (errors here are about d itself: an unknown kernel, a bad binding).
	Run(d Dispatch) error
	// Sync executes what was recorded and waits for it.
	Sync() error
	Close()
}

// UnsyncedAccessError is a host access to a buffer that a recorded dispatch binds,
// before the Sync that executes it (the simulator's strict mode and CUDA report it).
type UnsyncedAccessError struct {
	Kernel string // the first pending dispatch that binds the buffer
}

func (e *UnsyncedAccessError) Error() string {
	return fmt.Sprintf("host access to a buffer that dispatch %s (recorded, not yet synced) binds: call Sync first", e.Kernel)
}

// SimDevice runs the embedded kernels in the simulator. Run records; Sync executes.
type SimDevice struct {
	lib   *sim.Library
	Order sim.LaneOrder
	// Strict makes kernel diagnostics errors and host access to a buffer that a pending
	// dispatch binds an *UnsyncedAccessError (returned by Read and Write, raised by Bytes).
	Strict  bool
	Seed    uint64
	Workers int

	mu      sync.Mutex // guards pending and every simBuffer's uses and released
	pending []recorded
	syncMu  sync.Mutex // one Sync at a time
}

var _ Device = (*SimDevice)(nil)

// recorded is a dispatch waiting for Sync: its buffers (by slot) and offsets.
type recorded struct {
	d       Dispatch
	bufs    []*simBuffer // nil for inline slots and unused ones
	inlines []*sim.Buffer
}

// NewSimDevice builds the embedded kernel library for the simulator (cached by hash).
func NewSimDevice() (*SimDevice, error) {
	m, order := kernels.Sources()
	lib, err := sim.Load(m, order)
	if err != nil {
		return nil, err
	}
	return &SimDevice{lib: lib, Strict: true, Workers: 2}, nil
}

func (d *SimDevice) Name() string { return "metal-sim (Metal kernels on the CPU simulator)" }

// Info reports the simulator as a unified-memory device whose working set is the
// machine's memory ($INFERNO_SIM_WORKING_SET, in bytes, overrides it for tests).
func (d *SimDevice) Info() Info {
	ws := physicalMemory()
	if v := os.Getenv("INFERNO_SIM_WORKING_SET"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			ws = n
		}
	}
	return Info{Name: "metal-sim", Family: "simulator", UnifiedMemory: true, MaxWorkingSet: ws, MaxBufferLength: 1 << 40}
}
func (d *SimDevice) Simulated() bool { return true }

// Close drops whatever is still recorded.
func (d *SimDevice) Close() {
	d.mu.Lock()
	p := d.pending
	d.pending = nil
	d.mu.Unlock()
	d.retire(p)
}

var _ HostBuffer = (*simBuffer)(nil)

type simBuffer struct {
	t   sim.Tracked
	dev *SimDevice
}

func (b *simBuffer) Bytes() []byte {
	b.dev.mu.Lock()
	pending := b.t.Pending()
	b.dev.mu.Unlock()
	if pending != "" && b.dev.Strict {
		panic(&UnsyncedAccessError{Kernel: pending})
	}
	return b.t.B.Data
}

// Read and Write copy; in strict mode they refuse a buffer a pending dispatch binds.
func (b *simBuffer) Read(off int, p []byte) error {
	if err := b.access("read", off, p); err != nil {
		return err
	}
	copy(p, b.t.B.Data[off:])
	return nil
}

func (b *simBuffer) Write(off int, p []byte) error {
	if err := b.access("write", off, p); err != nil {
		return err
	}
	copy(b.t.B.Data[off:], p)
	return nil
}

func (b *simBuffer) access(op string, off int, p []byte) error {
	b.dev.mu.Lock()
	defer b.dev.mu.Unlock()
	if err := b.t.CheckAccess(op, off, len(p)); err != nil {
		return fmt.Errorf("metal sim: %w", err)
	}
	if k := b.t.Pending(); k != "" && b.dev.Strict {
		return &UnsyncedAccessError{Kernel: k}
	}
	return nil
}

func (b *simBuffer) Release() {
	b.dev.mu.Lock()
	defer b.dev.mu.Unlock()
	b.t.Release()
}

func (d *SimDevice) NewBuffer(n int) (Buffer, error) {
	b, err := sim.NewBuffer(n)
	if err != nil {
		return nil, err
	}
	return &simBuffer{t: sim.Tracked{B: b}, dev: d}, nil
}

// Run checks and records x; it executes at the next Sync.
func (d *SimDevice) Run(x Dispatch) error {
	if _, ok := d.lib.Kernels[x.Kernel]; !ok {
		return fmt.Errorf("metal sim: no kernel %q in the library", x.Kernel)
	}
	r := recorded{d: x, bufs: make([]*simBuffer, len(x.Args))}
	r.d.Args = append([]Arg(nil), x.Args...)
	r.d.Threadgroup = append([]int(nil), x.Threadgroup...)
	if x.Constants != nil {
		r.d.Constants = make(map[int]any, len(x.Constants))
		for k, v := range x.Constants {
			r.d.Constants[k] = v
		}
	}
	fail := func(err error) error {
		d.freeInlines(r.inlines)
		return err
	}
	for i, a := range x.Args {
		switch {
		case a.Buf != nil && a.Bytes != nil:
			return fail(fmt.Errorf("metal sim: %s: argument %d has both a buffer and bytes", x.Kernel, i))
		case a.Bytes != nil:
			if len(a.Bytes) > MaxInlineBytes {
				return fail(fmt.Errorf("metal sim: %s: argument %d: %d inline bytes, at most %d", x.Kernel, i, len(a.Bytes), MaxInlineBytes))
			}
			ib, err := sim.NewBuffer(len(a.Bytes))
			if err != nil {
				return fail(err)
			}
			copy(ib.Data, a.Bytes)
			r.inlines = append(r.inlines, ib)
		case a.Buf != nil:
			sb, ok := a.Buf.(*simBuffer)
			if !ok || sb.dev != d {
				return fail(fmt.Errorf("metal sim: %s: argument %d is not a buffer of this simulator device", x.Kernel, i))
			}
			r.bufs[i] = sb
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, sb := range r.bufs {
		if sb == nil {
			continue
		}
		if err := sb.t.CheckArg(x.Kernel, i, x.Args[i].Off); err != nil {
			d.freeInlines(r.inlines)
			return fmt.Errorf("metal sim: %w", err)
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

// Sync executes the recorded dispatches in order. After a failed dispatch the rest
// are dropped, as a failed command buffer's are.
func (d *SimDevice) Sync() error {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	d.mu.Lock()
	p := d.pending
	d.pending = nil
	d.mu.Unlock()
	var err error
	for _, r := range p {
		if err != nil {
			break
		}
		err = d.execute(r)
	}
	d.retire(p)
	return err
}

func (d *SimDevice) execute(r recorded) error {
	bufs := make([]*sim.Buffer, len(r.d.Args))
	offs := make([]int, len(r.d.Args))
	inline := 0
	for i, a := range r.d.Args {
		switch {
		case r.bufs[i] != nil:
			bufs[i], offs[i] = r.bufs[i].t.B, a.Off
		case a.Bytes != nil:
			bufs[i] = r.inlines[inline]
			inline++
		}
	}
	_, err := d.lib.Run(sim.Dispatch{Kernel: r.d.Kernel, Buffers: bufs, Offsets: offs, Grid: r.d.Grid, Threads: r.d.Threads,
		Threadgroup: r.d.Threadgroup, Constants: r.d.Constants, Order: d.Order, Seed: d.Seed, Workers: d.Workers, Strict: d.Strict})
	return err
}

// retire ends the recorded dispatches' claims on their buffers (freeing buffers
// released meanwhile) and frees their inline arguments.
func (d *SimDevice) retire(p []recorded) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range p {
		for _, sb := range r.bufs {
			if sb == nil {
				continue
			}
			sb.t.Unbind()
		}
		d.freeInlines(r.inlines)
	}
}

func (d *SimDevice) freeInlines(l []*sim.Buffer) {
	for _, b := range l {
		b.Free()
	}
}
