package sim

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// LaneOrder is the order in which the fibers of a threadgroup are started; running every
// test in all three finds missing barriers.
type LaneOrder int

const (
	Forward LaneOrder = iota
	Reverse
	Shuffled
)

func (o LaneOrder) String() string { return [...]string{"forward", "reverse", "shuffled"}[o] }

// Library is a compiled kernel library loaded into the process.
type Library struct {
	Path    string
	Kernels map[string]int
	Info    map[string]Kernel
	// Params (CUDA libraries): each entry point's parameters in order, -1 for a pointer,
	// else the value's size in bytes.
	Params map[string][]int
	handle uintptr
	mu     sync.Mutex

	dispatch func(k int32, bufs unsafe.Pointer, grid, tg, tgmem unsafe.Pointer, ntgmem, order int32,
		seed uint64, workers int32, errBuf unsafe.Pointer, errLen int32) int32
	setFC func(index int32, value unsafe.Pointer, size int32) int32
}

var loaded sync.Map // path -> *Library (a shared object cannot be loaded twice usefully)

// Load builds (or finds in the cache) and loads the library for the given sources.
func Load(files map[string]string, order []string) (*Library, error) {
	path, tr, err := Build(files, order)
	if err != nil {
		return nil, err
	}
	if l, ok := loaded.Load(path); ok {
		return l.(*Library), nil
	}
	h, err := openLibrary(path)
	if err != nil {
		return nil, fmt.Errorf("metal sim: loading %s: %w", path, err)
	}
	l := &Library{Path: path, handle: h, Kernels: map[string]int{}, Info: map[string]Kernel{}}
	var count func() int32
	var name func(int32) string
	purego.RegisterLibFunc(&count, h, "mtl_kernel_count")
	purego.RegisterLibFunc(&name, h, "mtl_kernel_name")
	purego.RegisterLibFunc(&l.dispatch, h, "mtl_dispatch")
	purego.RegisterLibFunc(&l.setFC, h, "mtl_set_function_constant")
	for i := int32(0); i < count(); i++ {
		l.Kernels[name(i)] = int(i)
	}
	for _, k := range tr.Kernels {
		l.Info[k.Name] = k
	}
	actual, _ := loaded.LoadOrStore(path, l)
	return actual.(*Library), nil
}

// LoadCUDA builds (or finds in the cache) and loads the CUDA source main for the
// simulator (see BuildCUDA); Params lists each entry point's parameters.
func LoadCUDA(files map[string]string, main string) (*Library, error) {
	path, err := BuildCUDA(files, main)
	if err != nil {
		return nil, err
	}
	if l, ok := loaded.Load(path); ok {
		return l.(*Library), nil
	}
	h, err := openLibrary(path)
	if err != nil {
		return nil, fmt.Errorf("cuda sim: loading %s: %w", path, err)
	}
	l := &Library{Path: path, handle: h, Kernels: map[string]int{}, Info: map[string]Kernel{}, Params: map[string][]int{}}
	var count func() int32
	var name func(int32) string
	var params func(k int32, out unsafe.Pointer, n int32) int32
	purego.RegisterLibFunc(&count, h, "mtl_kernel_count")
	purego.RegisterLibFunc(&name, h, "mtl_kernel_name")
	purego.RegisterLibFunc(&params, h, "mtl_kernel_params")
	purego.RegisterLibFunc(&l.dispatch, h, "mtl_dispatch")
	purego.RegisterLibFunc(&l.setFC, h, "mtl_set_function_constant")
	var sizes [64]int32
	for i := int32(0); i < count(); i++ {
		k := name(i)
		l.Kernels[k] = int(i)
		n := params(i, unsafe.Pointer(&sizes[0]), int32(len(sizes)))
		if n < 0 || int(n) > len(sizes) {
			return nil, fmt.Errorf("cuda sim: %s: %d parameters", k, n)
		}
		for _, s := range sizes[:n] {
			l.Params[k] = append(l.Params[k], int(s))
		}
		if n == 0 {
			l.Params[k] = []int{}
		}
	}
	actual, _ := loaded.LoadOrStore(path, l)
	return actual.(*Library), nil
}

// Buffer is simulator memory: page-aligned, with an inaccessible guard page right after
// its last byte so an out-of-bounds access faults at once.
type Buffer struct {
	mem  []byte // whole mapping
	Data []byte // the usable bytes, ending at the guard page
}

// Ptr is the address of the first usable byte.
func (b *Buffer) Ptr() unsafe.Pointer { return unsafe.Pointer(&b.Data[0]) }

