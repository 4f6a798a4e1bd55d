// Package conformance checks every Metal kernel against the CPU reference (packages
// tensor and cpu) on any metal.Device: the simulator in tests and CI, a real GPU from
// `inferno kernels test --backend metal`. Thresholds are llama.cpp test-backend-ops's:
// NMSE ≤ 1e-7 for norm and rope, ≤ 1e-6 for softmax, ≤ 5e-4 for matvec, matmul and
// attention; lookups, copies and argmax must be exact.
package conformance

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
	"unsafe"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/tensor"
)

// Case is one kernel × type × shape.
type Case struct {
	Family string  // kernel family: matvec, matmul, attention, ...
	Name   string  // e.g. "matvec_q4_k 33x768"
	Max    float64 // NMSE threshold (0: exact)
	run    func(d metal.Device) (float64, error)
}

// Result of one case.
type Result struct {
	Case
	NMSE    float64
	Err     error
	Pass    bool
	Elapsed time.Duration
}

// WeightTypes are the types the weight kernels support.
var WeightTypes = []tensor.DType{tensor.F32, tensor.F16, tensor.Q4_0, tensor.Q4_1, tensor.Q5_0, tensor.Q5_1, tensor.Q8_0,
	tensor.Q2_K, tensor.Q3_K, tensor.Q4_K, tensor.Q5_K, tensor.Q6_K, tensor.IQ4_NL, tensor.IQ4_XS}

func suffix(t tensor.DType) string { return strings.ToLower(t.String()) }

// Run executes the cases whose name contains filter (all when empty).
func Run(d metal.Device, filter string) []Result {
	var out []Result
	for _, c := range Cases() {
		if filter != "" && !strings.Contains(c.Name, filter) && c.Family != filter {
			continue
		}
		t0 := time.Now()
		e, err := c.run(d)
		r := Result{Case: c, NMSE: e, Err: err, Elapsed: time.Since(t0)}
		r.Pass = err == nil && !math.IsNaN(e) && e <= c.Max
		out = append(out, r)
	}
	return out
}

// ---- helpers ---------------------------------------------------------------------

var ref = cpu.New(1)

func randVec(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func nmse(a, b []float32) float64 {
	var num, den float64
	for i := range b {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	if den == 0 {
		if num == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return num / den
}

type bufs struct {
	d    metal.Device
	list []metal.Buffer
}

func (b *bufs) release() {
	for _, x := range b.list {
		x.Release()
	}
}

func (b *bufs) raw(data []byte) (metal.Buffer, error) {
	x, err := b.d.NewBuffer(max(1, len(data)))
	if err != nil {
		return nil, err
	}
	b.list = append(b.list, x)
	copy(x.Bytes(), data)
	return x, nil
}

func (b *bufs) f32(v []float32) (metal.Buffer, error) {
	return b.raw(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)))
}

func (b *bufs) i32(v []int32) (metal.Buffer, error) {
	return b.raw(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)))
}

func (b *bufs) zeros(n int) (metal.Buffer, error) { return b.raw(make([]byte, n)) }

// args packs a kernel's argument struct (C layout: the caller adds padding fields).
func (b *bufs) args(fields ...any) (metal.Buffer, error) {
	var out []byte
	for _, f := range fields {
		out, _ = binary.Append(out, binary.LittleEndian, f)
	}
	return b.raw(out)
}

func floats(x metal.Buffer, n int) []float32 {
	return append([]float32(nil), unsafe.Slice((*float32)(unsafe.Pointer(&x.Bytes()[0])), n)...)
}

func quantized(r *rand.Rand, t tensor.DType, rows, cols int) ([]byte, []float32, error) {
	w := randVec(r, rows*cols)
	sz, err := t.RowSize(rows * cols)
	if err != nil {
		return nil, nil, err
	}
	raw := make([]byte, sz)
	if err := tensor.Quantize(t, w, raw); err != nil {
		return nil, nil, err
	}
	return raw, w, nil
}

