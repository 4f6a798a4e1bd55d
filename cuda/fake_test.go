package cuda

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"unsafe"
)

// fakeGPU is a driver without a GPU: device memory is Go memory at made-up addresses,
// and its kernels are Go functions run at launch (before the stream is synchronized,
// as a GPU might), so the device's host logic is tested everywhere.
type fakeGPU struct {
	mem      map[uint64][]byte
	next     uint64
	launches []string
	freed    int
	fail     map[string]cuResult // call name → the result it returns
	devices  int32
	released bool // primary context released

	// graphs: a capture records launches instead of running them; a graph launch
	// replays the instantiated list
	capturing     bool
	captured      []fakeLaunch
	graphs        map[uintptr][]fakeLaunch // live CUgraphs
	execs         map[uintptr][]fakeLaunch // live CUgraphExecs
	handle        uintptr
	captures      int // graphs instantiated
	graphLaunches int
	kernelCalls   int // cuLaunchKernel calls outside a capture
}

// fakeLaunch is a launch with its parameters copied, as the driver keeps them.
type fakeLaunch struct {
	fn       uintptr
	src, dst uint64 // copy: src, dst; fill: dst
	n        int32
	arg      [8]byte // fill's struct
}

// run executes l on the fake memory.
func (f *fakeGPU) run(l fakeLaunch) {
	switch l.fn {
	case 1: // copy(src, dst, n int32)
		src, so := f.at(l.src)
		dst, do := f.at(l.dst)
		copy(dst[do:do+int(l.n)], src[so:so+int(l.n)])
		f.launches = append(f.launches, "copy")
	case 2: // fill(dst, struct{value uint32; n int32})
		dst, do := f.at(l.dst)
		v, n := binary.LittleEndian.Uint32(l.arg[:]), int(binary.LittleEndian.Uint32(l.arg[4:]))
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint32(dst[do+4*i:], v)
		}
		f.launches = append(f.launches, "fill")
	}
}

// Error names of the codes the tests use (cuda.h's values).
var fakeErrorNames = map[cuResult]string{2: "CUDA_ERROR_OUT_OF_MEMORY", 100: "CUDA_ERROR_NO_DEVICE",
	218: "CUDA_ERROR_INVALID_PTX", 500: "CUDA_ERROR_NOT_FOUND", 700: "CUDA_ERROR_ILLEGAL_ADDRESS", 1: "CUDA_ERROR_INVALID_VALUE"}

var fakeKernels = map[string]uintptr{"copy": 1, "fill": 2}

// fakePTX declares the fake kernels' parameters as clang writes them.
const fakePTX = `.visible .entry copy(
	.param .u64 copy_param_0,
	.param .u64 copy_param_1,
	.param .u32 copy_param_2
)
{
}
.visible .entry fill(
	.param .u64 fill_param_0,
	.param .align 4 .b8 fill_param_1[8]
)
{
}
`

func newFakeGPU() *fakeGPU {
	return &fakeGPU{mem: map[uint64][]byte{}, next: 1 << 32, fail: map[string]cuResult{}, devices: 1,
		graphs: map[uintptr][]fakeLaunch{}, execs: map[uintptr][]fakeLaunch{}}
}

// at returns the allocation holding address p and the offset of p in it.
func (f *fakeGPU) at(p uint64) ([]byte, int) {
	keys := make([]uint64, 0, len(f.mem))
	for k := range f.mem {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		if p >= k && p < k+uint64(len(f.mem[k])) {
			return f.mem[k], int(p - k)
		}
	}
	panic(fmt.Sprintf("fake GPU: address %#x is not allocated", p))
}

