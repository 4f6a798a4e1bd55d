package cpu

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/tensor"
)

// Tensor is a CPU tensor: F32 activations in f32, weights as raw GGUF bytes.
type Tensor struct {
	rows, cols int
	dt         tensor.DType
	raw        []byte    // weights as in the file
	rp         []byte    // repacked weights for the portable matrix product (rowLayouts)
	rpBytes    int       // bytes per repacked row
	xt         *x8Type   // the interleaved layout of x8, where this machine has its kernels (x8Types)
	x8         []byte    // the weights in groups of eight interleaved rows
	x8Bytes    int       // bytes per group of eight rows
	f32        []float32 // F32 data (activations, and F32 weights)
	rowBytes   int
	name       string
	lazy       bool // not repacked yet (see Weight)
}

func (t *Tensor) Rows() int           { return t.rows }
func (t *Tensor) Cols() int           { return t.cols }
func (t *Tensor) DType() tensor.DType { return t.dt }

// Floats exposes the F32 data of an activation (tests, and the model's output).
func (t *Tensor) Floats() []float32 { return t.f32[:t.rows*t.cols] }

// Backend implements backend.Backend on the CPU.
type Backend struct {
	noAsm   bool       // the portable kernels (the portable set; tests compare both)
	kset    string     // the kernel set the interleaved layouts run (KernelSets)
	sk      setKernels // that set's F16/BF16 row dots and activation quantizers
	pool    *Pool
	actBuf  []byte // quantized activations for MatMul
	fp16tab *[1 << 16]float32
	dots    map[tensor.DType]func(n int, w, a []byte) float32

	// Operands of the op in flight and the worker functions that read them, made
	// once so that ops allocate nothing.
	mm                            matmulOp
	att                           attnOp
	llo                           llamaOrderOp
	llamaOrder                    bool // SetLlamaBatchOrder
	lloFn                         func(w, lo, hi int)
	glu                           struct{ d, g, u *Tensor }
	mmF32, mmQuant, mmRows, attFn func(w, lo, hi int)
	mmX8, gluFn                   func(w, lo, hi int)
	side                          sideBufs                   // the x8 kernels' activation side data
	x8Tail                        [][8 * x8MaxTokens]float32 // per worker: a partial group's results (a local would escape through the kernel's func value)
	attScratch                    [][]float32                // per worker: scores, q, acc
	gluScratch                    [][]float32                // per worker: ExpF(-gate) of a row
	mappings                      [][]byte                   // huge-page weight buffers, unmapped by Close
}

// New returns a CPU backend with the given number of threads (<= 0: all CPUs), running
// the kernel set KernelSet names.
func New(threads int) *Backend {
	return newBackendSet(threads, kernelSet)
}

// newBackend is a backend of the chosen kernel set, or of the portable one.
func newBackend(threads int, noAsm bool) *Backend {
	if noAsm {
		return newBackendSet(threads, SetPortable)
	}
	return newBackendSet(threads, kernelSet)
}

// newBackendSet is a backend running kernel set kset, one of KernelSets.
func newBackendSet(threads int, kset string) *Backend {
	noAsm := kset == SetPortable
	b := &Backend{pool: NewPool(threads), fp16tab: fp16Table(), noAsm: noAsm, kset: kset, sk: setKernelsOf(kset)}
	b.dots = map[tensor.DType]func(n int, w, a []byte) float32{}
	for _, t := range tensor.AllTypes() {
		if f := b.dotFor(t); f != nil {
			b.dots[t] = f
		}
	}
	b.mmF32, b.mmQuant, b.mmRows = b.matmulF32, b.matmulQuantize, b.matmulRows
	b.attFn, b.gluFn, b.mmX8 = b.attentionJob, b.swigluRows, b.matmulX8
	b.lloFn = b.llamaOrderRows
	b.attScratch = make([][]float32, b.pool.Threads())
	b.gluScratch = make([][]float32, b.pool.Threads())
	b.x8Tail = make([][8 * x8MaxTokens]float32, b.pool.Threads())
	return b
}

