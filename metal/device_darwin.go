//go:build darwin

package metal

import (
	"errors"
	"fmt"
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
	selName             = objc.RegisterName("name")
	selUTF8             = objc.RegisterName("UTF8String")
	selStringWithUTF8   = objc.RegisterName("stringWithUTF8String:")
	selSupportsFamily   = objc.RegisterName("supportsFamily:")
	selUnified          = objc.RegisterName("hasUnifiedMemory")
	selWorkingSet       = objc.RegisterName("recommendedMaxWorkingSetSize")
	selMaxBuffer        = objc.RegisterName("maxBufferLength")
	selNewQueue         = objc.RegisterName("newCommandQueue")
	selNewLibrarySource = objc.RegisterName("newLibraryWithSource:options:error:")
	selNewFunction      = objc.RegisterName("newFunctionWithName:")
	selNewPipeline      = objc.RegisterName("newComputePipelineStateWithFunction:error:")
	selNewBuffer        = objc.RegisterName("newBufferWithLength:options:")
	selContents         = objc.RegisterName("contents")
	selRelease          = objc.RegisterName("release")
	selCommandBuffer    = objc.RegisterName("commandBuffer")
	selComputeEncoder   = objc.RegisterName("computeCommandEncoder")
	selSetPipeline      = objc.RegisterName("setComputePipelineState:")
	selSetBuffer        = objc.RegisterName("setBuffer:offset:atIndex:")
	selSetTGMem         = objc.RegisterName("setThreadgroupMemoryLength:atIndex:")
	selDispatch         = objc.RegisterName("dispatchThreadgroups:threadsPerThreadgroup:")
	selEndEncoding      = objc.RegisterName("endEncoding")
	selCommit           = objc.RegisterName("commit")
	selWait             = objc.RegisterName("waitUntilCompleted")
	selError            = objc.RegisterName("error")
	selLocalizedDesc    = objc.RegisterName("localizedDescription")
	selGPUStart         = objc.RegisterName("GPUStartTime")
	selGPUEnd           = objc.RegisterName("GPUEndTime")
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

type gpuBuffer struct {
	id   objc.ID
	data []byte
}

func (b *gpuBuffer) Bytes() []byte { return b.data }
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

func (g *GPUDevice) pipeline(name string) (objc.ID, error) {
	if p, ok := g.pipelines[name]; ok {
		return p, nil
	}
	fn := g.lib.Send(selNewFunction, nsString(name))
	if fn == 0 {
		return 0, fmt.Errorf("metal: no kernel %q in the library", name)
	}
	var errID objc.ID
	p := g.dev.Send(selNewPipeline, fn, unsafe.Pointer(&errID))
	if p == 0 {
		return 0, fmt.Errorf("metal: pipeline %s: %s", name, nsToString(errID.Send(selLocalizedDesc)))
	}
	g.pipelines[name] = p
	return p, nil
}

// Run records a dispatch into the current command buffer.
func (g *GPUDevice) Run(d Dispatch) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	p, err := g.pipeline(d.Kernel)
	if err != nil {
		return err
	}
	if g.enc == 0 {
		g.cb = g.queue.Send(selCommandBuffer)
		g.enc = g.cb.Send(selComputeEncoder)
	}
	g.enc.Send(selSetPipeline, p)
	for i, b := range d.Buffers {
		gb, ok := b.(*gpuBuffer)
		if !ok || gb == nil {
			continue
		}
		off := 0
		if i < len(d.Offsets) {
			off = d.Offsets[i]
		}
		g.enc.Send(selSetBuffer, gb.id, uint(off), uint(i))
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
