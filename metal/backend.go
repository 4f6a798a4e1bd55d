package metal

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/kernels"
	"github.com/inferno-go/inferno/tensor"
)

// Backend implements backend.Backend with the GPU kernels on a Device (an Apple or,
// through cuda.MetalDevice, an NVIDIA GPU, or the simulator). The graph-encoding code
// here is the same for all. Ops record dispatches;
// Read, Write and Argmax flush (commit and wait) first. The ops of one model run one
// forward pass at a time (the model's lock); the byte counts and Err may be read, and
// buffers allocated, from any goroutine.
type Backend struct {
	dev    Device
	target Target // the device's kind, for the Launch*For choices
	fuse   bool   // CUDA's fused decode kernels (metal/fused.go); INFERNO_CUDA_FUSE=0 turns them off
	// bytes allocated, by purpose, for the log lines and the memory plan
	weightBytes, kvBytes, scratchBytes atomic.Int64
	errMu                              sync.Mutex
	err                                error
	ids, pos                           staging             // token ids and positions of the current batch
	argmaxOut                          Buffer              // Argmax's result, allocated on first use
	ropeFactors                        map[*float32]Buffer // device copies of RoPE factor slices (archops.go)
}

// staging is a device copy of host int32s (token ids, positions), rewritten only when
// they change, so a forward pass uploads its positions once for every layer.
type staging struct {
	buf  Buffer
	cap  int     // int32s buf holds
	held []int32 // what buf holds
	used bool    // bound by a dispatch recorded since the last flush
}

// flush commits the recorded dispatches and waits for them.
func (b *Backend) flush() {
	if err := b.dev.Sync(); err != nil {
		b.fail(err)
	}
	b.ids.used, b.pos.used = false, false
}

// Sync waits for every recorded dispatch and returns the first dispatch error.
func (b *Backend) Sync() error {
	b.flush()
	return b.Err()
}

// NewBackend wraps a device; its Info's Target picks the kernels (Launch*For). A nil
// device (type checks only) is taken for Metal.
func NewBackend(d Device) *Backend {
	b := &Backend{dev: d}
	if d != nil {
		b.target = d.Info().Target
	}
	b.fuse = b.target == TargetCUDA && os.Getenv("INFERNO_CUDA_FUSE") != "0"
	return b
}

// Device is the device the backend runs on.
func (b *Backend) Device() Device { return b.dev }

// Err returns the first dispatch error (ops have no error results; a failed dispatch
// poisons the backend and Forward reports it).
func (b *Backend) Err() error {
	b.errMu.Lock()
	defer b.errMu.Unlock()
	return b.err
}

// WeightBytes, KVBytes and ScratchBytes are the bytes allocated so far for weights, KV
// caches and activations (all sessions).
func (b *Backend) WeightBytes() int64  { return b.weightBytes.Load() }
func (b *Backend) KVBytes() int64      { return b.kvBytes.Load() }
func (b *Backend) ScratchBytes() int64 { return b.scratchBytes.Load() }

// Named is a device that is not Metal (CUDA's adapter): its backend's name.
type Named interface {
	BackendName() string
}

// Name is the backend's: "metal", "metal-sim", or the device's own (e.g. "cuda").
func (b *Backend) Name() string {
	if n, ok := b.dev.(Named); ok {
		return n.BackendName()
	}
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
	// singles: products with this tensor as input compute each row as for that row
	// alone (the one-token kernels for every row; backend.RowExact), views included
	singles bool
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
	b.weightBytes.Add(int64(n))
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
	if err := buf.Write(0, data[:n]); err != nil {
		buf.Release()
		return nil, fmt.Errorf("metal: weight %s: %w", name, err)
	}
	return &Tensor{buf: buf, rows: rows, cols: cols, dt: t, rowBytes: rb}, nil
}

// HostMapper is a device that can use host memory (the mapped model file) in place.
type HostMapper interface {
	MapHost(data []byte) (Buffer, int, error)
}