// Dispatch describes one kernel launch.
type Dispatch struct {
	Kernel      string
	Buffers     []*Buffer // by [[buffer(i)]] index; nil for unused slots
	Offsets     []int     // byte offset into each buffer (optional)
	Grid        [3]int    // threadgroups per grid
	Threads     [3]int    // threads per threadgroup
	Threadgroup []int     // bytes of [[threadgroup(i)]] memory
	Constants   map[int]any
	Order       LaneOrder
	Seed        uint64
	Workers     int
	Strict      bool // diagnostics become errors
}

// Diagnostics counts problems the simulator found in a dispatch.
type Diagnostics struct {
	Count int
	First string
}

// Run executes the dispatch and returns the diagnostics; in strict mode any diagnostic
// is an error.
func (l *Library) Run(d Dispatch) (Diagnostics, error) {
	k, ok := l.Kernels[d.Kernel]
	if !ok {
		return Diagnostics{}, fmt.Errorf(l.label()+": no kernel %q in the library", d.Kernel)
	}
	l.mu.Lock() // function constants and diagnostics are library-global
	defer l.mu.Unlock()
	for idx, v := range d.Constants {
		var buf [8]byte
		var size int32
		switch x := v.(type) {
		case int32:
			*(*int32)(unsafe.Pointer(&buf[0])) = x
			size = 4
		case uint32:
			*(*uint32)(unsafe.Pointer(&buf[0])) = x
			size = 4
		case bool:
			if x {
				buf[0] = 1
			}
			size = 1
		case int16:
			*(*int16)(unsafe.Pointer(&buf[0])) = x
			size = 2
		default:
			return Diagnostics{}, fmt.Errorf(l.label()+": function constant %d: unsupported type %T", idx, v)
		}
		if rc := l.setFC(int32(idx), unsafe.Pointer(&buf[0]), size); rc != 0 {
			return Diagnostics{}, fmt.Errorf(l.label()+": function constant %d: not declared in the library (or wrong size)", idx)
		}
	}
	ptrs, err := NewBuffer(8 * max(1, len(d.Buffers)))
	if err != nil {
		return Diagnostics{}, err
	}
	defer ptrs.Free()
	for i, b := range d.Buffers {
		if b != nil {
			off := 0
			if i < len(d.Offsets) {
				off = d.Offsets[i]
			}
			if off < 0 || off >= len(b.Data) {
				return Diagnostics{}, fmt.Errorf(l.label()+": %s: buffer %d offset %d outside its %d bytes", d.Kernel, i, off, len(b.Data))
			}
			*(*uintptr)(unsafe.Pointer(&ptrs.Data[8*i])) = uintptr(b.Ptr()) + uintptr(off)
		}
	}
	meta, err := NewBuffer(4 * (6 + len(d.Threadgroup) + 1))
	if err != nil {
		return Diagnostics{}, err
	}
	defer meta.Free()
	u := unsafe.Slice((*uint32)(meta.Ptr()), 6+len(d.Threadgroup)+1)
	for i := 0; i < 3; i++ {
		u[i] = uint32(max(1, d.Grid[i]))
		u[3+i] = uint32(max(1, d.Threads[i]))
	}
	for i, n := range d.Threadgroup {
		u[6+i] = uint32(n)
	}
	errBuf, err := NewBuffer(512)
	if err != nil {
		return Diagnostics{}, err
	}
	defer errBuf.Free()
	workers := d.Workers
	if workers <= 0 {
		workers = 2
	}
	n := l.dispatch(int32(k), ptrs.Ptr(), unsafe.Pointer(&u[0]), unsafe.Pointer(&u[3]), unsafe.Pointer(&u[6]),
		int32(len(d.Threadgroup)), int32(d.Order), d.Seed, int32(workers), errBuf.Ptr(), 512)
	msg := cString(errBuf.Data)
	if n < 0 {
		return Diagnostics{}, fmt.Errorf(l.label()+": %s: bad dispatch: %s", d.Kernel, msg)
	}
	diag := Diagnostics{Count: int(n), First: msg}
	if d.Strict && n > 0 {
		return diag, fmt.Errorf(l.label()+": %s (%s lanes): %d diagnostics, first: %s", d.Kernel, d.Order, n, msg)
	}
	return diag, nil
}

// label names the simulator in errors.
func (l *Library) label() string {
	if l.Params != nil {
		return "cuda sim"
	}
	return "metal sim"
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
