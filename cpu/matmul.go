package cpu

import (
	"encoding/binary"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/tensor"
)

// MatMul computes dst[t] = W x[t]. As in llama.cpp's CPU backend the activations are
// first converted to the weight type's dot partner (Q8_0, Q8_1, Q8_K or F16); each
// weight row is then dotted with every token, so a row is read once per call.
func (b *Backend) MatMul(dst, w, x backend.Tensor) {
	d, ws, xs := dst.(*Tensor), w.(*Tensor), x.(*Tensor)
	ntok, k, nout := xs.rows, xs.cols, ws.rows
	if ws.cols != k || d.cols != nout || d.rows < ntok {
		panic("cpu: MatMul shape mismatch")
	}
	if b.llamaOrder && llamaOrderTypes[ws.dt] {
		b.matMulLlamaOrder(d, ws, xs)
		return
	}
	if ws.lazy {
		ws.lazy = false
		b.repack(ws)
	}
	mm := &b.mm
	mm.d, mm.w, mm.x, mm.ntok, mm.k, mm.nout = d, ws, xs, ntok, k, nout
	if ws.dt == tensor.F32 {
		b.pool.For(nout, 16, b.mmF32)
		return
	}
	mm.vt, _ = tensor.VecDotType(ws.dt)
	mm.arb, _ = mm.vt.RowSize(k)
	if need := mm.arb * ntok; len(b.actBuf) < need {
		b.actBuf = make([]byte, need)
	}
	mm.act = b.actBuf
	mm.xt = ws.xt
	if mm.xt != nil { // the interleaved layout's kernels and their activation side data
		mm.setX8(mm.xt, mm.xt.sets[b.kset], &b.side)
		b.pool.For(ntok, 1, b.mmQuant)
		b.pool.For((nout+7)/8, 1, b.mmX8)
		return
	}
	b.pool.For(ntok, 1, b.mmQuant)
	mm.dot = b.dots[ws.dt]
	mm.wdata, mm.wrow = ws.raw, ws.rowBytes
	if ws.rp != nil {
		mm.wdata, mm.wrow = ws.rp, ws.rpBytes
	}
	b.pool.For(nout, 16, b.mmRows)
}

// matmulOp holds one MatMul's operands for the worker functions (which are func
// values made once, so a MatMul allocates nothing).
type matmulOp struct {
	d, w, x       *Tensor
	ntok, k, nout int
	vt            tensor.DType
	arb           int // bytes of a token's quantized activations
	act           []byte
	dot           func(n int, w, a []byte) float32
	wdata         []byte
	wrow          int

	xt         *x8Type    // the interleaved layout (nil: the row-by-row path)
	kern       *x8Kernels // its kernels of the backend's kernel set
	nb         int        // its blocks per row
	side       sideBufs   // the side data of its kernels (one kind; setX8)
	sideStride int        // side-data elements per token
}

func (b *Backend) matmulF32(_, lo, hi int) {
	mm := &b.mm
	k, nout := mm.k, mm.nout
	for r := lo; r < hi; r++ {
		wr := mm.w.f32[r*k : (r+1)*k]
		for t := 0; t < mm.ntok; t++ {
			mm.d.f32[t*nout+r] = b.dotF32s(wr, mm.x.f32[t*k:(t+1)*k])
		}
	}
}

func (b *Backend) matmulQuantize(_, lo, hi int) {
	mm := &b.mm
	for t := lo; t < hi; t++ {
		if mm.xt != nil {
			mm.kern.prepare(mm, t)
			continue
		}
		b.quantizeAct(mm.vt, mm.xRow(t), mm.actRow(t))
	}
}

func (b *Backend) matmulRows(_, lo, hi int) {
	mm := &b.mm
	// A band of rows stays in L1/L2 while every token streams past it, so the
	// activations are read once per band rather than once per row.
	const band = 16
	for r0 := lo; r0 < hi; r0 += band {
		r1 := min(r0+band, hi)
		for t := 0; t < mm.ntok; t++ {
			at := mm.act[t*mm.arb : (t+1)*mm.arb]
			for r := r0; r < r1; r++ {
				mm.d.f32[t*mm.nout+r] = mm.dot(mm.k, mm.wdata[r*mm.wrow:(r+1)*mm.wrow], at)
			}
		}
	}
}

// dotFor picks the row × activation kernel of the row-by-row path (types without an
// interleaved layout, and every type on the portable path).
func (b *Backend) dotFor(t tensor.DType) func(n int, w, a []byte) float32 {
	switch t {
	case tensor.F16:
		if b.sk.dotF16 != nil {
			return b.sk.dotF16
		}
		tab := b.fp16tab
		return func(n int, w, a []byte) float32 { return dotF16(tab, n, w, a) }
	case tensor.BF16:
		if b.sk.dotBF16 != nil {
			return b.sk.dotBF16
		}
	}
	if rl, ok := rowLayouts[t]; ok {
		return rl.dot
	}
	return tensor.DotFunc(t)
}

func (b *Backend) quantizeAct(vt tensor.DType, x []float32, dst []byte) {
	switch vt {
	case tensor.Q8_0:
		tensor.QuantizeQ8_0Act(x, dst)
	case tensor.Q8_1:
		tensor.QuantizeQ8_1Act(x, dst)
	case tensor.Q8_K:
		quantizeQ8K(&b.sk, x, dst)
	case tensor.F16:
		quantizeF16(&b.sk, x, dst)
	case tensor.BF16:
		tensor.QuantizeBF16(x, dst)
	default:
		panic("cpu: no activation quantizer for " + vt.String())
	}
}

func dotF32(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a)
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func dotF16(tab *[1 << 16]float32, n int, w, a []byte) float32 {
	var s0, s1 float32
	i := 0
	for ; i+2 <= n; i += 2 {
		s0 += tab[binary.LittleEndian.Uint16(w[2*i:])] * tab[binary.LittleEndian.Uint16(a[2*i:])]
		s1 += tab[binary.LittleEndian.Uint16(w[2*i+2:])] * tab[binary.LittleEndian.Uint16(a[2*i+2:])]
	}
	for ; i < n; i++ {
		s0 += tab[binary.LittleEndian.Uint16(w[2*i:])] * tab[binary.LittleEndian.Uint16(a[2*i:])]
	}
	return s0 + s1
}

func fp16Table() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = tensor.FP16ToFP32(uint16(i))
	}
	return &t
}
