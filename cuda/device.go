// Package cuda is the NVIDIA GPU backend's host side. Device is its interface:
// buffers, kernels by name, dispatch, sync — metal.Device's contract with device memory
// that the host reaches by copies. GPUDevice implements it over the CUDA driver API
// (libcuda.so.1 or nvcuda.dll, loaded with purego: no cgo, no toolkit), running the PTX
// that package kernels embeds; SimDevice (cuda-sim) runs the same kernels' sources on
// the CPU simulator. MetalDevice runs metal.Backend's graph, with metal/launch.go's
// launch geometry, on a Device: the model and the conformance cases are written once for
// both GPUs.
package cuda

import (
	"errors"
	"fmt"
	"github.com/inferno-go/inferno/metal"
)

// Buffer is device memory. The host reaches it by copies, and only while no recorded,
// unsynced dispatch binds it (see Device).
type Buffer interface {
	Size() int
	// Write copies p into the buffer at byte offset off.
	Write(off int, p []byte) error
	// Read copies the buffer's bytes at offset off into p.
	Read(off int, p []byte) error
	// Release frees the buffer once no recorded dispatch uses it any more.
	Release()
}

// MaxInlineBytes is the largest Arg.Bytes (the driver's classic 4 KiB parameter limit).
const MaxInlineBytes = 4096

// Arg is one kernel parameter, in the order of the kernel's parameters: a buffer and a
// byte offset into it (passed as a device pointer), or (Buf nil) a value such as an
// argument struct, passed by value and copied when the dispatch is recorded.
type Arg struct {
	Buf   Buffer
	Off   int
	Bytes []byte
}

// Dispatch is one kernel launch.
type Dispatch struct {
	Kernel  string
	Args    []Arg
	Grid    [3]int // blocks
	Threads [3]int // threads per block
	Shared  int    // bytes of dynamic shared memory
}

// Info describes a device for the log lines and `inferno system`.
type Info struct {
	Name            string `json:"name"`
	Major           int    `json:"cc_major"` // compute capability
	Minor           int    `json:"cc_minor"`
	Multiprocessors int    `json:"multiprocessors"`
	TotalMemory     int64  `json:"memory_bytes"`
	DriverVersion   int    `json:"driver_version"` // cuDriverGetVersion: 1000*major + 10*minor
	// MemoryBandwidth is the peak device-memory bandwidth in bytes/s, from the memory
	// clock and bus width the driver reports (two transfers a clock); 0: not reported.
	MemoryBandwidth float64 `json:"memory_bandwidth"`
}

// ComputeCapability is "major.minor", e.g. "9.0" for an H100 or H200.
func (i Info) ComputeCapability() string { return fmt.Sprintf("%d.%d", i.Major, i.Minor) }

// Driver is the CUDA version the driver supports, e.g. "13.0".
func (i Info) Driver() string {
	return fmt.Sprintf("%d.%d", i.DriverVersion/1000, i.DriverVersion%1000/10)
}

// Device runs kernels with metal.Device's contract:
//
//   - Run records a dispatch and returns at once; nothing has executed yet. Recorded
//     dispatches execute in the order they were recorded, each after the previous one
//     (one stream), so one may read what an earlier one wrote.
//   - Sync launches everything recorded since the last Sync and waits until it has
//     executed; it returns the first launch or execution error.
//   - The host may Read or Write a buffer only while no recorded, unsynced dispatch
//     binds it; otherwise those return an *UnsyncedAccessError. Arg.Bytes are copied by
//     Run, so the caller may reuse them at once.
//   - Release may be called while a recorded dispatch still binds the buffer; the
//     memory is freed when that dispatch is done.
type Device interface {
	Name() string
	Info() Info
	// Simulated reports whether figures from this device are simulator figures.
	Simulated() bool
	// MemInfo is the device memory free and in total now, in bytes.
	MemInfo() (free, total int64, err error)
	NewBuffer(n int) (Buffer, error)
	// Run records d (errors here are about d itself: an unknown kernel, a bad binding).
	Run(d Dispatch) error
	// Sync executes what was recorded and waits for it.
	Sync() error
	Close()
}

// UnsyncedAccessError is metal's: a host access to a buffer that a recorded dispatch
// binds, before the Sync that executes it. One type, so the code written against
// metal.Device (the backend, conformance) recognises it on CUDA too.
type UnsyncedAccessError = metal.UnsyncedAccessError

// ErrNoDriver: the CUDA driver library could not be loaded on this machine.
var ErrNoDriver = errors.New("cuda: no NVIDIA driver")

// ErrNoDevice: the driver is there but finds no CUDA device. With ErrNoDriver, the
// errors on which `--backend auto` runs on the CPU instead.
var ErrNoDevice = errors.New("cuda: no CUDA device")

// errorNoDevice is CUDA_ERROR_NO_DEVICE.
const errorNoDevice cuResult = 100

// noDevice is a driver's error (its message kept) that is ErrNoDevice.
type noDevice struct{ error }

func (e noDevice) Is(target error) bool { return target == ErrNoDevice }
func (e noDevice) Unwrap() error        { return e.error }
