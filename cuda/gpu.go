package cuda

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/inferno-go/inferno/kernels"
)

// GPUDevice is one NVIDIA GPU through the driver API: its primary context, one
// stream, and the embedded PTX module (the driver JIT-compiles it for the GPU).
type GPUDevice struct {
	drv    *driver
	dev    int32
	ctx    uintptr
	module uintptr
	stream uintptr
	info   Info

	mu      sync.Mutex // guards everything below and every gpuBuffer's uses and released
	funcs   map[string]uintptr
	params  map[string][]int // each kernel's parameter sizes, from the PTX
	pending []recorded
	closed  bool
	graphs  graphCache

	// launch's parameter block, reused: the values (8-byte slots) and a pointer to each
	arena   []uint64
	argPtrs []unsafe.Pointer
	pin     runtime.Pinner // pins arena and argPtrs (the driver reads them)
}

var _ Device = (*GPUDevice)(nil)

// recorded is a dispatch waiting for Sync, with its buffers (by argument; nil for
// values) and its values copied.
type recorded struct {
	d    Dispatch
	fn   uintptr
	bufs []*gpuBuffer
	args []Arg  // d.Args' storage
	vals []byte // the value arguments' storage
}

// nextRecord is the slot after d.pending's end with the storage a synced dispatch
// left there, sized for x: recording a decode step again allocates nothing.
func (d *GPUDevice) nextRecord(x Dispatch) recorded {
	var r recorded
	if n := len(d.pending); n < cap(d.pending) {
		r = d.pending[:n+1][n]
	}
	n, nvals := len(x.Args), 0
	for _, a := range x.Args {
		nvals += len(a.Bytes)
	}
	r.bufs = slices.Grow(r.bufs[:0], n)[:n]
	clear(r.bufs)
	r.args = slices.Grow(r.args[:0], n)[:n]
	r.vals = slices.Grow(r.vals[:0], nvals) // appends below stay within it
	r.d = x
	r.d.Args = r.args
	return r
}

// Open loads the driver and opens GPU number ordinal. Without a driver or a device it
// returns an error that wraps ErrNoDriver or names the failing call.
func Open(ordinal int) (*GPUDevice, error) {
	drv, err := loadDriver()
	if err != nil {
		return nil, err
	}
	return openWith(drv, ordinal, kernels.PTX())
}

func openWith(drv *driver, ordinal int, ptx []byte) (_ *GPUDevice, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n, err := deviceCount(drv)
	if err != nil {
		return nil, err
	}
	if ordinal < 0 || ordinal >= n {
		err := fmt.Errorf("cuda: device %d does not exist: the driver reports %d CUDA device(s)", ordinal, n)
		if n == 0 {
			err = noDevice{err}
		}
		return nil, err
	}
	params, err := ptxParams(ptx)
	if err != nil {
		return nil, err
	}
	d := &GPUDevice{drv: drv, funcs: map[string]uintptr{}, params: params}
	d.graphs.off = os.Getenv("INFERNO_CUDA_GRAPH") == "0"
	if os.Getenv("INFERNO_CUDA_DEBUG") != "" {
		d.graphs.debug = os.Stderr
	}
	if err := drv.check(drv.DeviceGet(&d.dev, int32(ordinal)), "cuDeviceGet", fmt.Sprint(ordinal)); err != nil {
		return nil, err
	}
	if err := d.readInfo(); err != nil {
		return nil, err
	}
	if err := drv.check(drv.PrimaryCtxRetain(&d.ctx, d.dev), "cuDevicePrimaryCtxRetain", ""); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.release()
		}
	}()
	if err := drv.check(drv.CtxSetCurrent(d.ctx), "cuCtxSetCurrent", ""); err != nil {
		return nil, err
	}
	image := append(append(make([]byte, 0, len(ptx)+1), ptx...), 0) // the driver reads a C string
	if err := drv.check(drv.ModuleLoadData(&d.module, &image[0]), "cuModuleLoadData", fmt.Sprintf("%d bytes of PTX", len(ptx))); err != nil {
		return nil, err
	}
	if err := drv.check(drv.StreamCreate(&d.stream, 0), "cuStreamCreate", ""); err != nil {
		return nil, err
	}
	return d, nil
}

// deviceCount initializes the driver and counts its devices. A driver that finds no
// device says so with an error that is ErrNoDevice.
func deviceCount(drv *driver) (int, error) {
	if r := drv.Init(0); r != 0 {
		err := drv.check(r, "cuInit", "")
		if r == errorNoDevice {
			err = noDevice{err}
		}
		return 0, err
	}
	var n int32
	if err := drv.check(drv.DeviceGetCount(&n), "cuDeviceGetCount", ""); err != nil {
		return 0, err
	}
	return int(n), nil
}