// cpuMatMul is the CPU backend's matrix product (activations quantized like llama.cpp).
func cpuMatMul(t tensor.DType, raw []byte, rows, cols int, x []float32, ntok int) ([]float32, error) {
	w, err := ref.Weight("w", t, rows, cols, raw)
	if err != nil {
		return nil, err
	}
	xa := ref.Activation(ntok, cols)
	ref.Write(xa, x)
	out := ref.Activation(ntok, rows)
	ref.MatMul(out, w, xa)
	res := make([]float32, ntok*rows)
	ref.Read(out, res)
	return res, nil
}

// ---- cases -----------------------------------------------------------------------

// Cases lists every conformance case.
func Cases() []Case {
	var cs []Case
	for _, t := range WeightTypes {
		t := t
		cols := 512
		if t.BlockSize() == 1 {
			cols = 172 // a row length that is not a multiple of 16
		}
		cs = append(cs, Case{"get_rows", fmt.Sprintf("get_rows_%s 5 ids x %d", suffix(t), cols), 0,
			func(d metal.Device) (float64, error) { return getRows(d, t, cols) }})
	}
	for _, t := range WeightTypes {
		for _, sh := range [][2]int{{1, 256}, {33, 768}, {7, 1280}} {
			t, rows, cols := t, sh[0], sh[1]
			cs = append(cs, Case{"matvec", fmt.Sprintf("matvec_%s %dx%d", suffix(t), rows, cols), 5e-4,
				func(d metal.Device) (float64, error) { return matvec(d, t, rows, cols, 2) }})
		}
		if t.BlockSize() == 1 {
			t := t
			cs = append(cs, Case{"matvec", fmt.Sprintf("matvec_%s 9x172", suffix(t)), 5e-4,
				func(d metal.Device) (float64, error) { return matvec(d, t, 9, 172, 1) }})
		}
	}
	for _, t := range WeightTypes {
		for _, sh := range [][3]int{{40, 256, 5}, {33, 768, 37}} {
			t, rows, cols, ntok := t, sh[0], sh[1], sh[2]
			cs = append(cs, Case{"matmul", fmt.Sprintf("matmul_%s %dx%d x %d tokens", suffix(t), rows, cols, ntok), 5e-4,
				func(d metal.Device) (float64, error) { return matmul(d, t, rows, cols, ntok) }})
		}
	}
	for _, sh := range [][2]int{{1, 64}, {3, 100}, {2, 4096}} {
		rows, cols := sh[0], sh[1]
		cs = append(cs, Case{"norm", fmt.Sprintf("rms_norm %dx%d", rows, cols), 1e-7,
			func(d metal.Device) (float64, error) { return rmsNorm(d, rows, cols) }})
	}
	for _, c := range []struct {
		hd, dims int
		neox     bool
	}{{64, 64, false}, {128, 128, true}, {128, 64, false}} {
		c := c
		cs = append(cs, Case{"rope", fmt.Sprintf("rope hd%d dims%d neox=%v", c.hd, c.dims, c.neox), 1e-7,
			func(d metal.Device) (float64, error) { return rope(d, c.hd, c.dims, c.neox) }})
	}
	for _, sh := range [][2]int{{1, 1}, {3, 31}, {2, 33}, {2, 300}} {
		rows, cols := sh[0], sh[1]
		cs = append(cs, Case{"softmax", fmt.Sprintf("softmax %dx%d", rows, cols), 1e-6,
			func(d metal.Device) (float64, error) { return softmax(d, rows, cols) }})
	}
	for _, op := range []string{"add", "mul", "scale", "swiglu"} {
		op := op
		cs = append(cs, Case{"elementwise", op + " 1000", 1e-10,
			func(d metal.Device) (float64, error) { return elementwise(d, op, 1000) }})
	}
	for _, n := range []int{1, 100, 32000} {
		n := n
		cs = append(cs, Case{"argmax", fmt.Sprintf("argmax %d", n), 0,
			func(d metal.Device) (float64, error) { return argmax(d, n) }})
	}
	cs = append(cs, Case{"kv", "kv_store 5 tokens x 256", 0, func(d metal.Device) (float64, error) { return kvStore(d) }})
	for _, hd := range []int{8, 64, 128} {
		ns := []int{1, 31, 33, 300}
		if hd == 8 { // stories260K's head size: fewer lanes than dims
			ns = []int{1, 33}
		}
		for _, n := range ns {
			hd, n := hd, n
			cs = append(cs, Case{"attention", fmt.Sprintf("attn_decode hd%d n_kv=%d", hd, n), 5e-4,
				func(d metal.Device) (float64, error) { return attention(d, hd, n, false) }})
		}
		for _, n := range ns {
			hd, n := hd, n
			cs = append(cs, Case{"attention", fmt.Sprintf("attn_prefill hd%d %d tokens", hd, n), 5e-4,
				func(d metal.Device) (float64, error) { return attention(d, hd, n, true) }})
		}
	}
	return cs
}

