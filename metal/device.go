// Package metal is the GPU backend's host side. Device is the small interface the
// graph-encoding code and the kernel conformance suite are written against: buffers,
// pipelines by kernel name, dispatch. The simulator (SimDevice, every platform) and
// Metal itself through purego (darwin) implement it, so the same code runs on both.
package metal

import (
	"fmt"
	"os"
	"strconv"

	"github.com/inferno-go/inferno/kernels"
	"github.com/inferno-go/inferno/metal/sim"
)

// Buffer is device memory visible to the host (shared storage).
type Buffer interface {
	Bytes() []byte
	Release()
}

// Dispatch is one kernel launch.
type Dispatch struct {
	Kernel      string
	Buffers     []Buffer
	Offsets     []int  // byte offset into each buffer (optional)
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
}

// Device runs kernels.
type Device interface {
	Name() string
	Info() Info
	// Simulated reports whether figures from this device are simulator figures.
	Simulated() bool
	NewBuffer(n int) (Buffer, error)
	Run(d Dispatch) error
	Close()
}

// SimDevice runs the embedded kernels in the simulator.
type SimDevice struct {
	lib     *sim.Library
	Order   sim.LaneOrder
	Strict  bool
	Seed    uint64
	Workers int
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
func (d *SimDevice) Close()          {}

type simBuffer struct{ b *sim.Buffer }

func (b simBuffer) Bytes() []byte { return b.b.Data }
func (b simBuffer) Release()      { b.b.Free() }

func (d *SimDevice) NewBuffer(n int) (Buffer, error) {
	b, err := sim.NewBuffer(n)
	if err != nil {
		return nil, err
	}
	return simBuffer{b}, nil
}

func (d *SimDevice) Run(x Dispatch) error {
	bufs := make([]*sim.Buffer, len(x.Buffers))
	for i, b := range x.Buffers {
		if b == nil {
			continue
		}
		sb, ok := b.(simBuffer)
		if !ok {
			return fmt.Errorf("metal sim: buffer %d is not a simulator buffer", i)
		}
		bufs[i] = sb.b
	}
	_, err := d.lib.Run(sim.Dispatch{Kernel: x.Kernel, Buffers: bufs, Offsets: x.Offsets, Grid: x.Grid, Threads: x.Threads,
		Threadgroup: x.Threadgroup, Constants: x.Constants, Order: d.Order, Seed: d.Seed, Workers: d.Workers, Strict: d.Strict})
	return err
}