func (f *fakeGPU) driver() *driver {
	ok := func(call string) cuResult { return f.fail[call] }
	str := map[cuResult][]byte{}
	return &driver{
		Init:             func(uint32) cuResult { return ok("cuInit") },
		DriverGetVersion: func(v *int32) cuResult { *v = 13000; return ok("cuDriverGetVersion") },
		DeviceGetCount:   func(n *int32) cuResult { *n = f.devices; return ok("cuDeviceGetCount") },
		DeviceGet:        func(d *int32, o int32) cuResult { *d = o; return ok("cuDeviceGet") },
		DeviceGetName: func(name *byte, n int32, dev int32) cuResult {
			copy(unsafe.Slice(name, n), fmt.Sprintf("Fake GPU %d\x00", dev))
			return ok("cuDeviceGetName")
		},
		DeviceGetAttribute: func(v *int32, attr int32, dev int32) cuResult {
			*v = map[int32]int32{attrCCMajor: 9, attrCCMinor: 0, attrMultiprocessors: 132, attrMemoryClockKHz: 3_201_000, attrMemoryBusBits: 6144}[attr]
			if dev == 1 {
				*v = map[int32]int32{attrCCMajor: 8, attrCCMinor: 6, attrMultiprocessors: 84}[attr]
			}
			return ok("cuDeviceGetAttribute")
		},
		DeviceTotalMem:    func(b *uint64, _ int32) cuResult { *b = 1 << 30; return ok("cuDeviceTotalMem") },
		PrimaryCtxRetain:  func(c *uintptr, _ int32) cuResult { *c = 7; return ok("cuDevicePrimaryCtxRetain") },
		PrimaryCtxRelease: func(int32) cuResult { f.released = true; return 0 },
		CtxSetCurrent:     func(uintptr) cuResult { return ok("cuCtxSetCurrent") },
		ModuleLoadData:    func(m *uintptr, _ *byte) cuResult { *m = 9; return ok("cuModuleLoadData") },
		ModuleUnload:      func(uintptr) cuResult { return 0 },
		ModuleGetFunction: func(fn *uintptr, _ uintptr, name string) cuResult {
			k, found := fakeKernels[name]
			if !found {
				return 500
			}
			*fn = k
			return 0
		},
		MemAlloc: func(p *uint64, n uint64) cuResult {
			if r := ok("cuMemAlloc"); r != 0 {
				return r
			}
			*p = f.next
			f.mem[f.next] = make([]byte, n)
			f.next += n + 4096
			return 0
		},
		MemFree: func(p uint64) cuResult { delete(f.mem, p); f.freed++; return 0 },
		MemcpyHtoD: func(dst uint64, src unsafe.Pointer, n uint64) cuResult {
			m, off := f.at(dst)
			copy(m[off:off+int(n)], unsafe.Slice((*byte)(src), n))
			return 0
		},
		MemcpyDtoH: func(dst unsafe.Pointer, src uint64, n uint64) cuResult {
			m, off := f.at(src)
			copy(unsafe.Slice((*byte)(dst), n), m[off:off+int(n)])
			return 0
		},
		MemGetInfo:        func(free, total *uint64) cuResult { *free, *total = 1<<29, 1<<30; return ok("cuMemGetInfo") },
		StreamCreate:      func(s *uintptr, _ uint32) cuResult { *s = 11; return ok("cuStreamCreate") },
		StreamDestroy:     func(uintptr) cuResult { return 0 },
		StreamSynchronize: func(uintptr) cuResult { return ok("cuStreamSynchronize") },
		LaunchKernel: func(fn uintptr, gx, gy, gz, bx, by, bz, shared uint32, s uintptr, params *unsafe.Pointer, _ *unsafe.Pointer) cuResult {
			if r := ok("cuLaunchKernel"); r != 0 {
				return r
			}
			ps := unsafe.Slice(params, 3)
			l := fakeLaunch{fn: fn}
			switch fn {
			case 1:
				l.src, l.dst, l.n = *(*uint64)(ps[0]), *(*uint64)(ps[1]), *(*int32)(ps[2])
			case 2:
				l.dst = *(*uint64)(ps[0])
				copy(l.arg[:], unsafe.Slice((*byte)(ps[1]), 8))
			}
			if f.capturing {
				f.captured = append(f.captured, l)
				return 0
			}
			f.kernelCalls++
			f.run(l)
			return 0
		},
		StreamBeginCapture: func(_ uintptr, mode int32) cuResult {
			if r := ok("cuStreamBeginCapture"); r != 0 {
				return r
			}
			if f.capturing || mode != captureModeThreadLocal {
				return 1
			}
			f.capturing, f.captured = true, nil
			return 0
		},
		StreamEndCapture: func(_ uintptr, g *uintptr) cuResult {
			if !f.capturing {
				return 1
			}
			f.capturing = false
			if r := ok("cuStreamEndCapture"); r != 0 {
				return r
			}
			f.handle++
			f.graphs[f.handle] = f.captured
			*g = f.handle
			return 0
		},
		GraphInstantiate: func(e *uintptr, g uintptr, _ uint64) cuResult {
			if r := ok("cuGraphInstantiate"); r != 0 {
				return r
			}
			f.handle++
			f.execs[f.handle] = slices.Clone(f.graphs[g])
			f.captures++
			*e = f.handle
			return 0
		},
		GraphLaunch: func(e uintptr, _ uintptr) cuResult {
			if r := ok("cuGraphLaunch"); r != 0 {
				return r
			}
			list, found := f.execs[e]
			if !found {
				return 1
			}
			f.graphLaunches++
			for _, l := range list {
				f.run(l)
			}
			return 0
		},
		GraphExecDestroy: func(e uintptr) cuResult { delete(f.execs, e); return 0 },
		GraphDestroy:     func(g uintptr) cuResult { delete(f.graphs, g); return 0 },
		GetErrorName: func(r cuResult, name **byte) cuResult {
			n, found := fakeErrorNames[r]
			if !found {
				return 1
			}
			if str[r] == nil {
				str[r] = append([]byte(n), 0)
			}
			*name = &str[r][0]
			return 0
		},
	}
}