func getRows(d metal.Device, t tensor.DType, cols int) (float64, error) {
	r := rand.New(rand.NewPCG(1, uint64(t)))
	const nrows = 9
	raw, _, err := quantized(r, t, nrows, cols)
	if err != nil {
		return 0, err
	}
	ids := []int32{3, 0, 8, 3, 5}
	b := &bufs{d: d}
	defer b.release()
	tb, _ := b.raw(raw)
	ib, _ := b.i32(ids)
	ob, _ := b.zeros(4 * len(ids) * cols)
	ab, _ := b.args(int32(cols))
	if err := d.Run(metal.Dispatch{Kernel: "get_rows_" + suffix(t), Buffers: []metal.Buffer{tb, ib, ob, ab},
		Grid: [3]int{len(ids), 1, 1}, Threads: [3]int{32, 1, 1}}); err != nil {
		return 0, err
	}
	got := floats(ob, len(ids)*cols)
	rb, _ := t.RowSize(cols)
	want := make([]float32, len(ids)*cols)
	for i, id := range ids {
		tensor.Dequantize(t, raw[int(id)*rb:], want[i*cols:(i+1)*cols])
	}
	return nmse(got, want), nil
}

// matvec checks the one-token-per-threadgroup-column kernel (eight rows a group).
func matvec(d metal.Device, t tensor.DType, rows, cols, ntok int) (float64, error) {
	return product(d, t, rows, cols, ntok, 2, metal.Dispatch{Kernel: "matvec_" + suffix(t),
		Grid: [3]int{(rows + 7) / 8, ntok, 1}, Threads: [3]int{64, 1, 1}}, int32(cols), int32(rows))
}

// matmul checks the 32×32 tiled kernel.
func matmul(d metal.Device, t tensor.DType, rows, cols, ntok int) (float64, error) {
	return product(d, t, rows, cols, ntok, 3, metal.Dispatch{Kernel: "matmul_" + suffix(t),
		Grid: [3]int{(rows + 31) / 32, (ntok + 31) / 32, 1}, Threads: [3]int{128, 1, 1}}, int32(cols), int32(rows), int32(ntok))
}

// product runs a weight × activation kernel (buffers: weights, x, y, args) on random
// data and returns its NMSE against the CPU reference.
func product(d metal.Device, t tensor.DType, rows, cols, ntok int, seed uint64, disp metal.Dispatch, args ...any) (float64, error) {
	r := rand.New(rand.NewPCG(seed, uint64(t)*1000+uint64(rows)))
	raw, _, err := quantized(r, t, rows, cols)
	if err != nil {
		return 0, err
	}
	x := randVec(r, ntok*cols)
	b := &bufs{d: d}
	defer b.release()
	wb, _ := b.raw(raw)
	xb, _ := b.f32(x)
	yb, _ := b.zeros(4 * ntok * rows)
	ab, _ := b.args(args...)
	disp.Buffers = []metal.Buffer{wb, xb, yb, ab}
	if err := d.Run(disp); err != nil {
		return 0, err
	}
	want, err := cpuMatMul(t, raw, rows, cols, x, ntok)
	if err != nil {
		return 0, err
	}
	return nmse(floats(yb, ntok*rows), want), nil
}

