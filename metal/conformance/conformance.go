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
	var imatrix []float32
	if c, _ := tensor.CodecOf(t); c.RequiresImatrix { // unit importance: any weights will do
		imatrix = make([]float32, cols)
		for i := range imatrix {
			imatrix[i] = 1
		}
	}
	if err := tensor.QuantizeWeighted(t, w, raw, cols, imatrix); err != nil {
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

// productMax is the NMSE a matvec case of weight type t may have against the CPU
// reference, whose activations are rounded to 8 bits (Q8_K). For the ternary types each
// weight is ±max|w| of its block, which multiplies that rounding: on the two outputs of
// a 1x256 TQ2_0 case the reference itself is 1.0e-3 from the exact product.
func productMax(t tensor.DType) float64 {
	if t == tensor.TQ1_0 || t == tensor.TQ2_0 {
		return 2e-3
	}
	return 5e-4
}

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
			cs = append(cs, Case{"matvec", fmt.Sprintf("%s %dx%d", metal.KernelName("matvec", t), rows, cols), productMax(t),
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
			cs = append(cs, Case{"matvec", fmt.Sprintf("%s %dx%d", metal.KernelName("matvec_wide", t), rows, cols), productMax(t),
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
		// rows, tokens and (for the float types) K not multiples of the 128 × 64 × 64 tile;
		// 100x2304: 36 K slices; 33x288 (types of 32-element blocks): K not a multiple of 64
		shapes := [][3]int{{33, 768, 7}, {33, 768, 70}, {1, 256, 9}, {100, 2304, 64}}
		switch t.BlockSize() {
		case 1:
			shapes = append(shapes, [3]int{65, 170, 66}, [3]int{9, 172, 130})
		case 32:
			shapes = append(shapes, [3]int{33, 288, 20})
		}
		for _, sh := range shapes {
			t, rows, cols, ntok := t, sh[0], sh[1], sh[2]
			cs = append(cs, Case{"matmul", fmt.Sprintf("%s %dx%d x %d tokens", metal.KernelName("matmul_mma", t), rows, cols, ntok), 5e-4,
				func(d metal.Device) (float64, error) {
					return productWith(d, metal.LaunchMatMulMMA, t, rows, cols, ntok, 2)
				}})
		}
	}
	// TinyLlama's K (16 slices) on a 3 × 3 grid of tiles, for its weight types (the
	// simulator's stand-in is too slow for a whole 2048 × 2048 × 512 product)
	for _, t := range []tensor.DType{tensor.Q4_0, tensor.Q4_K} {
		t := t
		cs = append(cs, Case{"matmul", fmt.Sprintf("%s 192x2048 x 160 tokens", metal.KernelName("matmul_mma", t)), 5e-4,
			func(d metal.Device) (float64, error) {
				return productWith(d, metal.LaunchMatMulMMA, t, 192, 2048, 160, 2)
			}})
	}
	// activations beyond float16's range (65504): the tensor-core matmul's bfloat16 keeps them
	for _, t := range []tensor.DType{tensor.Q4_0, tensor.F32} { // (F16 weights: the CPU reference rounds x to F16)
		t := t
		cs = append(cs, Case{"matmul", fmt.Sprintf("%s 70x512 x 20 tokens |x| to 1e5", metal.KernelName("matmul_mma", t)), 5e-4,
			func(d metal.Device) (float64, error) {
				return productScaled(d, metal.LaunchMatMulMMA, t, 70, 512, 20, 1e5)
			}})
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
	cs = append(cs, flashCases()...)
	return append(cs, archCases()...)
}

// flashCases are attention_flash.metal's: the prompt kernel at token counts that are not
// multiples of its 32-query and 32-key tiles, after earlier cached positions, GQA ratios
// 1, 4 and 8, head dims 32, 64 and 128; the one-launch decode kernel at several valid
// counts in a row on one partial-results buffer (stale NaN partials; the counters each
// launch must leave zero), up to the whole context.
func flashCases() []Case {
	var cs []Case
	for _, c := range []struct {
		hd, nhead, nkv, nq, past int
		softcap                  float32
		window                   int
	}{
		{64, 8, 2, 7, 0, 0, 0}, {64, 8, 2, 33, 0, 0, 0}, {64, 8, 2, 100, 37, 0, 0}, {64, 4, 4, 33, 5, 0, 0}, {64, 8, 1, 100, 0, 0, 0},
		{128, 8, 2, 33, 0, 0, 0}, {128, 8, 1, 70, 100, 0, 0}, {32, 8, 2, 9, 3, 0, 0}, {64, 8, 1, 513, 0, 0, 0},
		// Gemma 2's soft-capping and sliding windows (Phi-3's too): windows shorter than a
		// 32-key tile and than the prompt, so whole tiles fall outside for some queries
		{64, 8, 2, 70, 37, 0.5, 0}, {64, 8, 2, 100, 0, 0, 20}, {128, 8, 4, 70, 50, 0.5, 45}, {64, 4, 4, 33, 5, 0, 1},
	} {
		c := c
		cs = append(cs, Case{"attention", fmt.Sprintf("attn_flash hd%d %d/%d heads %d tokens after %d softcap %g window %d", c.hd, c.nhead, c.nkv, c.nq, c.past, c.softcap, c.window), 5e-4,
			func(d metal.Device) (float64, error) {
				return attnFlash(d, metal.LaunchAttnFlash, c.hd, c.nhead, c.nkv, c.nq, c.past, c.softcap, c.window)
			}})
	}
	// attn_flash_mma (tensor cores, bfloat16 q, k, v and p): attn_flash's cases, head dims
	// 16 to 128, token counts and cached positions that are no multiple of its 64-query and
	// 64-key tiles, windows shorter than a tile, across tiles (whole tiles skipped) and
	// longer than the context. The limit is attn_flash's: bfloat16's 8-bit significand
	// costs an NMSE of order 1e-5 here.
	for _, c := range []struct {
		hd, nhead, nkv, nq, past int
		softcap                  float32
		window                   int
	}{
		{64, 8, 2, 7, 0, 0, 0}, {64, 8, 2, 33, 0, 0, 0}, {64, 8, 2, 100, 37, 0, 0}, {64, 4, 4, 33, 5, 0, 0}, {64, 8, 1, 100, 0, 0, 0},
		{128, 8, 2, 33, 0, 0, 0}, {128, 8, 1, 70, 100, 0, 0}, {32, 8, 2, 9, 3, 0, 0}, {64, 8, 1, 513, 0, 0, 0},
		{16, 4, 2, 65, 0, 0, 0}, {48, 4, 1, 64, 64, 0, 0}, {96, 4, 2, 129, 1, 0, 0}, {128, 4, 4, 200, 300, 0, 0},
		{64, 8, 2, 70, 37, 0.5, 0}, {64, 8, 2, 100, 0, 0, 20}, {128, 8, 4, 70, 50, 0.5, 45}, {64, 4, 4, 33, 5, 0, 1},
		{64, 8, 2, 200, 100, 0, 40}, {128, 4, 1, 90, 50, 0.5, 4096}, {64, 4, 2, 300, 0, 0.5, 1},
	} {
		c := c
		cs = append(cs, Case{"attention", fmt.Sprintf("attn_flash_mma hd%d %d/%d heads %d tokens after %d softcap %g window %d", c.hd, c.nhead, c.nkv, c.nq, c.past, c.softcap, c.window), 5e-4,
			func(d metal.Device) (float64, error) {
				return attnFlash(d, metal.LaunchAttnFlashMMA, c.hd, c.nhead, c.nkv, c.nq, c.past, c.softcap, c.window)
			}})
	}
	for _, c := range []struct {
		hd, nhead, nkv, nctx int
		nkvs                 []int
		softcap              float32
		window               int
	}{
		{64, 8, 2, 640, []int{1, 31, 33, 130, 640, 100}, 0.5, 0},
		{64, 8, 2, 640, []int{1, 31, 33, 130, 640, 100}, 0, 40},
		{128, 4, 1, 5000, []int{5000, 300}, 0.5, 4096},
		{64, 8, 2, 640, []int{1, 31, 33, 130, 640, 100}, 0, 0},
		{128, 8, 1, 300, []int{300, 2, 65}, 0, 0},
		{64, 4, 4, 4096, []int{2000, 4096, 129}, 0, 0},
		{8, 8, 4, 80, []int{5, 80}, 0, 0},  // stories260K's head size
		{6, 4, 2, 100, []int{7, 99}, 0, 0}, // a head size that is no multiple of 4
		{256, 4, 1, 200, []int{200, 33}, 0, 0},
		// past 32 splits of 128 (contexts over 4096) a split takes its positions in passes
		{64, 8, 2, 5000, []int{5000, 4500}, 0, 0},
		{256, 2, 1, 4500, []int{4500}, 0, 0},
	} {
		c := c
		cs = append(cs, Case{"attention", fmt.Sprintf("attn_decode hd%d %d/%d heads ctx %d n_kv %v softcap %g window %d", c.hd, c.nhead, c.nkv, c.nctx, c.nkvs, c.softcap, c.window), 5e-4,
			func(d metal.Device) (float64, error) {
				return attnDecodeOne(d, c.hd, c.nhead, c.nkv, c.nctx, c.nkvs, c.softcap, c.window)
			}})
	}
	return cs
}

// cpuAttention is the CPU backend's attention of nq query rows q at positions
// first..first+nq-1 over a cache holding k and v (rows 0..first+nq-1) at their positions.
func cpuAttention(k, v, q []float32, first, nq, nctx int, p backend.AttentionParams) []float32 {
	kvDim, qDim := p.NKVHead*p.HeadDim, p.NHead*p.HeadDim
	cache := ref.NewKVCache(1, nctx, kvDim, true)
	defer ref.FreeKVCache(cache)
	pos := make([]int32, first+nq)
	for i := range pos {
		pos[i] = int32(i)
	}
	if first > 0 { // the earlier positions, with queries whose results are not used
		ka, va, qa, oa := ref.Activation(first, kvDim), ref.Activation(first, kvDim), ref.Activation(first, qDim), ref.Activation(first, qDim)
		ref.Write(ka, k[:first*kvDim])
		ref.Write(va, v[:first*kvDim])
		ref.Attention(oa, qa, ka, va, cache, pos[:first], p)
	}
	ka, va := ref.Activation(nq, kvDim), ref.Activation(nq, kvDim)
	ref.Write(ka, k[first*kvDim:(first+nq)*kvDim])
	ref.Write(va, v[first*kvDim:(first+nq)*kvDim])
	qa, oa := ref.Activation(nq, qDim), ref.Activation(nq, qDim)
	ref.Write(qa, q)
	ref.Attention(oa, qa, ka, va, cache, pos[first:], p)
	out := make([]float32, nq*qDim)
	ref.Read(oa, out)
	return out
}

// attnFlash stores past+nq positions through kv_store and runs a prompt attention kernel
// (attn_flash, attn_flash_mma) for the last nq.
func attnFlash(d metal.Device, launch func(q, kc, vc, o, pos metal.Arg, nq int, p backend.AttentionParams, layerOff int64) metal.Dispatch,
	hd, nhead, nkv, nq, past int, softcap float32, window int) (float64, error) {
	r := rand.New(rand.NewPCG(12, uint64(hd*100000+nhead*1000+nq*10+past)))
	kvDim, n := nkv*hd, past+nq
	nctx := n + 3
	k, v := randVec(r, n*kvDim), randVec(r, n*kvDim)
	q := randVec(r, nq*nhead*hd)
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	params := backend.AttentionParams{NHead: nhead, NKVHead: nkv, HeadDim: hd, Scale: float32(1 / math.Sqrt(float64(hd))),
		SoftCap: softcap, Window: window}
	b := &bufs{d: d}
	defer b.release()
	kc, vc := b.zeros(2*2*nctx*kvDim), b.zeros(2*2*nctx*kvDim) // two layers: the second one's
	layerOff := int64(nctx * kvDim)
	ob := b.zeros(4 * nq * nhead * hd)
	if err := b.exec(metal.LaunchKVStore(b.f32(k), b.f32(v), kc, vc, b.i32(pos), n, kvDim, layerOff),
		launch(b.f32(q), kc, vc, ob, b.i32(pos[past:]), nq, params, layerOff)); err != nil {
		return 0, err
	}
	want := cpuAttention(k, v, q, past, nq, nctx, params)
	return b.result(nmse(b.floats(ob, nq*nhead*hd), want))
}

// attnDecodeOne runs attn_decode at each valid count of nkvs in turn, on one buffer of
// partial results, and returns the largest NMSE.
func attnDecodeOne(d metal.Device, hd, nhead, nkv, nctx int, nkvs []int, softcap float32, window int) (float64, error) {
	r := rand.New(rand.NewPCG(13, uint64(hd*100000+nctx)))
	kvDim := nkv * hd
	k, v := randVec(r, nctx*kvDim), randVec(r, nctx*kvDim)
	pos := make([]int32, nctx)
	for i := range pos {
		pos[i] = int32(i)
	}
	params := backend.AttentionParams{NHead: nhead, NKVHead: nkv, HeadDim: hd, Scale: float32(1 / math.Sqrt(float64(hd))),
		SoftCap: softcap, Window: window}
	b := &bufs{d: d}
	defer b.release()
	kc, vc := b.zeros(2*nctx*kvDim), b.zeros(2*nctx*kvDim)
	// stale partial results (NaN) must not count; the counters start at zero
	part := make([]float32, metal.AttnDecodeBytes(params, nctx)/4)
	for i := range part[:len(part)-nhead] {
		part[i] = float32(math.NaN())
	}
	pb := b.f32(part)
	if err := b.exec(metal.LaunchKVStore(b.f32(k), b.f32(v), kc, vc, b.i32(pos), nctx, kvDim, 0)); err != nil {
		return 0, err
	}
	worst := 0.0
	for _, n := range nkvs {
		q := randVec(r, nhead*hd)
		ob := b.zeros(4 * nhead * hd)
		if err := b.exec(metal.LaunchAttnDecodeOne(b.f32(q), kc, vc, pb, ob, b.i32(pos[n-1:n]), params, nctx, 0)); err != nil {
			return 0, err
		}
		want := cpuAttention(k, v, q, n-1, 1, nctx, params)
		e := nmse(b.floats(ob, nhead*hd), want)
		if math.IsNaN(e) {
			return b.result(e)
		}
		worst = max(worst, e)
	}
	// every launch leaves the counters zero (a graph replays the next step's)
	count := b.bytes(pb, 4*len(part))[4*(len(part)-nhead):]
	for i, c := range count {
		if c != 0 {
			return 0, fmt.Errorf("attn_decode left counter byte %d = %d", i, c)
		}
	}
	return b.result(worst)
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
	return productOf(d, launch, t, rows, cols, ntok, rand.New(rand.NewPCG(seed, uint64(t)*1000+uint64(rows))), 1)
}

// productScaled is productWith on activations of standard normals times a random
// scale in [0, xmax/4] a token, and one element a token ±xmax.
func productScaled(d metal.Device, launch func(tensor.DType, metal.Arg, metal.Arg, metal.Arg, int, int, int) metal.Dispatch,
	t tensor.DType, rows, cols, ntok int, xmax float32) (float64, error) {
	return productOf(d, launch, t, rows, cols, ntok, rand.New(rand.NewPCG(8, uint64(t))), xmax)
}

func productOf(d metal.Device, launch func(tensor.DType, metal.Arg, metal.Arg, metal.Arg, int, int, int) metal.Dispatch,
	t tensor.DType, rows, cols, ntok int, r *rand.Rand, xmax float32) (float64, error) {
	raw, _, err := quantized(r, t, rows, cols)
	if err != nil {
		return 0, err
	}
	x := randVec(r, ntok*cols)
	if xmax != 1 {
		for i := 0; i < ntok; i++ {
			s := xmax / 4 * r.Float32()
			for j := range cols {
				x[i*cols+j] *= s
			}
			x[i*cols+(i*37)%cols] = float32(1-2*(i%2)) * xmax
		}
	}
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
	return attentionWith(d, hd, n, prefill, 0, 0)
}

// attentionWith is attention with soft-capped scores and a sliding window (0: none).
func attentionWith(d metal.Device, hd, n int, prefill bool, softCap float32, window int) (float64, error) {
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
	params := backend.AttentionParams{NHead: nhead, NKVHead: nkv, HeadDim: hd, Scale: float32(1 / math.Sqrt(float64(hd))),
		SoftCap: softCap, Window: window}
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
