// Package conformance checks every Metal kernel against the CPU reference (packages
// tensor and cpu) on any metal.Device: the simulator in tests and CI, a real GPU from
// `inferno kernels test --backend metal`. Thresholds are llama.cpp test-backend-ops's:
// NMSE ≤ 1e-7 for norm and rope, ≤ 5e-4 for matvec, matmul and attention;
// lookups, copies and argmax must be exact. Each case records its dispatches, calls
// Sync, and only then reads its outputs (metal.Device's contract).
package conformance

import (
	"encoding/binary"
	"errors"
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

// Run executes the cases whose name contains filter (all when empty).
func Run(d metal.Device, filter string) []Result {
	var out []Result
	for _, c := range Cases() {
		if filter != "" && !strings.Contains(c.Name, filter) && c.Family != filter {
			continue
		}
		out = append(out, runCase(d, c))
	}
	return out
}

// runCase runs one case; a host access the device refuses (one a pending dispatch
// binds, which the simulator's strict mode and CUDA report) fails the case.
func runCase(d metal.Device, c Case) Result {
	t0 := time.Now()
	e, err := c.run(d)
	if err != nil {
		_ = d.Sync() // drain what the case left recorded
		return Result{Case: c, NMSE: math.NaN(), Err: fmt.Errorf("%s: %w", c.Name, err), Elapsed: time.Since(t0)}
	}
	r := Result{Case: c, NMSE: e, Elapsed: time.Since(t0)}
	r.Pass = !math.IsNaN(e) && e <= c.Max
	return r
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

// bufs allocates, fills and reads a case's buffers and releases them together; the
// first error is kept and returned by exec and result.
type bufs struct {
	d    metal.Device
	list []metal.Buffer
	err  error
}

func (b *bufs) release() {
	for _, x := range b.list {
		x.Release()
	}
}

func (b *bufs) raw(data []byte) metal.Arg {
	x, err := b.d.NewBuffer(max(1, len(data)))
	if err != nil {
		if b.err == nil {
			b.err = err
		}
		return metal.Arg{}
	}
	b.list = append(b.list, x)
	b.keep(x.Write(0, data))
	return metal.Arg{Buf: x}
}

func (b *bufs) f32(v []float32) metal.Arg {
	return b.raw(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)))
}

func (b *bufs) i32(v []int32) metal.Arg {
	return b.raw(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)))
}

func (b *bufs) zeros(n int) metal.Arg { return b.raw(make([]byte, n)) }

// exec records the dispatches and waits for them: after it returns the outputs may be read.
func (b *bufs) exec(ds ...metal.Dispatch) error {
	if b.err != nil {
		return b.err
	}
	for _, x := range ds {
		if err := b.d.Run(x); err != nil {
			_ = b.d.Sync() // drain what was recorded before the error
			return err
		}
	}
	return b.d.Sync()
}

func (b *bufs) keep(err error) {
	if err != nil && b.err == nil {
		b.err = err
	}
}

// bytes reads n bytes of x (zeros when it cannot: the error is kept).
func (b *bufs) bytes(x metal.Arg, n int) []byte {
	out := make([]byte, n)
	if x.Buf == nil {
		b.keep(errors.New("read of a buffer that was not allocated"))
		return out
	}
	b.keep(x.Buf.Read(x.Off, out))
	return out
}

