//go:build darwin

package metal

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/ebitengine/purego/objc"
	"github.com/inferno-go/inferno/kernels"
)

// The Objective-C side of the Metal backend, through purego/objc (no cgo). Dispatches
// are recorded into one serial compute encoder per command buffer (a serial encoder
// orders each dispatch after the previous one, which is the barrier every op here
// needs) and committed at Sync, when the host needs results.

var (
	metalOnce sync.Once
	metalErr  error
	createDev func() objc.ID
)

func loadMetal() error {
	metalOnce.Do(func() {
		if _, err := purego.Dlopen("/System/Library/Frameworks/Foundation.framework/Foundation", purego.RTLD_NOW|purego.RTLD_GLOBAL); err != nil {
			metalErr = fmt.Errorf("metal: loading Foundation: %w", err)
			return
		}
		lib, err := purego.Dlopen("/System/Library/Frameworks/Metal.framework/Metal", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			metalErr = fmt.Errorf("metal: loading Metal.framework: %w", err)
			return
		}
		purego.RegisterLibFunc(&createDev, lib, "MTLCreateSystemDefaultDevice")
	})
	return metalErr
}

var (
	selName              = objc.RegisterName("name")
	selUTF8              = objc.RegisterName("UTF8String")
	selStringWithUTF8    = objc.RegisterName("stringWithUTF8String:")
	selSupportsFamily    = objc.RegisterName("supportsFamily:")
	selUnified           = objc.RegisterName("hasUnifiedMemory")
	selWorkingSet        = objc.RegisterName("recommendedMaxWorkingSetSize")
	selMaxBuffer         = objc.RegisterName("maxBufferLength")
	selNewQueue          = objc.RegisterName("newCommandQueue")
	selNewLibrarySource  = objc.RegisterName("newLibraryWithSource:options:error:")
	selNewFunction       = objc.RegisterName("newFunctionWithName:")
	selNewPipeline       = objc.RegisterName("newComputePipelineStateWithFunction:error:")
	selNewBuffer         = objc.RegisterName("newBufferWithLength:options:")
	selNewBufferNoCopy   = objc.RegisterName("newBufferWithBytesNoCopy:length:options:deallocator:")
	selAlloc             = objc.RegisterName("alloc")
	selInit              = objc.RegisterName("init")
	selSetConstant       = objc.RegisterName("setConstantValue:type:atIndex:")
	selNewFunctionConsts = objc.RegisterName("newFunctionWithName:constantValues:error:")
	selContents          = objc.RegisterName("contents")
	selRelease           = objc.RegisterName("release")
	selCommandBuffer     = objc.RegisterName("commandBuffer")
	selComputeEncoder    = objc.RegisterName("computeCommandEncoder")
	selSetPipeline       = objc.RegisterName("setComputePipelineState:")
	selSetBuffer         = objc.RegisterName("setBuffer:offset:atIndex:")
	selSetBytes          = objc.RegisterName("setBytes:length:atIndex:")
	selSetTGMem          = objc.RegisterName("setThreadgroupMemoryLength:atIndex:")
	selDispatch          = objc.RegisterName("dispatchThreadgroups:threadsPerThreadgroup:")
	selEndEncoding       = objc.RegisterName("endEncoding")
	selCommit            = objc.RegisterName("commit")
	selWait              = objc.RegisterName("waitUntilCompleted")
	selError             = objc.RegisterName("error")
	selLocalizedDesc     = objc.RegisterName("localizedDescription")
	selGPUStart          = objc.RegisterName("GPUStartTime")
	selGPUEnd            = objc.RegisterName("GPUEndTime")
)

type mtlSize struct{ W, H, D uint }

func goString(p *byte) string {
	if p == nil {
		return ""
	}
	var b []byte
	for i := 0; ; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(p), i))
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

func nsString(s string) objc.ID {
	c := append([]byte(s), 0)
	id := objc.ID(objc.GetClass("NSString")).Send(selStringWithUTF8, unsafe.Pointer(&c[0]))
	runtime.KeepAlive(c)
	return id
}

