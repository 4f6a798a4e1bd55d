package cuda

import (
	"fmt"
	"unsafe"
)

// cuResult is the driver's CUresult; 0 is CUDA_SUCCESS.
type cuResult int32

// driver is the subset of the CUDA driver API the device uses, one field per entry
// point (the _v2 symbols where the driver has them). The real one is loaded from
// libcuda.so.1 (Linux) or nvcuda.dll (Windows); tests substitute a fake to check the host
// logic without a GPU.
type driver struct {
	Init               func(flags uint32) cuResult
	DriverGetVersion   func(v *int32) cuResult
	DeviceGetCount     func(n *int32) cuResult
	DeviceGet          func(dev *int32, ordinal int32) cuResult
	DeviceGetName      func(name *byte, n int32, dev int32) cuResult
	DeviceGetAttribute func(v *int32, attr int32, dev int32) cuResult
	DeviceTotalMem     func(bytes *uint64, dev int32) cuResult
	PrimaryCtxRetain   func(ctx *uintptr, dev int32) cuResult
	PrimaryCtxRelease  func(dev int32) cuResult
	CtxSetCurrent      func(ctx uintptr) cuResult
	ModuleLoadData     func(mod *uintptr, image *byte) cuResult
	ModuleUnload       func(mod uintptr) cuResult
	ModuleGetFunction  func(fn *uintptr, mod uintptr, name string) cuResult
	MemAlloc           func(ptr *uint64, n uint64) cuResult
	MemFree            func(ptr uint64) cuResult
	MemcpyHtoD         func(dst uint64, src unsafe.Pointer, n uint64) cuResult
	MemcpyDtoH         func(dst unsafe.Pointer, src uint64, n uint64) cuResult
	MemGetInfo         func(free, total *uint64) cuResult
	StreamCreate       func(s *uintptr, flags uint32) cuResult
	StreamDestroy      func(s uintptr) cuResult
	StreamSynchronize  func(s uintptr) cuResult
	LaunchKernel       func(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, s uintptr, params *unsafe.Pointer, extra *unsafe.Pointer) cuResult
	GetErrorName       func(r cuResult, name **byte) cuResult
	// CUDA graphs: a stream's launches captured once, replayed by one call (graph.go).
	StreamBeginCapture func(s uintptr, mode int32) cuResult
	StreamEndCapture   func(s uintptr, graph *uintptr) cuResult
	GraphInstantiate   func(exec *uintptr, graph uintptr, flags uint64) cuResult
	GraphLaunch        func(exec uintptr, s uintptr) cuResult
	GraphExecDestroy   func(exec uintptr) cuResult
	GraphDestroy       func(graph uintptr) cuResult
}

// symbols maps each field to its exported name in libcuda.
var symbols = []struct {
	name string
	fn   func(d *driver) any
}{
	{"cuInit", func(d *driver) any { return &d.Init }},
	{"cuDriverGetVersion", func(d *driver) any { return &d.DriverGetVersion }},
	{"cuDeviceGetCount", func(d *driver) any { return &d.DeviceGetCount }},
	{"cuDeviceGet", func(d *driver) any { return &d.DeviceGet }},
	{"cuDeviceGetName", func(d *driver) any { return &d.DeviceGetName }},
	{"cuDeviceGetAttribute", func(d *driver) any { return &d.DeviceGetAttribute }},
	{"cuDeviceTotalMem_v2", func(d *driver) any { return &d.DeviceTotalMem }},
	{"cuDevicePrimaryCtxRetain", func(d *driver) any { return &d.PrimaryCtxRetain }},
	{"cuDevicePrimaryCtxRelease_v2", func(d *driver) any { return &d.PrimaryCtxRelease }},
	{"cuCtxSetCurrent", func(d *driver) any { return &d.CtxSetCurrent }},
	{"cuModuleLoadData", func(d *driver) any { return &d.ModuleLoadData }},
	{"cuModuleUnload", func(d *driver) any { return &d.ModuleUnload }},
	{"cuModuleGetFunction", func(d *driver) any { return &d.ModuleGetFunction }},
	{"cuMemAlloc_v2", func(d *driver) any { return &d.MemAlloc }},
	{"cuMemFree_v2", func(d *driver) any { return &d.MemFree }},
	{"cuMemcpyHtoD_v2", func(d *driver) any { return &d.MemcpyHtoD }},
	{"cuMemcpyDtoH_v2", func(d *driver) any { return &d.MemcpyDtoH }},
	{"cuMemGetInfo_v2", func(d *driver) any { return &d.MemGetInfo }},
	{"cuStreamCreate", func(d *driver) any { return &d.StreamCreate }},
	{"cuStreamDestroy_v2", func(d *driver) any { return &d.StreamDestroy }},
	{"cuStreamSynchronize", func(d *driver) any { return &d.StreamSynchronize }},
	{"cuLaunchKernel", func(d *driver) any { return &d.LaunchKernel }},
	{"cuGetErrorName", func(d *driver) any { return &d.GetErrorName }},
	{"cuStreamBeginCapture_v2", func(d *driver) any { return &d.StreamBeginCapture }},
	{"cuStreamEndCapture", func(d *driver) any { return &d.StreamEndCapture }},
	{"cuGraphInstantiateWithFlags", func(d *driver) any { return &d.GraphInstantiate }},
	{"cuGraphLaunch", func(d *driver) any { return &d.GraphLaunch }},
	{"cuGraphExecDestroy", func(d *driver) any { return &d.GraphExecDestroy }},
	{"cuGraphDestroy", func(d *driver) any { return &d.GraphDestroy }},
}

// Device attributes (CUdevice_attribute).
const (
	attrMultiprocessors = 16
	attrMemoryClockKHz  = 36 // peak memory clock
	attrMemoryBusBits   = 37 // global memory bus width
	attrCCMajor         = 75
	attrCCMinor         = 76
)

// check turns a CUresult into a one-line error naming the call (with what it was
// doing, if what is not empty) and the CUDA error name.
func (d *driver) check(r cuResult, call, what string) error {
	if r == 0 {
		return nil
	}
	if what != "" {
		call += "(" + what + ")"
	}
	return fmt.Errorf("cuda: %s: %s", call, d.errorName(r))
}

func (d *driver) errorName(r cuResult) string {
	var p *byte
	if d.GetErrorName == nil || d.GetErrorName(r, &p) != 0 || p == nil {
		return fmt.Sprintf("CUDA error %d", int32(r))
	}
	return cString(p, 128)
}

// cString reads a NUL-terminated string of at most max bytes that the driver owns.
func cString(p *byte, max int) string {
	b := unsafe.Slice(p, max)
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