func rmsNorm(d metal.Device, rows, cols int) (float64, error) {
	r := rand.New(rand.NewPCG(4, uint64(cols)))
	x, w := randVec(r, rows*cols), randVec(r, cols)
	b := &bufs{d: d}
	defer b.release()
	xb, _ := b.f32(x)
	wb, _ := b.f32(w)
	yb, _ := b.zeros(4 * rows * cols)
	ab, _ := b.args(int32(cols), float32(1e-5))
	if err := d.Run(metal.Dispatch{Kernel: "rms_norm", Buffers: []metal.Buffer{xb, wb, yb, ab},
		Grid: [3]int{rows, 1, 1}, Threads: [3]int{32, 1, 1}}); err != nil {
		return 0, err
	}
	xa, wa, out := ref.Activation(rows, cols), ref.Activation(1, cols), ref.Activation(rows, cols)
	ref.Write(xa, x)
	ref.Write(wa, w)
	ref.RMSNorm(out, xa, wa, 1e-5)
	want := make([]float32, rows*cols)
	ref.Read(out, want)
	return nmse(floats(yb, rows*cols), want), nil
}

func rope(d metal.Device, hd, dims int, neox bool) (float64, error) {
	r := rand.New(rand.NewPCG(5, uint64(hd)))
	const nhead, rows = 4, 3
	x := randVec(r, rows*nhead*hd)
	pos := []int32{0, 7, 299}
	b := &bufs{d: d}
	defer b.release()
	xb, _ := b.f32(x)
	pb, _ := b.i32(pos)
	nx := int32(0)
	if neox {
		nx = 1
	}
	ab, _ := b.args(int32(nhead), int32(hd), int32(dims), float32(10000), nx)
	if err := d.Run(metal.Dispatch{Kernel: "rope", Buffers: []metal.Buffer{xb, pb, ab},
		Grid: [3]int{(dims/2 + 31) / 32, nhead, rows}, Threads: [3]int{32, 1, 1}}); err != nil {
		return 0, err
	}
	xa := ref.Activation(rows, nhead*hd)
	ref.Write(xa, x)
	ref.Rope(xa, pos, backend.RopeParams{NHead: nhead, HeadDim: hd, Dims: dims, Base: 10000, NeoX: neox})
	want := make([]float32, len(x))
	ref.Read(xa, want)
	return nmse(floats(xb, len(x)), want), nil
}

func softmax(d metal.Device, rows, cols int) (float64, error) {
	r := rand.New(rand.NewPCG(6, uint64(cols)))
	x := randVec(r, rows*cols)
	b := &bufs{d: d}
	defer b.release()
	xb, _ := b.f32(x)
	yb, _ := b.zeros(4 * rows * cols)
	ab, _ := b.args(int32(cols), float32(0.7))
	if err := d.Run(metal.Dispatch{Kernel: "softmax", Buffers: []metal.Buffer{xb, yb, ab},
		Grid: [3]int{rows, 1, 1}, Threads: [3]int{32, 1, 1}}); err != nil {
		return 0, err
	}
	want := make([]float32, rows*cols)
	for i := 0; i < rows; i++ {
		m := math.Inf(-1)
		for j := 0; j < cols; j++ {
			m = math.Max(m, 0.7*float64(x[i*cols+j]))
		}
		var s float64
		for j := 0; j < cols; j++ {
			s += math.Exp(0.7*float64(x[i*cols+j]) - m)
		}
		for j := 0; j < cols; j++ {
			want[i*cols+j] = float32(math.Exp(0.7*float64(x[i*cols+j])-m) / s)
		}
	}
	return nmse(floats(yb, rows*cols), want), nil
}