func (b *bufs) floats(x metal.Arg, n int) []float32 {
	raw := b.bytes(x, 4*n)
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// result is a case's NMSE e, or the first error met reading its outputs.
func (b *bufs) result(e float64) (float64, error) {
	if b.err != nil {
		return 0, b.err
	}
	return e, nil
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
	for _, t := range metal.WeightTypes() {
		t := t
		cols := 512
		if t.BlockSize() == 1 {
			cols = 172 // a row length that is not a multiple of 16
		}
		cs = append(cs, Case{"get_rows", fmt.Sprintf("%s 5 ids x %d", metal.KernelName("get_rows", t), cols), 0,
			func(d metal.Device) (float64, error) { return getRows(d, t, cols) }})
	}
	for _, t := range metal.WeightTypes() {
		for _, sh := range [][2]int{{1, 256}, {33, 768}, {7, 1280}} {
			t, rows, cols := t, sh[0], sh[1]
			cs = append(cs, Case{"matvec", fmt.Sprintf("%s %dx%d", metal.KernelName("matvec", t), rows, cols), 5e-4,
				func(d metal.Device) (float64, error) { return product(d, t, rows, cols, 2, false) }})
		}
		if t.BlockSize() == 1 {
			t := t
			cs = append(cs, Case{"matvec", fmt.Sprintf("%s 9x172", metal.KernelName("matvec", t)), 5e-4,
				func(d metal.Device) (float64, error) { return product(d, t, 9, 172, 1, false) }})
		}
	}
	for _, t := range metal.WeightTypes() {
		// 3x2304: 9 steps of every type's block loop, past the 8 (4) the kernel unrolls
		shapes := [][2]int{{1, 256}, {33, 768}, {7, 1280}, {3, 2304}}
		switch t.BlockSize() {
		case 1: // rows of a multiple of 4 (vector loads) and not
			shapes = append(shapes, [2]int{9, 172}, [2]int{5, 170})
		case 32: // a row of 9 blocks: the 8-blocks-a-step loops' remainder
			shapes = append(shapes, [2]int{5, 288})
		}
		for _, sh := range shapes {
			t, rows, cols := t, sh[0], sh[1]
			cs = append(cs, Case{"matvec", fmt.Sprintf("%s %dx%d", metal.KernelName("matvec_wide", t), rows, cols), 5e-4,
				func(d metal.Device) (float64, error) {
					return productWith(d, metal.LaunchMatVecWide, t, rows, cols, 2, 2)
				}})
		}
	}
	for _, t := range metal.WeightTypes() {
		for _, sh := range [][3]int{{40, 256, 5}, {33, 768, 37}} {
			t, rows, cols, ntok := t, sh[0], sh[1], sh[2]
			cs = append(cs, Case{"matmul", fmt.Sprintf("%s %dx%d x %d tokens", metal.KernelName("matmul", t), rows, cols, ntok), 5e-4,
				func(d metal.Device) (float64, error) { return product(d, t, rows, cols, ntok, true) }})
		}
	}
	for _, t := range metal.WeightTypes() {
		// rows, tokens and (for F32/F16) K not multiples of the 64 × 64 × 32 tile
		shapes := [][3]int{{33, 768, 7}, {33, 768, 70}, {1, 256, 9}, {100, 2304, 64}}
		if t.BlockSize() == 1 {
			shapes = append(shapes, [3]int{65, 170, 66})
		}
		for _, sh := range shapes {
			t, rows, cols, ntok := t, sh[0], sh[1], sh[2]
			cs = append(cs, Case{"matmul", fmt.Sprintf("%s %dx%d x %d tokens", metal.KernelName("matmul_wide", t), rows, cols, ntok), 5e-4,
				func(d metal.Device) (float64, error) {
					return productWith(d, metal.LaunchMatMulWide, t, rows, cols, ntok, 2)
				}})
		}
	}
	for _, sh := range [][2]int{{1, 64}, {3, 100}, {2, 4096}} {
		rows, cols := sh[0], sh[1]
		cs = append(cs, Case{"norm", fmt.Sprintf("rms_norm %dx%d", rows, cols), 1e-7,
			func(d metal.Device) (float64, error) { return rmsNorm(d, metal.LaunchRMSNorm, rows, cols) }})
		cs = append(cs, Case{"norm", fmt.Sprintf("rms_norm_wide %dx%d", rows, cols), 1e-7,
			func(d metal.Device) (float64, error) { return rmsNorm(d, metal.LaunchRMSNormWide, rows, cols) }})
	}
	for _, c := range []struct {
		hd, dims int
		neox     bool
	}{{64, 64, false}, {128, 128, true}, {128, 64, false}} {
		c := c
		cs = append(cs, Case{"rope", fmt.Sprintf("rope hd%d dims%d neox=%v", c.hd, c.dims, c.neox), 1e-7,
			func(d metal.Device) (float64, error) { return rope(d, c.hd, c.dims, c.neox) }})
	}
	for _, op := range []string{"add", "swiglu"} {
		op := op
		cs = append(cs, Case{"elementwise", op + " 1000", 1e-10,
			func(d metal.Device) (float64, error) { return elementwise(d, op, 1000) }})
	}
	for _, n := range []int{1, 100, 32000} {
		n := n
		cs = append(cs, Case{"argmax", fmt.Sprintf("argmax %d", n), 0,
			func(d metal.Device) (float64, error) { return argmax(d, n) }})
	}
	cs = append(cs, fusedCases()...)
	cs = append(cs, fusedRopeKVCases()...)
	cs = append(cs, ropeKVCases()...)
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
	ob := b.zeros(4 * len(ids) * cols)
	if err := b.exec(metal.LaunchGetRows(t, b.raw(raw), b.i32(ids), ob, len(ids), cols)); err != nil {
		return 0, err
	}
	got := b.floats(ob, len(ids)*cols)
	rb, _ := t.RowSize(cols)
	want := make([]float32, len(ids)*cols)
	for i, id := range ids {
		tensor.Dequantize(t, raw[int(id)*rb:], want[i*cols:(i+1)*cols])
	}
	return b.result(nmse(got, want))
}

// product runs a weight × activation kernel (matvec or matmul) on random data and
// returns its NMSE against the CPU reference.
func product(d metal.Device, t tensor.DType, rows, cols, ntok int, tiled bool) (float64, error) {
	if tiled {
		return productWith(d, metal.LaunchMatMul, t, rows, cols, ntok, 3)
	}
	return productWith(d, metal.LaunchMatVec, t, rows, cols, ntok, 2)
}

// productWith is product with the launch function and the random seed given.
func productWith(d metal.Device, launch func(tensor.DType, metal.Arg, metal.Arg, metal.Arg, int, int, int) metal.Dispatch,
	t tensor.DType, rows, cols, ntok int, seed uint64) (float64, error) {
	r := rand.New(rand.NewPCG(seed, uint64(t)*1000+uint64(rows)))
	raw, _, err := quantized(r, t, rows, cols)
	if err != nil {
		return 0, err
	}
	x := randVec(r, ntok*cols)
	b := &bufs{d: d}
	defer b.release()
	yb := b.zeros(4 * ntok * rows)
	if err := b.exec(launch(t, b.raw(raw), b.f32(x), yb, rows, cols, ntok)); err != nil {
		return 0, err
	}
	want, err := cpuMatMul(t, raw, rows, cols, x, ntok)
	if err != nil {
		return 0, err
	}
	return b.result(nmse(b.floats(yb, ntok*rows), want))
}

func rmsNorm(d metal.Device, launch func(x, w, y metal.Arg, rows, cols int, eps float32) metal.Dispatch, rows, cols int) (float64, error) {
	r := rand.New(rand.NewPCG(4, uint64(cols)))
	x, w := randVec(r, rows*cols), randVec(r, cols)
	b := &bufs{d: d}
	defer b.release()
	yb := b.zeros(4 * rows * cols)
	if err := b.exec(launch(b.f32(x), b.f32(w), yb, rows, cols, 1e-5)); err != nil {
		return 0, err
	}
	xa, wa, out := ref.Activation(rows, cols), ref.Activation(1, cols), ref.Activation(rows, cols)
	ref.Write(xa, x)
	ref.Write(wa, w)
	ref.RMSNorm(out, xa, wa, 1e-5)
	want := make([]float32, rows*cols)
	ref.Read(out, want)
	return b.result(nmse(b.floats(yb, rows*cols), want))
}

func rope(d metal.Device, hd, dims int, neox bool) (float64, error) {
	r := rand.New(rand.NewPCG(5, uint64(hd)))
	const nhead, rows = 4, 3
	x := randVec(r, rows*nhead*hd)
	pos := []int32{0, 7, 299}
	p := backend.RopeParams{NHead: nhead, HeadDim: hd, Dims: dims, Base: 10000, NeoX: neox}
	b := &bufs{d: d}
	defer b.release()
	xb := b.f32(x)
	if err := b.exec(metal.LaunchRope(xb, b.i32(pos), rows, p)); err != nil {
		return 0, err
	}
	xa := ref.Activation(rows, nhead*hd)
	ref.Write(xa, x)
	ref.Rope(xa, pos, p)
	want := make([]float32, len(x))
	ref.Read(xa, want)
	return b.result(nmse(b.floats(xb, len(x)), want))
}

func elementwise(d metal.Device, op string, n int) (float64, error) {
	r := rand.New(rand.NewPCG(7, uint64(len(op))))
	a, c := randVec(r, n), randVec(r, n)
	b := &bufs{d: d}
	defer b.release()
	yb := b.zeros(4 * n)
	launch := metal.LaunchAdd
	if op == "swiglu" {
		launch = metal.LaunchSwiGLU
	}
	if err := b.exec(launch(b.f32(a), b.f32(c), yb, n)); err != nil {
		return 0, err
	}
	want := make([]float32, n)
	for i := range want {
		switch op {
		case "add":
			want[i] = a[i] + c[i]
		case "swiglu":
			g := float64(a[i])
			want[i] = float32(g / (1 + math.Exp(-g)) * float64(c[i]))
		}
	}
	return b.result(nmse(b.floats(yb, n), want))
}

func argmax(d metal.Device, n int) (float64, error) {
	r := rand.New(rand.NewPCG(8, uint64(n)))
	x := randVec(r, 2*n)
	// a tie: the first of two equal maxima wins
	x[n/3], x[n-1] = 50, 50
	x[n+n/2] = 60
	b := &bufs{d: d}
	defer b.release()
	ob := b.zeros(8)
	if err := b.exec(metal.LaunchArgmax(b.f32(x), ob, 2, n)); err != nil {
		return 0, err
	}
	raw := b.bytes(ob, 8)
	if b.err != nil {
		return 0, b.err
	}
	got := []int32{int32(binary.LittleEndian.Uint32(raw)), int32(binary.LittleEndian.Uint32(raw[4:]))}
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
	kc := b.zeros(2 * 2 * nctx * kvDim) // two layers
	vc := b.zeros(2 * 2 * nctx * kvDim)
	if err := b.exec(metal.LaunchKVStore(b.f32(k), b.f32(v), kc, vc, b.i32(pos), ntok, kvDim, nctx*kvDim)); err != nil { // layer 1
		return 0, err
	}
	kraw, vraw := b.bytes(kc, 2*2*nctx*kvDim), b.bytes(vc, 2*2*nctx*kvDim)
	if b.err != nil {
		return 0, b.err
	}
	kh := unsafe.Slice((*uint16)(unsafe.Pointer(&kraw[0])), 2*nctx*kvDim)
	vh := unsafe.Slice((*uint16)(unsafe.Pointer(&vraw[0])), 2*nctx*kvDim)
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
// cache contents. All dispatches go in one Sync: each reads what the one before wrote.
func attention(d metal.Device, hd, n int, prefill bool) (float64, error) {
	r := rand.New(rand.NewPCG(10, uint64(hd*1000+n)))
	const nhead, nkv = 8, 2
	kvDim := nkv * hd
	nctx := n + 70 // decode: the grid covers the context, the blocks past pos[0] exit
	k, v := randVec(r, n*kvDim), randVec(r, n*kvDim)
	nq := 1
	if prefill {
		nctx = n
		nq = n
	}
	q := randVec(r, nq*nhead*hd)
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	qpos := pos[n-nq:]
	params := backend.AttentionParams{NHead: nhead, NKVHead: nkv, HeadDim: hd, Scale: float32(1 / math.Sqrt(float64(hd)))}
	b := &bufs{d: d}
	defer b.release()
	kc, vc := b.zeros(2*nctx*kvDim), b.zeros(2*nctx*kvDim)
	qb, ob := b.f32(q), b.zeros(4*nq*nhead*hd)
	ds := []metal.Dispatch{metal.LaunchKVStore(b.f32(k), b.f32(v), kc, vc, b.i32(pos), n, kvDim, 0)}
	if prefill {
		ds = append(ds, metal.LaunchAttnPrefill(qb, kc, vc, ob, b.i32(qpos), nq, params, 0))
	} else {
		// stale partial results (NaN) in the blocks past the valid positions must not count
		stale := make([]float32, metal.AttnPartialBytes(params, nctx)/4)
		for i := range stale {
			stale[i] = float32(math.NaN())
		}
		dec := metal.LaunchAttnDecode(qb, kc, vc, b.f32(stale), ob, b.i32(qpos), params, nctx, 0)
		ds = append(ds, dec[:]...)
	}
	if err := b.exec(ds...); err != nil {
		return 0, err
	}
	// CPU reference: store all K/V, attend with the query rows at their positions.
	cache := ref.NewKVCache(1, nctx, kvDim, true)
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
	return b.result(nmse(b.floats(ob, nq*nhead*hd), want))
}
