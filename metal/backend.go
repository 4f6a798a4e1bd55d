package metal

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unsafe"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/tensor"
)

// Backend implements backend.Backend with the Metal kernels on a Device (a GPU, or the
// simulator). The graph-encoding code here is the same for both.
type Backend struct {
	dev Device
	// Bytes allocated, by purpose, for the log lines and the memory plan.
	WeightBytes, KVBytes, ScratchBytes int64
	err                                error
	pending                            []Buffer // per-dispatch uploads, freed once the GPU is done
}

// Syncer is implemented by devices that record dispatches and run them later.
type Syncer interface{ Sync() error }

// flush waits for every recorded dispatch and frees the uploads they used.
func (b *Backend) flush() {
	if s, ok := b.dev.(Syncer); ok {
		if err := s.Sync(); err != nil {
			b.fail(err)
		}
	}
	for _, t := range b.pending {
		t.Release()
	}
	b.pending = b.pending[:0]
}

// Sync waits for every recorded dispatch and returns the first dispatch error.
func (b *Backend) Sync() error {
	b.flush()
	return b.err
}

// NewBackend wraps a device.
func NewBackend(d Device) *Backend { return &Backend{dev: d} }

// Device is the device the backend runs on.
func (b *Backend) Device() Device { return b.dev }

// Err returns the first dispatch error (ops have no error results; a failed dispatch
// poisons the backend and Forward reports it).
func (b *Backend) Err() error { return b.err }

func (b *Backend) Name() string {
	if b.dev.Simulated() {
		return "metal-sim"
	}
	return "metal"
}

// Tensor is a GPU tensor: a buffer, a byte offset, a shape and a type.
type Tensor struct {
	buf      Buffer
	off      int
	rows     int
	cols     int
	dt       tensor.DType
	rowBytes int
}

func (t *Tensor) Rows() int           { return t.rows }
func (t *Tensor) Cols() int           { return t.cols }
func (t *Tensor) DType() tensor.DType { return t.dt }

func (b *Backend) Weight(name string, t tensor.DType, rows, cols int, data []byte) (backend.Tensor, error) {
	rb, err := t.RowSize(cols)
	if err != nil {
		return nil, fmt.Errorf("metal: weight %s: %w", name, err)
	}
	if !kernelType(t) {
		return nil, fmt.Errorf("metal: weight %s: type %s has no Metal kernels", name, t)
	}
	n := rb * rows
	if len(data) < n {
		return nil, fmt.Errorf("metal: weight %s: %d bytes, need %d", name, len(data), n)
	}
	b.WeightBytes += int64(n)
	if hm, ok := b.dev.(HostMapper); ok {
		buf, off, err := hm.MapHost(data[:n])
		if err != nil {
			return nil, fmt.Errorf("metal: weight %s: %w", name, err)
		}
		return &Tensor{buf: buf, off: off, rows: rows, cols: cols, dt: t, rowBytes: rb}, nil
	}
	buf, err := b.dev.NewBuffer(n)
	if err != nil {
		return nil, fmt.Errorf("metal: weight %s: %w", name, err)
	}
	copy(buf.Bytes(), data[:n])
	return &Tensor{buf: buf, rows: rows, cols: cols, dt: t, rowBytes: rb}, nil
}

// HostMapper is a device that can use host memory (the mapped model file) in place.
type HostMapper interface {
	MapHost(data []byte) (Buffer, int, error)
}

func kernelType(t tensor.DType) bool {
	switch t {
	case tensor.F32, tensor.F16, tensor.Q4_0, tensor.Q4_1, tensor.Q5_0, tensor.Q5_1, tensor.Q8_0,
		tensor.Q2_K, tensor.Q3_K, tensor.Q4_K, tensor.Q5_K, tensor.Q6_K, tensor.IQ4_NL, tensor.IQ4_XS:
		return true
	}
	return false
}

func (b *Backend) Activation(rows, cols int) backend.Tensor {
	buf, err := b.dev.NewBuffer(4 * rows * cols)
	if err != nil {
		b.fail(err)
		return &Tensor{rows: rows, cols: cols, dt: tensor.F32, rowBytes: 4 * cols}
	}
	b.ScratchBytes += int64(4 * rows * cols)
	return &Tensor{buf: buf, rows: rows, cols: cols, dt: tensor.F32, rowBytes: 4 * cols}
}

// Free releases an activation's buffer (call Sync first if a dispatch may still use it).
func (b *Backend) Free(t backend.Tensor) {
	x := t.(*Tensor)
	if x.buf != nil {
		x.buf.Release()
		x.buf = nil
		b.ScratchBytes -= int64(x.rows * x.rowBytes)
	}
}

