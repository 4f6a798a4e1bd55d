package cpu

import (
	"encoding/binary"
	"math"

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
	mm.as, mm.sa, mm.ds, mm.bs = nil, nil, nil, nil
	if ws.x8 != nil { // the interleaved layouts (x8Kernels) and their activation side data
		b.x8Side(ws.dt, ntok, k)
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
	arb           int
	act           []byte
	dot           func(n int, w, a []byte) float32
	wdata         []byte
	wrow          int
	as            []float32 // Q8_0 x8 kernels: float32 activation scales, nb per token
	sa            []float32 // Q4_0, Q5_0 x8 kernels: per block the scale, then 8·Σa's int32 bits
	ds            []float32 // Q4_1, Q5_1 x8 kernels: per block the Q8_1 activation's d and s
	bs            []int16   // K-quant x8 kernels: per token and super-block, Q4_K's 8 sub-block sums or Q6_K's 16 group-sum pairs
}

// x8Side points mm at buffers for what the x8 kernels take besides the quantized
// activations, filled by matmulQuantize: Q8_0 the float32 block scales (as), Q4_0 the
// scales with 8·Σa (sa), the K-quants their activations' group sums (bs).
func (b *Backend) x8Side(dt tensor.DType, ntok, k int) {
	mm := &b.mm
	switch dt {
	case tensor.Q4_0, tensor.Q8_0, tensor.IQ4_NL, tensor.Q5_0, tensor.Q4_1, tensor.Q5_1:
		if n := 2 * ntok * k / 32; len(b.actScales) < n {
			b.actScales = make([]float32, n)
		}
		switch dt {
		case tensor.Q4_0, tensor.Q5_0:
			mm.sa = b.actScales
		case tensor.Q4_1, tensor.Q5_1:
			mm.ds = b.actScales
		default:
			mm.as = b.actScales
		}
	case tensor.IQ4_XS: // symmetric levels, no side data
	default:
		if n := ntok * b.mm.sideStride(); len(b.actSums) < n {
			b.actSums = make([]int16, n)
		}
		mm.bs = b.actSums
	}
}

// sideStride is how many side-data elements (x8Side) each token has.
func (mm *matmulOp) sideStride() int {
	switch mm.w.dt {
	case tensor.Q4_0, tensor.Q5_0, tensor.Q4_1, tensor.Q5_1:
		return 2 * mm.k / 32
	case tensor.Q8_0, tensor.IQ4_NL:
		return mm.k / 32
	case tensor.IQ4_XS:
		return 0
	case tensor.Q6_K, tensor.Q3_K, tensor.Q2_K:
		return mm.k / 256 * 32 // 16 groups, as int16 pairs (Q3_K, Q2_K: int32s)
	default:
		return mm.k / 256 * 8 // Q4_K, Q5_K: 8 sub-block sums per super-block
	}
}

// x8Tokens is how many tokens the multi-token kernel of the weight's layout takes (0:
// one-token kernel only).
func (mm *matmulOp) x8Tokens() int { return x8Kernels[mm.w.dt] }

// x8Dot runs the kernel of the weight's layout on group w for tokens t..t+n-1 (n is 1
// or x8Tokens()), token i's eight results at out + i·ostride bytes.
func (mm *matmulOp) x8Dot(w *byte, t, n int, out *float32, ostride int) {
	a, side := &mm.act[t*mm.arb], t*mm.sideStride()
	nb := mm.k / 32
	switch {
	case mm.w.dt == tensor.Q4_0 && n == 1:
		dotQ4_0x8(nb, w, &mm.sa[side], a, out)
	case mm.w.dt == tensor.Q4_0:
		dotQ4_0x8x4(nb, w, &mm.sa[side], a, mm.arb, out, ostride)
	case mm.w.dt == tensor.Q8_0 && n == 1:
		dotQ8_0x8(nb, w, &mm.as[side], a, out)
	case mm.w.dt == tensor.Q8_0:
		dotQ8_0x8x4(nb, w, &mm.as[side], a, mm.arb, out, ostride)
	case mm.w.dt == tensor.Q4_K && n == 1:
		dotQ4Kx8(nb/8, w, a, &mm.bs[side], out)
	case mm.w.dt == tensor.Q4_K:
		dotQ4Kx8x2(nb/8, w, a, mm.arb, &mm.bs[side], out, ostride)
	case mm.w.dt == tensor.Q5_K && n == 1:
		dotQ5Kx8(nb/8, w, a, &mm.bs[side], out)
	case mm.w.dt == tensor.Q5_K:
		dotQ5Kx8x2(nb/8, w, a, mm.arb, &mm.bs[side], out, ostride)
	case mm.w.dt == tensor.Q3_K:
		dotQ3Kx8(nb/8, w, a, &mm.bs[side], out)
	case mm.w.dt == tensor.Q5_0:
		dotQ5_0x8(nb, w, &mm.sa[side], a, out)
	case mm.w.dt == tensor.Q4_1:
		dotQ4_1x8(nb, w, &mm.ds[side], a, out)
	case mm.w.dt == tensor.Q5_1:
		dotQ5_1x8(nb, w, &mm.ds[side], a, out)
	case mm.w.dt == tensor.IQ4_NL:
		dotIQ4NLx8(nb, w, &mm.as[side], a, out)
	case mm.w.dt == tensor.IQ4_XS:
		dotIQ4XSx8(nb/8, w, a, out)
	case mm.w.dt == tensor.Q2_K:
		dotQ2Kx8(nb/8, w, a, &mm.bs[side], out)
	case n == 1: // Q6_K
		dotQ6Kx8(nb/8, w, a, &mm.bs[side], out)
	default:
		dotQ6Kx8x2(nb/8, w, a, mm.arb, &mm.bs[side], out, ostride)
	}
}

// matmulX8 runs the interleaved-layout kernels over groups [lo, hi) of eight rows: as
// many tokens per call as the layout's multi-token kernel takes while a band of groups
// stays in cache, then one at a time.
func (b *Backend) matmulX8(_, lo, hi int) {
	mm := &b.mm
	nout, gb, many := mm.nout, mm.w.x8Bytes, mm.x8Tokens()
	var tmp [32]float32 // the last group's results when nout is not a multiple of 8
	const band = 4
	for g0 := lo; g0 < hi; g0 += band {
		g1 := min(g0+band, hi)
		t := 0
		for n := many; t < mm.ntok; t += n {
			if n == 0 || t+n > mm.ntok {
				n = 1
			}
			for g := g0; g < g1; g++ {
				w := &mm.w.x8[g*gb]
				if 8*g+8 <= nout {
					mm.x8Dot(w, t, n, &mm.d.f32[t*nout+8*g], 4*nout)
					continue
				}
				mm.x8Dot(w, t, n, &tmp[0], 32)
				for i := 0; i < n; i++ {
					copy(mm.d.f32[(t+i)*nout+8*g:(t+i+1)*nout], tmp[8*i:8*i+8])
				}
			}
		}
	}
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
	nb := mm.k / 32
	for t := lo; t < hi; t++ {
		a := mm.act[t*mm.arb : (t+1)*mm.arb]
		x := mm.x.f32[t*mm.k : (t+1)*mm.k]
		switch { // the x8 layouts' Q8_0 activations: quantize and take scales in one pass
		case mm.as != nil:
			quantizeQ8_0X8(x, nb, a, mm.as[t*nb:], 1)
			continue
		case mm.sa != nil:
			quantizeQ8_0X8(x, nb, a, mm.sa[2*t*nb:], 2) // see sideStride
			continue
		case mm.ds != nil:
			tensor.QuantizeQ8_1Act(x, a)
			q8_1Scales(a, nb, mm.ds[2*t*nb:])
			continue
		}
		b.quantizeAct(mm.vt, x, a)
		if mm.bs != nil {
			st := mm.sideStride()
			switch mm.w.dt {
			case tensor.Q6_K:
				q8KGroupSums(a, mm.k/256, mm.bs[t*st:(t+1)*st])
			case tensor.Q3_K:
				q8KGroupSums32(a, mm.k/256, mm.bs[t*st:(t+1)*st], 4)
			case tensor.Q2_K:
				q8KGroupSums32(a, mm.k/256, mm.bs[t*st:(t+1)*st], 1)
			default:
				q8KSums(a, mm.k/256, mm.bs[t*st:(t+1)*st])
			}
		}
	}
}

// quantizeQ8_0X8Go is quantizeQ8_0X8 in Go: tensor.QuantizeQ8_0Act, then x8Act.
func quantizeQ8_0X8Go(x []float32, nb int, dst []byte, sc []float32, sstride int) {
	tensor.QuantizeQ8_0Act(x[:32*nb], dst[:34*nb])
	x8Act(dst, nb, sc, sstride)
}

// x8Act is the portable version of what quantizeQ8_0X8 adds to tensor.QuantizeQ8_0Act:
// the Q8_0 blocks' scales as float32 in sc[i*sstride], and with sstride 2 8·Σq as int32
// bits in sc[i*sstride+1].
func x8Act(a []byte, nb int, sc []float32, sstride int) {
	for i := 0; i < nb; i++ {
		blk := a[34*i : 34*i+34]
		sc[i*sstride] = tensor.FP16ToFP32(binary.LittleEndian.Uint16(blk))
		if sstride == 2 {
			var sum int32
			for _, q := range blk[2:] {
				sum += int32(int8(q))
			}
			sc[2*i+1] = math.Float32frombits(uint32(8 * sum))
		}
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
		if useF16Asm && !b.noAsm {
			return func(n int, w, a []byte) float32 { return dotHalf(dotF16Asm, tensor.FP16ToFP32, n, w, a) }
		}
		tab := b.fp16tab
		return func(n int, w, a []byte) float32 { return dotF16(tab, n, w, a) }
	case tensor.BF16:
		if useF16Asm && !b.noAsm {
			return func(n int, w, a []byte) float32 { return dotHalf(dotBF16Asm, tensor.BF16ToFP32, n, w, a) }
		}
	case tensor.Q4_K: // the q4kr layout serves only the portable path (x8Kernels have q4kx8)
		return func(n int, w, a []byte) float32 { return dotQ4KR(n/256, w, a) }
	case tensor.Q6_K: // likewise q6kr (x8Kernels have q6kx8)
		return func(n int, w, a []byte) float32 { return dotQ6KR(n/256, w, a) }
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
		if useQ8KAsm && !b.noAsm && len(x) >= 256 {
			quantizeQ8_KAsm(&x[0], len(x)/256, &dst[0])
			return
		}
		tensor.QuantizeQ8_K(x, dst)
	case tensor.F16:
		tensor.QuantizeF16(x, dst)
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