// Threads is the number of worker threads.
func (b *Backend) Threads() int { return b.pool.Threads() }

// Close stops the worker pool and releases the repacked weights: no tensor of this
// backend may be used after it.
func (b *Backend) Close() {
	b.pool.Close()
	for _, m := range b.mappings {
		unmapWeights(m)
	}
	b.mappings = nil
}

// repack builds the layout w's MatMul kernels read, and reports whether it made one: the
// eight-row interleaved one where this machine has its kernels (x8Types), else the
// portable path's row layout if the type has one (rowLayouts); other types use the
// file's bytes.
func (b *Backend) repack(w *Tensor) bool {
	if xt := x8Types[w.dt]; xt != nil && xt.sets[b.kset] != nil {
		nb := w.cols / xt.block
		w.xt, w.x8Bytes = xt, xt.groupBytes(nb)
		w.x8 = b.weightBuf((w.rows + 7) / 8 * w.x8Bytes)
		b.repackGroups(w.rows, func(r0, r1 int) { xt.repack(w.x8, w.raw, nb, r0, r1) })
		return true
	}
	if rl, ok := rowLayouts[w.dt]; ok {
		w.rpBytes = rl.rowBytes(w.cols)
		w.rp = rl.repack(b.weightBuf(w.rows*w.rpBytes), w.raw)
	}
	return w.rp != nil
}

// repackGroups runs repack over the rows in groups of eight on the worker pool: loading
// a model is mostly repacking, and the groups write disjoint bytes.
func (b *Backend) repackGroups(rows int, repack func(r0, r1 int)) {
	b.pool.For((rows+7)/8, 2, func(_, lo, hi int) { repack(8*lo, min(8*hi, rows)) })
}

// weightBuf returns n bytes for repacked weights: on huge pages outside the heap when
// the system offers them (released by Close), else on the heap.
func (b *Backend) weightBuf(n int) []byte {
	if buf, m := mapWeights(n); buf != nil {
		b.mappings = append(b.mappings, m)
		return buf
	}
	return make([]byte, n)
}

func (b *Backend) Name() string { return "cpu" }

// Free drops an activation's data; the garbage collector reclaims it.
func (b *Backend) Free(t backend.Tensor) { t.(*Tensor).f32 = nil }

// Argmax is the index of the largest value in the first row of t.
func (b *Backend) Argmax(t backend.Tensor) (int32, error) {
	row := t.(*Tensor).f32[:t.Cols()]
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return int32(best), nil
}

// Sync returns at once: CPU ops have finished when they return.
func (b *Backend) Sync() error { return nil }

// Err is always nil: CPU ops cannot fail once their operands are allocated.
func (b *Backend) Err() error { return nil }

