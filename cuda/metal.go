package cuda

import (
	"fmt"

	"github.com/inferno-go/inferno/metal"
)

// MetalDevice runs metal.Backend's graph on a CUDA device: it implements metal.Device,
// so the backend, metal/launch.go's launch geometry and the conformance cases serve
// both GPUs. A metal.Dispatch becomes a Dispatch with the same kernel name, arguments
// (in [[buffer(i)]] order: a CUDA kernel takes them as parameters in that order), grid
// and threads; its threadgroup allocations become one block of dynamic shared memory,
// each allocation at a 16-byte aligned offset after the one before.
type MetalDevice struct {
	dev Device
}

var (
	_ metal.Device = (*MetalDevice)(nil)
	_ metal.Named  = (*MetalDevice)(nil)
)

// NewMetalDevice wraps d; Close closes d.
func NewMetalDevice(d Device) *MetalDevice { return &MetalDevice{dev: d} }

// CUDA is the wrapped device (for its memory figures).
func (m *MetalDevice) CUDA() Device { return m.dev }

// BackendName is "cuda" ("cuda-sim" on a simulated device) for metal.Backend's Name.
func (m *MetalDevice) BackendName() string {
	if m.dev.Simulated() {
		return "cuda-sim"
	}
	return "cuda"
}

func (m *MetalDevice) Name() string    { return m.dev.Name() }
func (m *MetalDevice) Simulated() bool { return m.dev.Simulated() }

// Info describes the GPU in metal.Info's terms: discrete memory, its total as the
// working set (the root package plans against cuMemGetInfo's free memory instead).
func (m *MetalDevice) Info() metal.Info {
	i := m.dev.Info()
	return metal.Info{Name: i.Name, Family: "compute capability " + i.ComputeCapability(),
		MaxWorkingSet: i.TotalMemory, MaxBufferLength: i.TotalMemory, MemoryBandwidth: i.MemoryBandwidth,
		Target: metal.TargetCUDA}
}

// NewBuffer allocates device memory; a CUDA Buffer is a metal.Buffer as it is.
func (m *MetalDevice) NewBuffer(n int) (metal.Buffer, error) { return m.dev.NewBuffer(n) }

func (m *MetalDevice) Run(d metal.Dispatch) error {
	x, err := Convert(d)
	if err != nil {
		return err
	}
	return m.dev.Run(x)
}

func (m *MetalDevice) Sync() error { return m.dev.Sync() }
func (m *MetalDevice) Close()      { m.dev.Close() }

// Convert turns a metal.Dispatch into a CUDA Dispatch. Its buffers must be this
// package's; function constants have no CUDA counterpart and are refused.
func Convert(d metal.Dispatch) (Dispatch, error) {
	if len(d.Constants) > 0 {
		return Dispatch{}, fmt.Errorf("cuda: %s: function constants %v are Metal-only", d.Kernel, d.Constants)
	}
	x := Dispatch{Kernel: d.Kernel, Args: make([]Arg, len(d.Args)), Grid: d.Grid, Threads: d.Threads}
	for i, a := range d.Args {
		if a.Buf == nil {
			x.Args[i] = Arg{Off: a.Off, Bytes: a.Bytes}
			continue
		}
		b, ok := a.Buf.(Buffer)
		if !ok {
			return Dispatch{}, fmt.Errorf("cuda: %s: argument %d is a %T, not a CUDA buffer", d.Kernel, i, a.Buf)
		}
		x.Args[i] = Arg{Buf: b, Off: a.Off, Bytes: a.Bytes}
	}
	for i, n := range d.Threadgroup {
		if n < 0 {
			return Dispatch{}, fmt.Errorf("cuda: %s: threadgroup memory %d: %d bytes", d.Kernel, i, n)
		}
		x.Shared += (n + 15) / 16 * 16
	}
	return x, nil
}