func kernelType(t tensor.DType) bool { return slices.Contains(WeightTypes(), t) }

// WeightTypes are the weight types with Metal kernels: one per block decoder in
// kernels/quants.metal.
func WeightTypes() []tensor.DType {
	weightTypesOnce.Do(func() {
		for _, name := range kernels.WeightTypes() {
			t, err := tensor.ParseDType(name)
			if err != nil {
				panic(fmt.Sprintf("metal: kernels/quants.metal: struct blk_%s: %v", name, err))
			}
			weightTypes = append(weightTypes, t)
		}
	})
	return slices.Clone(weightTypes)
}

var (
	weightTypesOnce sync.Once
	weightTypes     []tensor.DType
)

func (b *Backend) Activation(rows, cols int) backend.Tensor {
	buf, err := b.dev.NewBuffer(4 * rows * cols)
	if err != nil {
		b.fail(err)
		return &Tensor{rows: rows, cols: cols, dt: tensor.F32, rowBytes: 4 * cols}
	}
	b.scratchBytes.Add(int64(4 * rows * cols))
	return &Tensor{buf: buf, rows: rows, cols: cols, dt: tensor.F32, rowBytes: 4 * cols}
}

// Free releases an activation's buffer (call Sync first if a dispatch may still use it).
func (b *Backend) Free(t backend.Tensor) {
	x := t.(*Tensor)
	if x.buf != nil {
		x.buf.Release()
		x.buf = nil
		b.scratchBytes.Add(-int64(x.rows * x.rowBytes))
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

// Write and Read flush first: the host touches a buffer only when no recorded
// dispatch binds it. They copy as many floats as both sides hold. After a failure (a
// tensor may have no buffer) they do nothing; Err reports it.
func (b *Backend) Write(dst backend.Tensor, src []float32) {
	b.flush()
	if b.failed() {
		return
	}
	t := dst.(*Tensor)
	if err := t.buf.Write(t.off, f32bytes(src[:min(len(src), t.rows*t.cols)])); err != nil {
		b.fail(err)
	}
}

func (b *Backend) Read(src backend.Tensor, dst []float32) {
	b.flush()
	if b.failed() {
		return
	}
	t := src.(*Tensor)
	if err := t.buf.Read(t.off, f32bytes(dst[:min(len(dst), t.rows*t.cols)])); err != nil {
		b.fail(err)
	}
}

func (b *Backend) fail(err error) {
	b.errMu.Lock()
	defer b.errMu.Unlock()
	if b.err == nil {
		b.err = err
	}
}

func (b *Backend) failed() bool { return b.Err() != nil }

func arg(t backend.Tensor) Arg { x := t.(*Tensor); return Arg{Buf: x.buf, Off: x.off} }

// upload puts v in s for the dispatches about to be recorded. It writes the buffer
// only when v is not already a run of what it holds (a batch of several sequences
// uploads all positions for RoPE, then each sequence's attention binds its own run),
// and then only after a flush if a recorded dispatch binds it (the Device contract: no
// host write under a pending dispatch).
func (b *Backend) upload(s *staging, v []int32) Arg {
	if s.buf != nil {
		if i := indexRun(s.held, v); i >= 0 {
			s.used = true
			return Arg{Buf: s.buf, Off: 4 * i}
		}
	}
	if s.used {
		b.flush()
	}
	if len(v) > s.cap || s.buf == nil {
		n := max(len(v), 2*s.cap, 64)
		buf, err := b.dev.NewBuffer(4 * n)
		if err != nil {
			b.fail(err)
			return Arg{}
		}
		if s.buf != nil {
			s.buf.Release()
		}
		b.scratchBytes.Add(int64(4 * (n - s.cap)))
		s.buf, s.cap = buf, n
	}
	if err := s.buf.Write(0, i32bytes(v)); err != nil {
		b.fail(err)
		return Arg{}
	}
	s.held = append(s.held[:0], v...)
	s.used = true
	return Arg{Buf: s.buf}
}

// indexRun is the first index at which v occurs as a run of held, or -1.
func indexRun(held, v []int32) int {
	if len(v) == 0 {
		return 0
	}
	for i := 0; i+len(v) <= len(held); i++ {
		if held[i] == v[0] && slices.Equal(held[i:i+len(v)], v) {
			return i
		}
	}
	return -1
}

func i32bytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

func f32bytes(v []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}

// run records dispatches; after the first error the backend records nothing more.
func (b *Backend) run(ds ...Dispatch) {
	for _, d := range ds {
		if b.failed() {
			return
		}
		if err := b.dev.Run(d); err != nil {
			b.fail(err)
		}
	}
}

func (b *Backend) GetRows(dst, table backend.Tensor, ids []int32) {
	if b.failed() {
		return
	}
	t := table.(*Tensor)
	b.run(LaunchGetRows(t.dt, arg(table), b.upload(&b.ids, ids), arg(dst), len(ids), t.cols))
}

func (b *Backend) RMSNorm(dst, x, w backend.Tensor, eps float32) {
	b.run(LaunchRMSNormFor(b.target, arg(x), arg(w), arg(dst), x.Rows(), x.Cols(), eps))
}

// matmulMinTokens is the batch size from which the tiled matmul kernels are used.
const matmulMinTokens = 8

func (b *Backend) MatMul(dst, w, x backend.Tensor) {
	ws := w.(*Tensor)
	if x.Rows() >= matmulMinTokens && !singles(x) {
		b.run(LaunchMatMulFor(b.target, ws.dt, arg(w), arg(x), arg(dst), ws.rows, ws.cols, x.Rows()))
		return
	}
	b.run(LaunchMatVecFor(b.target, ws.dt, arg(w), arg(x), arg(dst), ws.rows, ws.cols, x.Rows()))
}

func (b *Backend) Rope(x backend.Tensor, pos []int32, p backend.RopeParams) {
	if b.failed() {
		return
	}
	if p.Factors != nil || (p.AttnFactor != 0 && p.AttnFactor != 1) {
		b.ropeFF(x, pos, p) // archops.go
		return
	}
	b.run(LaunchRope(arg(x), b.upload(&b.pos, pos), x.Rows(), p))
}

func (b *Backend) Add(dst, a, c backend.Tensor) {
	b.run(LaunchAdd(arg(a), arg(c), arg(dst), a.Rows()*a.Cols()))
}

func (b *Backend) SwiGLU(dst, gate, up backend.Tensor) {
	b.run(LaunchSwiGLU(arg(gate), arg(up), arg(dst), gate.Rows()*gate.Cols()))
}

// KVCache is an F16 cache for every layer in two device buffers, and the decode
// attention's partial results (allocated at the first decode step, for the whole
// context, and shared by the layers).
type KVCache struct {
	k, v                Buffer
	nLayer, nCtx, kvDim int
	part                Buffer
	partBytes           int
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
	b.kvBytes.Add(int64(2 * n))
	return &KVCache{k: k, v: v, nLayer: nLayer, nCtx: nCtx, kvDim: kvDim}
}

// FreeKVCache releases the cache's buffers (call Sync first if a dispatch may still use them).
func (b *Backend) FreeKVCache(cache backend.KVCache) {
	c := cache.(*KVCache)
	for _, buf := range []Buffer{c.k, c.v} {
		if buf != nil {
			buf.Release()
			b.kvBytes.Add(-int64(2 * c.nLayer * c.nCtx * c.kvDim))
		}
	}
	if c.part != nil {
		c.part.Release()
		b.scratchBytes.Add(-int64(c.partBytes))
	}
	c.k, c.v, c.part, c.partBytes = nil, nil, nil, 0
}

// partial returns c's buffer for the decode attention's partial results (attn_partial's,
// or attn_decode's with its counters), big enough for the whole context; a new buffer is
// zeroed, as attn_decode's counters must be.
func (b *Backend) partial(c *KVCache, p backend.AttentionParams) Arg {
	n := AttnPartialBytes(p, c.nCtx)
	if b.target == TargetCUDA {
		n = AttnDecodeBytes(p, c.nCtx)
	}
	if n > c.partBytes {
		buf, err := b.dev.NewBuffer(n)
		if err != nil {
			b.fail(err)
			return Arg{}
		}
		if err := buf.Write(0, make([]byte, n)); err != nil {
			buf.Release()
			b.fail(err)
			return Arg{}
		}
		if c.part != nil {
			c.part.Release()
		}
		b.scratchBytes.Add(int64(n - c.partBytes))
		c.part, c.partBytes = buf, n
	}
	return Arg{Buf: c.part}
}

// AttnMaxHeadDim is the largest head dim the attention kernels take (attention.metal's
// ATT_MAX_DPL lanes' worth; attention_flash.metal's AD_DMAX).
const AttnMaxHeadDim = 256

// headDimOK fails the backend for a head dim the attention kernels cannot take: they
// would compute it wrong, never refuse it themselves.
func (b *Backend) headDimOK(p backend.AttentionParams) bool {
	if p.HeadDim < 1 || p.HeadDim > AttnMaxHeadDim {
		b.fail(fmt.Errorf("metal: attention head dim %d: the GPU kernels take 1 to %d", p.HeadDim, AttnMaxHeadDim))
		return false
	}
	return true
}

func (b *Backend) Attention(dst, q, k, v backend.Tensor, cache backend.KVCache, pos []int32, p backend.AttentionParams) {
	if b.failed() || !b.headDimOK(p) {
		return
	}
	c := cache.(*KVCache)
	kvDim := p.NKVHead * p.HeadDim
	layerOff := int64(p.Layer) * int64(c.nCtx) * int64(kvDim)
	kc, vc, pa := Arg{Buf: c.k}, Arg{Buf: c.v}, b.upload(&b.pos, pos)
	b.run(LaunchKVStore(arg(k), arg(v), kc, vc, pa, k.Rows(), kvDim, layerOff))
	if q.Rows() == 1 {
		b.attendOne(dst, q, c, kc, vc, pa, p, layerOff)
		return
	}
	b.run(LaunchAttnPrefillFor(b.target, arg(q), kc, vc, arg(dst), pa, q.Rows(), p, layerOff))
}

// attendOne dispatches one token's attention over the cached positions: attn_decode
// (one launch) on CUDA, attn_partial and attn_merge on Metal.
func (b *Backend) attendOne(dst, q backend.Tensor, c *KVCache, kc, vc, pa Arg, p backend.AttentionParams, layerOff int64) {
	if b.target == TargetCUDA {
		b.run(LaunchAttnDecodeOne(arg(q), kc, vc, b.partial(c, p), arg(dst), pa, p, c.nCtx, layerOff))
		return
	}
	ds := LaunchAttnDecode(arg(q), kc, vc, b.partial(c, p), arg(dst), pa, p, c.nCtx, layerOff)
	b.run(ds[:]...)
}

// Argmax returns the index of the largest value of the first row of t, computed on the
// device (greedy sampling without reading the logits back).
func (b *Backend) Argmax(t backend.Tensor) (int32, error) {
	if b.argmaxOut == nil {
		out, err := b.dev.NewBuffer(4)
		if err != nil {
			return 0, err
		}
		b.argmaxOut = out
	}
	b.run(LaunchArgmax(arg(t), Arg{Buf: b.argmaxOut}, 1, t.Cols()))
	b.flush()
	if err := b.Err(); err != nil {
		return 0, err
	}
	var id [4]byte
	if err := b.argmaxOut.Read(0, id[:]); err != nil {
		b.fail(err)
		return 0, err
	}
	return int32(binary.LittleEndian.Uint32(id[:])), nil
}

var (
	_ backend.Backend  = (*Backend)(nil)
	_ backend.RowExact = (*Backend)(nil)
)

// MiB formats a byte count as the log lines do.
func MiB(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