func bytesAsF32(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func (b *Backend) Weight(name string, t tensor.DType, rows, cols int, data []byte) (backend.Tensor, error) {
	rb, err := t.RowSize(cols)
	if err != nil {
		return nil, fmt.Errorf("cpu: weight %s: %w", name, err)
	}
	if len(data) < rb*rows {
		return nil, fmt.Errorf("cpu: weight %s: %d bytes for %d x %d %s, need %d", name, len(data), rows, cols, t, rb*rows)
	}
	w := &Tensor{rows: rows, cols: cols, dt: t, raw: data[:rb*rows], rowBytes: rb, name: name}
	if t == tensor.F32 {
		if uintptr(unsafe.Pointer(&data[0]))%4 != 0 {
			w.f32 = make([]float32, rows*cols)
			tensor.DequantizeF32(data, w.f32)
		} else {
			w.f32 = bytesAsF32(w.raw)
		}
	} else if _, ok := tensor.VecDotType(t); !ok {
		return nil, fmt.Errorf("cpu: weight %s: type %s has no matrix product", name, t)
	}
	// The token embedding is read by GetRows from the file's bytes; only a model whose
	// output is tied to it multiplies by it, so it is repacked on its first MatMul.
	if name == "token_embd.weight" {
		w.lazy = true
	} else if b.repack(w) {
		// Only the repacked copy is read from now on: hand the file's pages back, so that
		// the model is not resident twice (peak RSS figures in docs/bench.md).
		releasePages(w.raw)
	}
	return w, nil
}

func (b *Backend) Activation(rows, cols int) backend.Tensor {
	return &Tensor{rows: rows, cols: cols, dt: tensor.F32, f32: make([]float32, rows*cols)}
}

// View returns rows [lo, hi) of t. Views allocate; callers on the hot path keep them.
func (b *Backend) View(t backend.Tensor, lo, hi int) backend.Tensor {
	c := *t.(*Tensor)
	if lo < 0 || hi > c.rows || lo > hi {
		panic(fmt.Sprintf("cpu: view of rows [%d, %d) of a %d-row tensor", lo, hi, c.rows))
	}
	c.rows = hi - lo
	if c.f32 != nil {
		c.f32 = c.f32[lo*c.cols : hi*c.cols]
	}
	if c.raw != nil {
		c.raw = c.raw[lo*c.rowBytes : hi*c.rowBytes]
	}
	return &c
}

func (b *Backend) Write(dst backend.Tensor, src []float32) { copy(dst.(*Tensor).f32, src) }
func (b *Backend) Read(src backend.Tensor, dst []float32)  { copy(dst, src.(*Tensor).Floats()) }

func (b *Backend) GetRows(dst, table backend.Tensor, ids []int32) {
	d, w := dst.(*Tensor), table.(*Tensor)
	for i, id := range ids {
		row := d.f32[i*d.cols : (i+1)*d.cols]
		if w.dt == tensor.F32 {
			copy(row, w.f32[int(id)*w.cols:])
			continue
		}
		if err := tensor.Dequantize(w.dt, w.raw[int(id)*w.rowBytes:], row); err != nil {
			panic(err)
		}
	}
}

// RMSNorm follows ggml: the sum of squares in float64, scale = 1/sqrtf(mean+eps) in
// float32, then the weight multiply (a separate ggml op, same rounding).
func (b *Backend) RMSNorm(dst, x, w backend.Tensor, eps float32) {
	d, xs, ws := dst.(*Tensor), x.(*Tensor), w.(*Tensor)
	n := xs.cols
	for r := 0; r < xs.rows; r++ {
		row := xs.f32[r*n : (r+1)*n]
		var sum float64
		for _, v := range row {
			sum += float64(v * v)
		}
		mean := float32(sum / float64(n))
		scale := 1 / float32(math.Sqrt(float64(mean+eps)))
		out := d.f32[r*n : (r+1)*n]
		for i, v := range row {
			out[i] = (v * scale) * ws.f32[i]
		}
	}
}

func (b *Backend) Add(dst, a, c backend.Tensor) {
	d, x, y := dst.(*Tensor), a.(*Tensor), c.(*Tensor)
	n := x.rows * x.cols
	for i := 0; i < n; i++ {
		d.f32[i] = x.f32[i] + y.f32[i]
	}
}

// SwiGLU: silu(g) * u. Like ggml_vec_silu_f32 of llama.cpp's AVX2 build, each row's
// elements in whole groups of 8 use the vectorized exp (SiLUF) and the tail uses libm's
// expf.
func (b *Backend) SwiGLU(dst, gate, up backend.Tensor) {
	b.glu.d, b.glu.g, b.glu.u = dst.(*Tensor), gate.(*Tensor), up.(*Tensor)
	for w := range b.gluScratch {
		if len(b.gluScratch[w]) < b.glu.g.cols {
			b.gluScratch[w] = make([]float32, b.glu.g.cols)
		}
	}
	b.pool.For(b.glu.g.rows, 1, b.gluFn)
}

func (b *Backend) swigluRows(w, lo, hi int) {
	d, g, u := b.glu.d, b.glu.g, b.glu.u
	n := g.cols
	for r := lo; r < hi; r++ {
		gr, ur, dr := g.f32[r*n:(r+1)*n], u.f32[r*n:(r+1)*n], d.f32[r*n:(r+1)*n]
		vec := n / 8 * 8
		if useAVX2 && !b.noAsm { // ExpF(-x) eight lanes at a time, then SiLUF's division
			e := b.gluScratch[w][:vec]
			for i := range e {
				e[i] = -gr[i]
			}
			b.expSub(e, 0)
			for i, v := range e {
				dr[i] = gr[i] / (1 + v) * ur[i]
			}
		} else {
			for i := 0; i < vec; i++ {
				dr[i] = SiLUF(gr[i]) * ur[i]
			}
		}
		for i := vec; i < n; i++ {
			x := gr[i]
			dr[i] = x / (1 + float32(math.Exp(float64(-x)))) * ur[i]
		}
	}
}

// Rope rotates pairs with theta = pos * base^(-2i/dims) / factors[i], computed like
// ggml: theta is multiplied by the float32 step base^(-2/dims) once per pair.
func (b *Backend) Rope(x backend.Tensor, pos []int32, p backend.RopeParams) {
	xs := x.(*Tensor)
	step := float32(math.Pow(float64(p.Base), -2.0/float64(p.Dims)))
	half := p.Dims / 2
	mscale := float32(1)
	if p.AttnFactor != 0 {
		mscale = p.AttnFactor
	}
	var cs [512][2]float32
	for r := 0; r < xs.rows; r++ {
		theta := float32(pos[r])
		for i := 0; i < half; i++ {
			t := theta
			if p.Factors != nil { // ggml divides before cosf/sinf
				t /= p.Factors[i]
			}
			sin, cos := sinCosF(t)
			cs[i] = [2]float32{cos * mscale, sin * mscale}
			theta *= step
		}
		row := xs.f32[r*xs.cols : (r+1)*xs.cols]
		for h := 0; h < p.NHead; h++ {
			v := row[h*p.HeadDim : (h+1)*p.HeadDim]
			for i := 0; i < half; i++ {
				a, c := 2*i, 2*i+1
				if p.NeoX {
					a, c = i, i+half
				}
				x0, x1 := v[a], v[c]
				cos, sin := cs[i][0], cs[i][1]
				// as GCC contracts ggml's x0*cos - x1*sin and x0*sin + x1*cos (x86 -mfma)
				v[a] = fma32(x0, cos, -(x1 * sin))
				v[c] = fma32(x0, sin, x1*cos)
			}
		}
	}
}

var _ backend.Backend = (*Backend)(nil)

// The fused ops are their compositions on the CPU (backend.Backend's definitions).

func (b *Backend) NormMatMul(dst, w [3]backend.Tensor, x, norm backend.Tensor, eps float32, xn backend.Tensor) {
	backend.NormMatMul(b, dst, w, x, norm, eps, xn)
}

func (b *Backend) NormSwiGLU(dst, gate, up, x, norm backend.Tensor, eps float32, xn, u backend.Tensor) {
	backend.NormSwiGLU(b, dst, gate, up, x, norm, eps, xn, u)
}

func (b *Backend) MatMulAdd(dst, w, x, tmp backend.Tensor) { backend.MatMulAdd(b, dst, w, x, tmp) }

func (b *Backend) NormAttention(dst, x, norm backend.Tensor, eps float32, p backend.QKV, xn backend.Tensor,
	cache backend.KVCache, pos []int32, rope backend.RopeParams, ap backend.AttentionParams) {
	backend.NormAttention(b, dst, x, norm, eps, p, xn, cache, pos, rope, ap)
}