func nsToString(id objc.ID) string {
	if id == 0 {
		return ""
	}
	return goString(objc.Send[*byte](id, selUTF8))
}

// GPUDevice is the system's default Metal device.
type GPUDevice struct {
	dev, queue, lib objc.ID
	info            Info
	pipelines       map[string]objc.ID
	mu              sync.Mutex
	cb, enc         objc.ID // current command buffer and encoder (0 when none)
	// GPUTime accumulates the GPU time of committed command buffers, in seconds.
	GPUTime float64
}

var _ Device = (*GPUDevice)(nil)

// NewDevice opens the default Metal device and compiles the embedded kernels.
func NewDevice() (Device, error) {
	if err := loadMetal(); err != nil {
		return nil, err
	}
	dev := createDev()
	if dev == 0 {
		return nil, errors.New("metal: no Metal device (MTLCreateSystemDefaultDevice returned nil)")
	}
	g := &GPUDevice{dev: dev, pipelines: map[string]objc.ID{}}
	g.info.Name = nsToString(dev.Send(selName))
	for fam := 1010; fam >= 1001; fam-- { // MTLGPUFamilyApple10 .. Apple1
		if objc.Send[bool](dev, selSupportsFamily, fam) {
			g.info.Family = fmt.Sprintf("MTLGPUFamilyApple%d (%d)", fam-1000, fam)
			break
		}
	}
	g.info.UnifiedMemory = objc.Send[bool](dev, selUnified)
	g.info.MaxWorkingSet = int64(objc.Send[uint64](dev, selWorkingSet))
	g.info.MaxBufferLength = int64(objc.Send[uint64](dev, selMaxBuffer))
	g.queue = dev.Send(selNewQueue)
	var errID objc.ID
	g.lib = dev.Send(selNewLibrarySource, nsString(kernels.Library()), objc.ID(0), unsafe.Pointer(&errID))
	if g.lib == 0 {
		return nil, fmt.Errorf("metal: compiling the kernels: %s", compileMessage(nsToString(errID.Send(selLocalizedDesc))))
	}
	return g, nil
}

// compileMessage keeps the first error line ("program_source:LINE:COL: error: ...") and
// maps the line back to the .metal file it came from.
func compileMessage(log string) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "error:") {
			var line int
			if _, err := fmt.Sscanf(strings.TrimPrefix(l, "program_source:"), "%d:", &line); err == nil {
				return fmt.Sprintf("%s (%s)", l, kernelsLocation(line))
			}
			return l
		}
	}
	return log
}

// kernelsLocation turns a line of kernels.Library() into file:line.
func kernelsLocation(line int) string {
	m, order := kernels.Sources()
	n := 0
	for _, f := range order {
		l := strings.Count(m[f], "\n") + 2 // header comment line + trailing newline
		if line <= n+l {
			return fmt.Sprintf("%s:%d", f, line-n-1)
		}
		n += l
	}
	return fmt.Sprintf("line %d", line)
}

func (g *GPUDevice) Name() string    { return g.info.Name }
func (g *GPUDevice) Info() Info      { return g.info }
func (g *GPUDevice) Simulated() bool { return false }

var _ HostBuffer = (*gpuBuffer)(nil)

type gpuBuffer struct {
	id   objc.ID
	data []byte
}

func (b *gpuBuffer) Bytes() []byte { return b.data }

// Read and Write copy through the shared-storage mapping.
func (b *gpuBuffer) Read(off int, p []byte) error {
	if err := b.check("read", off, p); err != nil {
		return err
	}
	copy(p, b.data[off:])
	return nil
}

func (b *gpuBuffer) Write(off int, p []byte) error {
	if err := b.check("write", off, p); err != nil {
		return err
	}
	copy(b.data[off:], p)
	return nil
}