func elementwise(d metal.Device, op string, n int) (float64, error) {
	r := rand.New(rand.NewPCG(7, uint64(len(op))))
	a, c := randVec(r, n), randVec(r, n)
	b := &bufs{d: d}
	defer b.release()
	ab, _ := b.f32(a)
	cb, _ := b.f32(c)
	yb, _ := b.zeros(4 * n)
	pb, _ := b.args(int32(n), float32(0.3))
	bl := []metal.Buffer{ab, cb, yb, pb}
	if op == "scale" {
		bl = []metal.Buffer{ab, yb, pb}
	}
	if err := d.Run(metal.Dispatch{Kernel: op, Buffers: bl, Grid: [3]int{(n + 255) / 256, 1, 1}, Threads: [3]int{256, 1, 1}}); err != nil {
		return 0, err
	}
	want := make([]float32, n)
	for i := range want {
		switch op {
		case "add":
			want[i] = a[i] + c[i]
		case "mul":
			want[i] = a[i] * c[i]
		case "scale":
			want[i] = a[i] * 0.3
		case "swiglu":
			g := float64(a[i])
			want[i] = float32(g / (1 + math.Exp(-g)) * float64(c[i]))
		}
	}
	return nmse(floats(yb, n), want), nil
}

func argmax(d metal.Device, n int) (float64, error) {
	r := rand.New(rand.NewPCG(8, uint64(n)))
	x := randVec(r, 2*n)
	// a tie: the first of two equal maxima wins
	x[n/3], x[n-1] = 50, 50
	x[n+n/2] = 60
	b := &bufs{d: d}
	defer b.release()
	xb, _ := b.f32(x)
	ob, _ := b.zeros(8)
	nb, _ := b.args(int32(n))
	if err := d.Run(metal.Dispatch{Kernel: "argmax", Buffers: []metal.Buffer{xb, ob, nb}, Grid: [3]int{2, 1, 1}, Threads: [3]int{32, 1, 1}}); err != nil {
		return 0, err
	}
	got := unsafe.Slice((*int32)(unsafe.Pointer(&ob.Bytes()[0])), 2)
	want := []int32{int32(n / 3), int32(n / 2)}
	if n == 1 {
		want[0] = 0
	}
	if got[0] != want[0] || got[1] != want[1] {
		return 1, fmt.Errorf("argmax got %v, want %v", got, want)
	}
	return 0, nil
}

func kvStore(d metal.Device) (float64, error) {
	r := rand.New(rand.NewPCG(9, 9))
	const kvDim, ntok, nctx = 256, 5, 16
	k, v := randVec(r, ntok*kvDim), randVec(r, ntok*kvDim)
	pos := []int32{3, 4, 5, 6, 7}
	b := &bufs{d: d}
	defer b.release()
	kb, _ := b.f32(k)
	vb, _ := b.f32(v)
	kc, _ := b.zeros(2 * 2 * nctx * kvDim) // two layers
	vc, _ := b.zeros(2 * 2 * nctx * kvDim)
	pb, _ := b.i32(pos)
	ab, _ := b.args(int32(kvDim), int32(0), int64(nctx*kvDim)) // layer 1
	if err := d.Run(metal.Dispatch{Kernel: "kv_store", Buffers: []metal.Buffer{kb, vb, kc, vc, pb, ab},
		Grid: [3]int{kvDim / 32, ntok, 1}, Threads: [3]int{32, 1, 1}}); err != nil {
		return 0, err
	}
	kh := unsafe.Slice((*uint16)(unsafe.Pointer(&kc.Bytes()[0])), 2*nctx*kvDim)
	vh := unsafe.Slice((*uint16)(unsafe.Pointer(&vc.Bytes()[0])), 2*nctx*kvDim)
	bad := 0
	for t := 0; t < ntok; t++ {
		for e := 0; e < kvDim; e++ {
			off := nctx*kvDim + int(pos[t])*kvDim + e
			if kh[off] != tensor.FP32ToFP16(k[t*kvDim+e]) || vh[off] != tensor.FP32ToFP16(v[t*kvDim+e]) {
				bad++
			}
		}
	}
	if bad > 0 {
		return 1, fmt.Errorf("%d cache entries differ", bad)
	}
	return 0, nil
}