// Devices describes every CUDA device (for `inferno system`); without a driver the
// error wraps ErrNoDriver.
func Devices() ([]Info, error) {
	drv, err := loadDriver()
	if err != nil {
		return nil, err
	}
	return devicesWith(drv)
}

func devicesWith(drv *driver) ([]Info, error) {
	n, err := deviceCount(drv)
	if err != nil {
		return nil, err
	}
	var out []Info
	for i := range n {
		d := &GPUDevice{drv: drv}
		if err := drv.check(drv.DeviceGet(&d.dev, int32(i)), "cuDeviceGet", fmt.Sprint(i)); err != nil {
			return nil, err
		}
		if err := d.readInfo(); err != nil {
			return nil, err
		}
		out = append(out, d.info)
	}
	return out, nil
}

func (d *GPUDevice) readInfo() error {
	drv := d.drv
	name := make([]byte, 256)
	if err := drv.check(drv.DeviceGetName(&name[0], int32(len(name)), d.dev), "cuDeviceGetName", ""); err != nil {
		return err
	}
	d.info.Name = cString(&name[0], len(name))
	for _, a := range []struct {
		attr int32
		to   *int
		name string
	}{{attrCCMajor, &d.info.Major, "compute capability major"}, {attrCCMinor, &d.info.Minor, "compute capability minor"},
		{attrMultiprocessors, &d.info.Multiprocessors, "multiprocessor count"}} {
		var v int32
		if err := drv.check(drv.DeviceGetAttribute(&v, a.attr, d.dev), "cuDeviceGetAttribute", a.name); err != nil {
			return err
		}
		*a.to = int(v)
	}
	var clockKHz, busBits int32
	if drv.DeviceGetAttribute(&clockKHz, attrMemoryClockKHz, d.dev) == 0 && drv.DeviceGetAttribute(&busBits, attrMemoryBusBits, d.dev) == 0 {
		d.info.MemoryBandwidth = 2 * float64(clockKHz) * 1e3 * float64(busBits) / 8
	}
	var total uint64
	if err := drv.check(drv.DeviceTotalMem(&total, d.dev), "cuDeviceTotalMem", ""); err != nil {
		return err
	}
	d.info.TotalMemory = int64(total)
	var v int32
	if err := drv.check(drv.DriverGetVersion(&v), "cuDriverGetVersion", ""); err != nil {
		return err
	}
	d.info.DriverVersion = int(v)
	return nil
}

// release frees what openWith acquired (zero handles are skipped).
func (d *GPUDevice) release() {
	if d.stream != 0 {
		d.drv.StreamDestroy(d.stream)
	}
	if d.module != 0 {
		d.drv.ModuleUnload(d.module)
	}
	if d.ctx != 0 {
		d.drv.PrimaryCtxRelease(d.dev)
	}
	d.stream, d.module, d.ctx = 0, 0, 0
}

// enter makes the device's context current on this goroutine's OS thread, which stays
// locked to it until the returned function runs. Callers hold d.mu.
func (d *GPUDevice) enter() (func(), error) {
	if d.closed {
		return nil, errors.New("cuda: device is closed")
	}
	runtime.LockOSThread()
	if err := d.drv.check(d.drv.CtxSetCurrent(d.ctx), "cuCtxSetCurrent", ""); err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	return runtime.UnlockOSThread, nil
}

func (d *GPUDevice) Name() string    { return d.info.Name }
func (d *GPUDevice) Info() Info      { return d.info }
func (d *GPUDevice) Simulated() bool { return false }

func (d *GPUDevice) MemInfo() (free, total int64, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	leave, err := d.enter()
	if err != nil {
		return 0, 0, err
	}
	defer leave()
	var f, t uint64
	if err := d.drv.check(d.drv.MemGetInfo(&f, &t), "cuMemGetInfo", ""); err != nil {
		return 0, 0, err
	}
	return int64(f), int64(t), nil
}

// Close drops whatever is still recorded and releases the context; buffers not
// released yet are freed with it.
func (d *GPUDevice) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if leave, err := d.enter(); err == nil {
		d.drv.StreamSynchronize(d.stream)
		d.retire(d.pending)
		d.dropGraph()
		d.release()
		leave()
	}
	d.pending = nil
	d.closed = true
	d.pin.Unpin()
	d.arena, d.argPtrs = nil, nil
}

type gpuBuffer struct {
	dev      *GPUDevice
	ptr      uint64
	size     int
	uses     int    // recorded, unsynced dispatches binding it
	first    string // the kernel of the first of them
	released bool
}