func (b *Backend) View(t backend.Tensor, lo, hi int) backend.Tensor {
	c := *t.(*Tensor)
	if lo < 0 || hi > c.rows || lo > hi {
		panic(fmt.Sprintf("metal: view of rows [%d, %d) of a %d-row tensor", lo, hi, c.rows))
	}
	c.off += lo * c.rowBytes
	c.rows = hi - lo
	return &c
}

func (t *Tensor) floats() []float32 {
	b := t.buf.Bytes()[t.off : t.off+t.rows*t.rowBytes]
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), t.rows*t.cols)
}

func (b *Backend) Write(dst backend.Tensor, src []float32) {
	b.flush()
	copy(dst.(*Tensor).floats(), src)
}

func (b *Backend) Read(src backend.Tensor, dst []float32) {
	b.flush()
	copy(dst, src.(*Tensor).floats())
}

func (b *Backend) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// arg is a dispatch argument: a tensor, or host bytes copied into a small buffer.
type arg struct {
	buf Buffer
	off int
}

func (b *Backend) tensorArg(t backend.Tensor) arg { x := t.(*Tensor); return arg{x.buf, x.off} }

// bytesArg uploads host data (argument structs, ids, positions) for one dispatch.
func (b *Backend) bytesArg(data []byte) (arg, Buffer) {
	buf, err := b.dev.NewBuffer(max(len(data), 4))
	if err != nil {
		b.fail(err)
		return arg{}, nil
	}
	copy(buf.Bytes(), data)
	return arg{buf, 0}, buf
}

func pack(fields ...any) []byte {
	var out []byte
	for _, f := range fields {
		out, _ = binary.Append(out, binary.LittleEndian, f)
	}
	return out
}

func i32bytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// run dispatches kernel with args; temporaries (uploaded bytes) are released after.
func (b *Backend) run(kernel string, grid, threads [3]int, args ...any) {
	if b.err != nil {
		return
	}
	var bufs []Buffer
	var offs []int
	var temps []Buffer
	for _, a := range args {
		switch x := a.(type) {
		case backend.Tensor:
			ta := b.tensorArg(x)
			bufs, offs = append(bufs, ta.buf), append(offs, ta.off)
		case []byte:
			ta, tmp := b.bytesArg(x)
			bufs, offs = append(bufs, ta.buf), append(offs, ta.off)
			temps = append(temps, tmp)
		case arg:
			bufs, offs = append(bufs, x.buf), append(offs, x.off)
		default:
			b.fail(fmt.Errorf("metal: %s: argument of type %T", kernel, a))
			return
		}
	}
	if err := b.dev.Run(Dispatch{Kernel: kernel, Buffers: bufs, Offsets: offs, Grid: grid, Threads: threads}); err != nil {
		b.fail(err)
	}
	for _, t := range temps {
		if t != nil {
			b.pending = append(b.pending, t)
		}
	}
}

func suffix(t tensor.DType) string { return strings.ToLower(t.String()) }

func (b *Backend) GetRows(dst, table backend.Tensor, ids []int32) {
	t := table.(*Tensor)
	b.run("get_rows_"+suffix(t.dt), [3]int{len(ids), 1, 1}, [3]int{32, 1, 1},
		table, i32bytes(ids), dst, pack(int32(t.cols)))
}

func (b *Backend) RMSNorm(dst, x, w backend.Tensor, eps float32) {
	xs := x.(*Tensor)
	b.run("rms_norm", [3]int{xs.rows, 1, 1}, [3]int{32, 1, 1}, x, w, dst, pack(int32(xs.cols), eps))
}

// matmulMinTokens is the batch size from which the simdgroup-matrix kernel is used.
const matmulMinTokens = 8

func (b *Backend) MatMul(dst, w, x backend.Tensor) {
	ws, xs := w.(*Tensor), x.(*Tensor)
	if xs.rows >= matmulMinTokens {
		b.run("matmul_"+suffix(ws.dt), [3]int{(ws.rows + 31) / 32, (xs.rows + 31) / 32, 1}, [3]int{128, 1, 1},
			w, x, dst, pack(int32(ws.cols), int32(ws.rows), int32(xs.rows)))
		return
	}
	b.run("matvec_"+suffix(ws.dt), [3]int{(ws.rows + 7) / 8, xs.rows, 1}, [3]int{64, 1, 1},
		w, x, dst, pack(int32(ws.cols), int32(ws.rows)))
}

func (b *Backend) Rope(x backend.Tensor, pos []int32, p backend.RopeParams) {
	xs := x.(*Tensor)
	neox := int32(0)
	if p.NeoX {
		neox = 1
	}
	b.run("rope", [3]int{(p.Dims/2 + 31) / 32, p.NHead, xs.rows}, [3]int{32, 1, 1},
		x, i32bytes(pos), pack(int32(p.NHead), int32(p.HeadDim), int32(p.Dims), p.Base, neox))
}