func (b *gpuBuffer) check(op string, off int, p []byte) error {
	switch n := len(b.data); {
	case b.id == 0:
		return fmt.Errorf("metal: %s of a released buffer", op)
	case off < 0 || off > n || len(p) > n-off:
		return fmt.Errorf("metal: %s of %d bytes at offset %d: outside the buffer's %d bytes", op, len(p), off, n)
	}
	return nil
}

// Release drops the host's reference; a command buffer (made with commandBuffer, which
// retains what it binds) keeps the buffer alive until it has executed.
func (b *gpuBuffer) Release() {
	if b.id != 0 {
		b.id.Send(selRelease)
		b.id, b.data = 0, nil
	}
}

// NewBuffer allocates shared-storage memory (visible to CPU and GPU).
func (g *GPUDevice) NewBuffer(n int) (Buffer, error) {
	if int64(n) > g.info.MaxBufferLength {
		return nil, fmt.Errorf("metal: a %d-byte buffer exceeds maxBufferLength %d", n, g.info.MaxBufferLength)
	}
	id := g.dev.Send(selNewBuffer, uint(max(n, 1)), uint(0)) // MTLResourceStorageModeShared
	if id == 0 {
		return nil, fmt.Errorf("metal: allocating %d bytes failed", n)
	}
	p := objc.Send[*byte](id, selContents)
	return &gpuBuffer{id: id, data: unsafe.Slice(p, max(n, 1))[:n]}, nil
}

// MapHost wraps host memory (a slice of the memory-mapped GGUF) in a Metal buffer
// without copying: the page-aligned span around data becomes the buffer, and the
// returned offset locates data in it. Apple Silicon's unified memory makes this free.
func (g *GPUDevice) MapHost(data []byte) (Buffer, int, error) {
	if len(data) == 0 {
		return nil, 0, errors.New("metal: MapHost of an empty range")
	}
	page := uintptr(os.Getpagesize())
	p := uintptr(unsafe.Pointer(&data[0]))
	start := p &^ (page - 1)
	end := (p + uintptr(len(data)) + page - 1) &^ (page - 1)
	if int64(end-start) > g.info.MaxBufferLength {
		return nil, 0, fmt.Errorf("metal: a %d-byte tensor exceeds maxBufferLength %d", len(data), g.info.MaxBufferLength)
	}
	base := unsafe.Add(unsafe.Pointer(&data[0]), -int(p-start))
	id := g.dev.Send(selNewBufferNoCopy, base, uint(end-start), uint(0), objc.ID(0))
	if id == 0 {
		return nil, 0, fmt.Errorf("metal: newBufferWithBytesNoCopy failed for %d bytes", end-start)
	}
	return &gpuBuffer{id: id, data: unsafe.Slice((*byte)(base), int(end-start))}, int(p - start), nil
}

// MTLDataType values for function constants.
const (
	mtlDataTypeInt   = 29
	mtlDataTypeUInt  = 33
	mtlDataTypeShort = 37
	mtlDataTypeBool  = 53
)

func (g *GPUDevice) pipeline(name string, consts map[int]any) (objc.ID, error) {
	key := name
	if len(consts) > 0 {
		key = fmt.Sprintf("%s%v", name, consts)
	}
	if p, ok := g.pipelines[key]; ok {
		return p, nil
	}
	var fn objc.ID
	if len(consts) == 0 {
		fn = g.lib.Send(selNewFunction, nsString(name))
	} else {
		cv := objc.ID(objc.GetClass("MTLFunctionConstantValues")).Send(selAlloc).Send(selInit)
		vals := make([][8]byte, 0, len(consts))
		for idx, v := range consts {
			var buf [8]byte
			var typ uint
			switch x := v.(type) {
			case int32:
				*(*int32)(unsafe.Pointer(&buf[0])) = x
				typ = mtlDataTypeInt
			case uint32:
				*(*uint32)(unsafe.Pointer(&buf[0])) = x
				typ = mtlDataTypeUInt
			case int16:
				*(*int16)(unsafe.Pointer(&buf[0])) = x
				typ = mtlDataTypeShort
			case bool:
				if x {
					buf[0] = 1
				}
				typ = mtlDataTypeBool
			default:
				return 0, fmt.Errorf("metal: function constant %d: unsupported type %T", idx, v)
			}
			vals = append(vals, buf)
			cv.Send(selSetConstant, unsafe.Pointer(&vals[len(vals)-1][0]), typ, uint(idx))
		}
		var errID objc.ID
		fn = g.lib.Send(selNewFunctionConsts, nsString(name), cv, unsafe.Pointer(&errID))
		runtime.KeepAlive(vals)
		cv.Send(selRelease)
		if fn == 0 {
			return 0, fmt.Errorf("metal: kernel %s with constants %v: %s", name, consts, nsToString(errID.Send(selLocalizedDesc)))
		}
	}
	if fn == 0 {
		return 0, fmt.Errorf("metal: no kernel %q in the library", name)
	}
	var errID objc.ID
	p := g.dev.Send(selNewPipeline, fn, unsafe.Pointer(&errID))
	if p == 0 {
		return 0, fmt.Errorf("metal: pipeline %s: %s", name, nsToString(errID.Send(selLocalizedDesc)))
	}
	g.pipelines[key] = p
	return p, nil
}