// NewBuffer allocates n bytes of device memory (uninitialized).
func (d *GPUDevice) NewBuffer(n int) (Buffer, error) {
	if n <= 0 {
		return nil, fmt.Errorf("cuda: buffer of %d bytes: the size must be positive", n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	leave, err := d.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	b := &gpuBuffer{dev: d, size: n}
	if err := d.drv.check(d.drv.MemAlloc(&b.ptr, uint64(n)), "cuMemAlloc", fmt.Sprintf("%d bytes", n)); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *gpuBuffer) Size() int { return b.size }

// access checks a host copy of p at off against the buffer and the contract.
func (b *gpuBuffer) access(op string, off int, p []byte) error {
	switch {
	case b.released:
		return fmt.Errorf("cuda: %s of a released buffer", op)
	case off < 0 || off > b.size || len(p) > b.size-off:
		return fmt.Errorf("cuda: %s of %d bytes at offset %d: outside the buffer's %d bytes", op, len(p), off, b.size)
	case b.uses > 0:
		return &UnsyncedAccessError{Kernel: b.first}
	}
	return nil
}

func (b *gpuBuffer) Write(off int, p []byte) error {
	d := b.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := b.access("write", off, p); err != nil || len(p) == 0 {
		return err
	}
	leave, err := d.enter()
	if err != nil {
		return err
	}
	defer leave()
	return d.drv.check(d.drv.MemcpyHtoD(b.ptr+uint64(off), unsafe.Pointer(&p[0]), uint64(len(p))), "cuMemcpyHtoD", fmt.Sprintf("%d bytes", len(p)))
}

func (b *gpuBuffer) Read(off int, p []byte) error {
	d := b.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := b.access("read", off, p); err != nil || len(p) == 0 {
		return err
	}
	leave, err := d.enter()
	if err != nil {
		return err
	}
	defer leave()
	return d.drv.check(d.drv.MemcpyDtoH(unsafe.Pointer(&p[0]), b.ptr+uint64(off), uint64(len(p))), "cuMemcpyDtoH", fmt.Sprintf("%d bytes", len(p)))
}

func (b *gpuBuffer) Release() {
	d := b.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	if b.released {
		return
	}
	b.released = true
	if b.uses == 0 {
		d.free(b)
	}
}

// free returns b's memory; callers hold d.mu. After Close the context's memory is gone.
func (d *GPUDevice) free(b *gpuBuffer) {
	if d.closed || b.ptr == 0 {
		return
	}
	if leave, err := d.enter(); err == nil {
		d.drv.MemFree(b.ptr)
		leave()
	}
	b.ptr = 0
}

// function looks a kernel up in the module (once). Callers hold d.mu.
func (d *GPUDevice) function(name string) (uintptr, error) {
	if f, ok := d.funcs[name]; ok {
		return f, nil
	}
	leave, err := d.enter()
	if err != nil {
		return 0, err
	}
	defer leave()
	var f uintptr
	if r := d.drv.ModuleGetFunction(&f, d.module, name); r != 0 {
		return 0, fmt.Errorf("cuda: no kernel %q in the module: cuModuleGetFunction: %s", name, d.drv.errorName(r))
	}
	d.funcs[name] = f
	return f, nil
}

// Run checks and records x; it is launched at the next Sync.
func (d *GPUDevice) Run(x Dispatch) error {
	for i, n := range x.Grid {
		if n < 1 || (i == 0 && n > 1<<31-1) || (i > 0 && n > 65535) {
			return fmt.Errorf("cuda: %s: grid %v: dimension %d is out of range", x.Kernel, x.Grid, i)
		}
	}
	if t := x.Threads; t[0] < 1 || t[1] < 1 || t[2] < 1 || t[2] > 64 || t[0]*t[1]*t[2] > 1024 {
		return fmt.Errorf("cuda: %s: %v threads per block: each at least 1, z at most 64, at most 1024 in all", x.Kernel, t)
	}
	if x.Shared < 0 || x.Shared > 48<<10 {
		return fmt.Errorf("cuda: %s: %d bytes of shared memory: at most 48 KiB without an opt-in", x.Kernel, x.Shared)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("cuda: device is closed")
	}
	fn, err := d.function(x.Kernel)
	if err != nil {
		return err
	}
	if sizes, ok := d.params[x.Kernel]; ok {
		if err := checkParams(x, sizes); err != nil {
			return err
		}
	}
	r := d.nextRecord(x)
	r.fn = fn
	for i, a := range x.Args {
		switch {
		case a.Buf != nil && a.Bytes != nil:
			return fmt.Errorf("cuda: %s: argument %d has both a buffer and bytes", x.Kernel, i)
		case a.Bytes != nil:
			if len(a.Bytes) == 0 || len(a.Bytes) > MaxInlineBytes {
				return fmt.Errorf("cuda: %s: argument %d: %d value bytes, from 1 to %d", x.Kernel, i, len(a.Bytes), MaxInlineBytes)
			}
			start := len(r.vals)
			r.vals = append(r.vals, a.Bytes...)
			r.d.Args[i] = Arg{Bytes: r.vals[start:len(r.vals):len(r.vals)]}
		case a.Buf != nil:
			gb, ok := a.Buf.(*gpuBuffer)
			switch {
			case !ok || gb.dev != d:
				return fmt.Errorf("cuda: %s: argument %d is not a buffer of this device", x.Kernel, i)
			case gb.released:
				return fmt.Errorf("cuda: %s: argument %d is a released buffer", x.Kernel, i)
			case a.Off < 0 || a.Off >= gb.size:
				return fmt.Errorf("cuda: %s: argument %d: offset %d outside the buffer's %d bytes", x.Kernel, i, a.Off, gb.size)
			}
			r.bufs[i] = gb
			r.d.Args[i] = a
		default:
			return fmt.Errorf("cuda: %s: argument %d is empty (no buffer, no bytes)", x.Kernel, i)
		}
	}
	for _, gb := range r.bufs {
		if gb != nil {
			if gb.uses == 0 {
				gb.first = x.Kernel
			}
			gb.uses++
		}
	}
	d.pending = append(d.pending, r)
	return nil
}

// Sync launches the recorded dispatches in order on the stream and waits for them:
// kernel by kernel, or as one CUDA graph when the same long list comes again (graph.go).
// After a failed launch the rest are dropped; an execution error (which the driver
// reports at the synchronization) names the dispatches of this Sync.
func (d *GPUDevice) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.pending
	d.pending = nil
	defer func() {
		d.retire(p)
		d.pending = p[:0] // its slots' storage is reused by the next dispatches
	}()
	if len(p) == 0 {
		return nil
	}
	leave, err := d.enter()
	if err != nil {
		return err
	}
	defer leave()
	err = d.launchAll(p)
	var serr error
	if res := d.drv.StreamSynchronize(d.stream); res != 0 { // the message is formatted only then
		serr = d.drv.check(res, "cuStreamSynchronize", fmt.Sprintf("%d dispatches, %s first, %s last", len(p), p[0].d.Kernel, p[len(p)-1].d.Kernel))
	}
	if err != nil {
		return err
	}
	return serr
}

// launch passes each argument as one kernel parameter: a buffer's device pointer (plus
// its offset) or the value's bytes. The driver copies the parameters at the call.
func (d *GPUDevice) launch(r recorded) error {
	words := 0 // each parameter 8-byte aligned: a pointer is one word, a value rounds up
	for _, a := range r.d.Args {
		words += max(1, (len(a.Bytes)+7)/8)
	}
	if words+1 > len(d.arena) || len(r.d.Args)+1 > len(d.argPtrs) {
		d.pin.Unpin()
		d.arena = make([]uint64, max(words+1, 2*len(d.arena), 64))
		d.argPtrs = make([]unsafe.Pointer, max(len(r.d.Args)+1, 2*len(d.argPtrs), 16))
		d.pin.Pin(&d.arena[0])
		d.pin.Pin(&d.argPtrs[0])
	}
	arena, params := d.arena, d.argPtrs
	slot := 0
	for i, a := range r.d.Args {
		p := unsafe.Pointer(&arena[slot])
		if gb := r.bufs[i]; gb != nil {
			arena[slot] = gb.ptr + uint64(a.Off)
			slot++
		} else {
			n := (len(a.Bytes) + 7) / 8
			clear(arena[slot : slot+n]) // a reused slot's tail bytes read as zeros, as fresh ones did
			copy(unsafe.Slice((*byte)(p), len(a.Bytes)), a.Bytes)
			slot += n
		}
		params[i] = p
	}
	params[len(r.d.Args)] = nil
	g, t := r.d.Grid, r.d.Threads
	res := d.drv.LaunchKernel(r.fn, uint32(g[0]), uint32(g[1]), uint32(g[2]), uint32(t[0]), uint32(t[1]), uint32(t[2]),
		uint32(r.d.Shared), d.stream, &params[0], nil)
	if res != 0 { // the message is formatted only then: a launch costs a few µs
		return d.drv.check(res, "cuLaunchKernel", fmt.Sprintf("%s, grid %v, block %v", r.d.Kernel, g, t))
	}
	return nil
}

// retire ends the dispatches' claims on their buffers, freeing those released
// meanwhile. Callers hold d.mu.
func (d *GPUDevice) retire(p []recorded) {
	for _, r := range p {
		for _, gb := range r.bufs {
			if gb == nil {
				continue
			}
			gb.uses--
			if gb.uses == 0 && gb.released {
				d.free(gb)
			}
		}
	}
}