func (b *Backend) Add(dst, a, c backend.Tensor) {
	n := a.Rows() * a.Cols()
	b.run("add", [3]int{(n + 255) / 256, 1, 1}, [3]int{256, 1, 1}, a, c, dst, pack(int32(n), float32(1)))
}

func (b *Backend) SwiGLU(dst, gate, up backend.Tensor) {
	n := gate.Rows() * gate.Cols()
	b.run("swiglu", [3]int{(n + 255) / 256, 1, 1}, [3]int{256, 1, 1}, gate, up, dst, pack(int32(n), float32(1)))
}

// KVCache is an F16 cache for every layer in two device buffers.
type KVCache struct {
	k, v                Buffer
	nLayer, nCtx, kvDim int
}

func (c *KVCache) Len() int { return c.nCtx }

// NewKVCache allocates an F16 cache (the kernels read F16; an F32 request is served
// in F16 too).
func (b *Backend) NewKVCache(nLayer, nCtx, kvDim int, f16 bool) backend.KVCache {
	n := 2 * nLayer * nCtx * kvDim
	k, err := b.dev.NewBuffer(n)
	if err != nil {
		b.fail(err)
	}
	v, err := b.dev.NewBuffer(n)
	if err != nil {
		b.fail(err)
	}
	b.KVBytes += int64(2 * n)
	return &KVCache{k: k, v: v, nLayer: nLayer, nCtx: nCtx, kvDim: kvDim}
}

// FreeKVCache releases the cache's buffers (call Sync first if a dispatch may still use them).
func (b *Backend) FreeKVCache(cache backend.KVCache) {
	c := cache.(*KVCache)
	for _, buf := range []Buffer{c.k, c.v} {
		if buf != nil {
			buf.Release()
			b.KVBytes -= int64(2 * c.nLayer * c.nCtx * c.kvDim)
		}
	}
	c.k, c.v = nil, nil
}

func (b *Backend) Attention(dst, q, k, v backend.Tensor, cache backend.KVCache, pos []int32, p backend.AttentionParams) {
	c := cache.(*KVCache)
	kvDim := p.NKVHead * p.HeadDim
	layerOff := int64(p.Layer) * int64(c.nCtx) * int64(kvDim)
	posb := i32bytes(pos)
	n := k.Rows()
	b.run("kv_store", [3]int{(kvDim + 31) / 32, n, 1}, [3]int{32, 1, 1},
		k, v, arg{c.k, 0}, arg{c.v, 0}, posb, pack(int32(kvDim), int32(0), layerOff))
	qs := q.(*Tensor)
	if qs.rows == 1 {
		nkv := int(pos[0]) + 1
		nblocks := (nkv + 31) / 32
		params := pack(int32(p.NHead), int32(p.NKVHead), int32(p.HeadDim), int32(nkv), int32(nblocks), p.Scale, layerOff)
		part, err := b.dev.NewBuffer(4 * p.NHead * nblocks * (2 + p.HeadDim))
		if err != nil {
			b.fail(err)
			return
		}
		b.run("attn_partial", [3]int{p.NHead, nblocks, 1}, [3]int{32, 1, 1}, q, arg{c.k, 0}, arg{c.v, 0}, arg{part, 0}, params)
		b.run("attn_merge", [3]int{p.NHead, 1, 1}, [3]int{32, 1, 1}, arg{part, 0}, dst, params)
		b.pending = append(b.pending, part)
		return
	}
	params := pack(int32(p.NHead), int32(p.NKVHead), int32(p.HeadDim), int32(0), int32(0), p.Scale, layerOff)
	b.run("attn_prefill", [3]int{p.NHead, qs.rows, 1}, [3]int{32, 1, 1}, q, arg{c.k, 0}, arg{c.v, 0}, dst, posb, params)
}

// Argmax returns the index of the largest value of the first row of t, computed on the
// device (greedy sampling without reading the logits back).
func (b *Backend) Argmax(t backend.Tensor) (int32, error) {
	out, err := b.dev.NewBuffer(4)
	if err != nil {
		return 0, err
	}
	defer out.Release()
	b.run("argmax", [3]int{1, 1, 1}, [3]int{32, 1, 1}, b.View(t, 0, 1), arg{out, 0}, pack(int32(t.Cols())))
	b.flush()
	if b.err != nil {
		return 0, b.err
	}
	return int32(binary.LittleEndian.Uint32(out.Bytes())), nil
}

var _ backend.Backend = (*Backend)(nil)

// MiB formats a byte count as the log lines do.
func MiB(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