// Run records a dispatch into the current command buffer.
func (g *GPUDevice) Run(d Dispatch) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, a := range d.Args {
		if len(a.Bytes) > MaxInlineBytes {
			return fmt.Errorf("metal: %s: argument %d: %d inline bytes, at most %d", d.Kernel, i, len(a.Bytes), MaxInlineBytes)
		}
		if _, ok := a.Buf.(*gpuBuffer); a.Buf != nil && (!ok || a.Bytes != nil) {
			return fmt.Errorf("metal: %s: argument %d is not a Metal buffer of this device, or has bytes too", d.Kernel, i)
		}
	}
	p, err := g.pipeline(d.Kernel, d.Constants)
	if err != nil {
		return err
	}
	if g.enc == 0 {
		g.cb = g.queue.Send(selCommandBuffer)
		g.enc = g.cb.Send(selComputeEncoder)
	}
	g.enc.Send(selSetPipeline, p)
	for i, a := range d.Args {
		if a.Bytes != nil {
			// setBytes copies the data into the command buffer
			g.enc.Send(selSetBytes, unsafe.Pointer(unsafe.SliceData(a.Bytes)), uint(len(a.Bytes)), uint(i))
			runtime.KeepAlive(a.Bytes)
			continue
		}
		if gb, ok := a.Buf.(*gpuBuffer); ok {
			g.enc.Send(selSetBuffer, gb.id, uint(a.Off), uint(i))
		}
	}
	for i, n := range d.Threadgroup {
		g.enc.Send(selSetTGMem, uint((n+15)/16*16), uint(i))
	}
	grid := mtlSize{uint(max(1, d.Grid[0])), uint(max(1, d.Grid[1])), uint(max(1, d.Grid[2]))}
	tg := mtlSize{uint(max(1, d.Threads[0])), uint(max(1, d.Threads[1])), uint(max(1, d.Threads[2]))}
	g.enc.Send(selDispatch, grid, tg)
	return nil
}

// Sync commits the recorded dispatches and waits for them.
func (g *GPUDevice) Sync() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.enc == 0 {
		return nil
	}
	g.enc.Send(selEndEncoding)
	g.cb.Send(selCommit)
	g.cb.Send(selWait)
	g.GPUTime += objc.Send[float64](g.cb, selGPUEnd) - objc.Send[float64](g.cb, selGPUStart)
	e := g.cb.Send(selError)
	g.cb, g.enc = 0, 0
	if e != 0 {
		return fmt.Errorf("metal: command buffer failed: %s", nsToString(e.Send(selLocalizedDesc)))
	}
	return nil
}

func (g *GPUDevice) Close() {
	_ = g.Sync()
	for _, p := range g.pipelines {
		p.Send(selRelease)
	}
	if g.lib != 0 {
		g.lib.Send(selRelease)
	}
	if g.queue != 0 {
		g.queue.Send(selRelease)
	}
}