// attention fills an F16 cache through kv_store and compares the decode (split-KV +
// merge) or prefill (flash) kernels with the CPU backend's attention over the same
// cache contents.
func attention(d metal.Device, hd, n int, prefill bool) (float64, error) {
	r := rand.New(rand.NewPCG(10, uint64(hd*1000+n)))
	const nhead, nkv = 8, 2
	kvDim := nkv * hd
	nctx := n
	k, v := randVec(r, n*kvDim), randVec(r, n*kvDim)
	nq := 1
	if prefill {
		nq = n
	}
	q := randVec(r, nq*nhead*hd)
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	qpos := pos[n-nq:]
	scale := float32(1 / math.Sqrt(float64(hd)))
	b := &bufs{d: d}
	defer b.release()
	kb, _ := b.f32(k)
	vb, _ := b.f32(v)
	kc, _ := b.zeros(2 * nctx * kvDim)
	vc, _ := b.zeros(2 * nctx * kvDim)
	pb, _ := b.i32(pos)
	kva, _ := b.args(int32(kvDim), int32(0), int64(0))
	if err := d.Run(metal.Dispatch{Kernel: "kv_store", Buffers: []metal.Buffer{kb, vb, kc, vc, pb, kva},
		Grid: [3]int{(kvDim + 31) / 32, n, 1}, Threads: [3]int{32, 1, 1}}); err != nil {
		return 0, err
	}
	qb, _ := b.f32(q)
	ob, _ := b.zeros(4 * nq * nhead * hd)
	nblocks := (n + 31) / 32
	ab, _ := b.args(int32(nhead), int32(nkv), int32(hd), int32(n), int32(nblocks), scale, int64(0))
	if prefill {
		qp, _ := b.i32(qpos)
		if err := d.Run(metal.Dispatch{Kernel: "attn_prefill", Buffers: []metal.Buffer{qb, kc, vc, ob, qp, ab},
			Grid: [3]int{nhead, nq, 1}, Threads: [3]int{32, 1, 1}}); err != nil {
			return 0, err
		}
	} else {
		part, _ := b.zeros(4 * nhead * nblocks * (2 + hd))
		if err := d.Run(metal.Dispatch{Kernel: "attn_partial", Buffers: []metal.Buffer{qb, kc, vc, part, ab},
			Grid: [3]int{nhead, nblocks, 1}, Threads: [3]int{32, 1, 1}}); err != nil {
			return 0, err
		}
		if err := d.Run(metal.Dispatch{Kernel: "attn_merge", Buffers: []metal.Buffer{part, ob, ab},
			Grid: [3]int{nhead, 1, 1}, Threads: [3]int{32, 1, 1}}); err != nil {
			return 0, err
		}
	}
	// CPU reference: store all K/V, attend with the query rows at their positions.
	cache := ref.NewKVCache(1, nctx, kvDim, true)
	params := backend.AttentionParams{NHead: nhead, NKVHead: nkv, HeadDim: hd, Scale: scale}
	if nq < n { // decode: fill the cache with the earlier positions first
		ka, va, qa, oa := ref.Activation(n-1, kvDim), ref.Activation(n-1, kvDim), ref.Activation(n-1, nhead*hd), ref.Activation(n-1, nhead*hd)
		ref.Write(ka, k[:(n-1)*kvDim])
		ref.Write(va, v[:(n-1)*kvDim])
		ref.Attention(oa, qa, ka, va, cache, pos[:n-1], params)
	}
	ka, va := ref.Activation(nq, kvDim), ref.Activation(nq, kvDim)
	ref.Write(ka, k[(n-nq)*kvDim:])
	ref.Write(va, v[(n-nq)*kvDim:])
	qa, oa := ref.Activation(nq, nhead*hd), ref.Activation(nq, nhead*hd)
	ref.Write(qa, q)
	ref.Attention(oa, qa, ka, va, cache, qpos, params)
	want := make([]float32, nq*nhead*hd)
	ref.Read(oa, want)
	return nmse(floats(ob, nq*nhead*hd), want), nil
}
