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
	mm.as, mm.sa, mm.bs = nil, nil, nil
	if ws.x8 != nil && (ws.dt == tensor.Q4_K || ws.dt == tensor.Q5_K || ws.dt == tensor.Q6_K) { // K-quant x8 kernels take group sums
		n := ntok * k / 256 * 8 // Q4_K, Q5_K: 8 sub-block sums per super-block
		if ws.dt == tensor.Q6_K {
			n *= 4 // 16 groups, as int16 pairs
		}
		if len(b.actSums) < n {
			b.actSums = make([]int16, n)
		}
		mm.bs = b.actSums
		b.pool.For(ntok, 1, b.mmQuant)
		b.pool.For((nout+7)/8, 1, b.mmK8)
		return
	}
	if ws.x8 != nil { // the x8 kernels (AVX2 only) take float32 activation scales
		nb := k / 32
		if len(b.actScales) < 2*ntok*nb {
			b.actScales = make([]float32, 2*ntok*nb)
		}
		if ws.dt == tensor.Q4_0 {
			mm.sa = b.actScales
		} else {
			mm.as = b.actScales
		}
	}
	b.pool.For(ntok, 1, b.mmQuant)
	if ws.x8 != nil {
		b.pool.For((nout+7)/8, 1, b.mmX8)
		return
	}
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
	sa            []float32 // Q4_0 x8 kernels: per block the scale, then 8·Σa's int32 bits
	bs            []int16   // K-quant x8 kernels: per token and super-block, Q4_K's 8 sub-block sums or Q6_K's 16 group-sum pairs
}

// matmulX8 runs the q4x8 (Q4_0) or q8x8 (Q8_0) kernels over groups [lo, hi) of eight
// rows: four tokens at a time while a band of groups stays in cache, then one at a time.
func (b *Backend) matmulX8(_, lo, hi int) {
	mm := &b.mm
	nb, nout := mm.k/32, mm.nout
	gb := mm.w.x8Bytes
	one, four, sa, sstride := dotQ4_0x8AVX2, dotQ4_0x8x4AVX2, mm.sa, 2*nb
	if mm.w.dt == tensor.Q8_0 {
		one, four, sa, sstride = dotQ8_0x8AVX2, dotQ8_0x8x4AVX2, mm.as, nb
	}
	var tmp [32]float32 // the last group's results when nout is not a multiple of 8
	const band = 4
	for g0 := lo; g0 < hi; g0 += band {
		g1 := min(g0+band, hi)
		t := 0
		for ; t+4 <= mm.ntok; t += 4 {
			for g := g0; g < g1; g++ {
				w, s, a := &mm.w.x8[g*gb], &sa[t*sstride], &mm.act[t*mm.arb]
				if 8*g+8 <= nout {
					four(nb, w, s, a, mm.arb, &mm.d.f32[t*nout+8*g], 4*nout)
					continue
				}
				four(nb, w, s, a, mm.arb, &tmp[0], 32)
				for i := 0; i < 4; i++ {
					copy(mm.d.f32[(t+i)*nout+8*g:(t+i+1)*nout], tmp[8*i:8*i+8])
				}
			}
		}
		for ; t < mm.ntok; t++ {
			for g := g0; g < g1; g++ {
				w, s, a := &mm.w.x8[g*gb], &sa[t*sstride], &mm.act[t*mm.arb]
				if 8*g+8 <= nout {
					one(nb, w, s, a, &mm.d.f32[t*nout+8*g])
					continue
				}
				one(nb, w, s, a, &tmp[0])
				copy(mm.d.f32[t*nout+8*g:(t+1)*nout], tmp[:8])
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
			mm.d.f32[t*nout+r] = dotF32(wr, mm.x.f32[t*k:(t+1)*k])
		}
	}
}

func (b *Backend) matmulQuantize(_, lo, hi int) {
	mm := &b.mm
	nb := mm.k / 32
	for t := lo; t < hi; t++ {
		a := mm.act[t*mm.arb : (t+1)*mm.arb]
		x := mm.x.f32[t*mm.k : (t+1)*mm.k]
		switch { // the x8 layouts exist only with AVX2: quantize and take scales in one pass
		case mm.as != nil:
			quantizeQ8_0AVX2(&x[0], nb, &a[0], &mm.as[t*nb], 1)
			continue
		case mm.sa != nil:
			quantizeQ8_0AVX2(&x[0], nb, &a[0], &mm.sa[2*t*nb], 2)
			continue
		}
		b.quantizeAct(mm.vt, x, a)
		if nsb := mm.k / 256; mm.bs != nil && mm.w.dt == tensor.Q6_K {
			q8KGroupSums(a, nsb, mm.bs[t*nsb*32:(t+1)*nsb*32])
		} else if mm.bs != nil {
			q8KSums(a, nsb, mm.bs[t*nsb*8:(t+1)*nsb*8])
		}
	}
}

// matmulK8 runs the q4kx8 (Q4_K), q5kx8 (Q5_K) or q6kx8 (Q6_K) kernels over groups
// [lo, hi) of eight rows while a band of groups stays in cache: Q4_K two tokens at a
// time, then the odd one; Q5_K and Q6_K one token at a time.
func (b *Backend) matmulK8(_, lo, hi int) {
	mm := &b.mm
	nsb, nout := mm.k/256, mm.nout
	gb := mm.w.x8Bytes
	var tmp [16]float32 // the last group's results when nout is not a multiple of 8
	const band = 4
	if mm.w.dt != tensor.Q4_K {
		one, bstride := dotQ5Kx8AVX2, nsb*8
		if mm.w.dt == tensor.Q6_K {
			one, bstride = dotQ6Kx8AVX2, nsb*32
		}
		for g0 := lo; g0 < hi; g0 += band {
			g1 := min(g0+band, hi)
			for t := 0; t < mm.ntok; t++ {
				for g := g0; g < g1; g++ {
					w, a, c := &mm.w.x8[g*gb], &mm.act[t*mm.arb], &mm.bs[t*bstride]
					if 8*g+8 <= nout {
						one(nsb, w, a, c, &mm.d.f32[t*nout+8*g])
						continue
					}
					one(nsb, w, a, c, &tmp[0])
					copy(mm.d.f32[t*nout+8*g:(t+1)*nout], tmp[:8])
				}
			}
		}
		return
	}
	for g0 := lo; g0 < hi; g0 += band {
		g1 := min(g0+band, hi)
		t := 0
		for ; t+2 <= mm.ntok; t += 2 {
			for g := g0; g < g1; g++ {
				w, a, bs := &mm.w.x8[g*gb], &mm.act[t*mm.arb], &mm.bs[t*nsb*8]
				if 8*g+8 <= nout {
					dotQ4Kx8x2AVX2(nsb, w, a, mm.arb, bs, &mm.d.f32[t*nout+8*g], 4*nout)
					continue
				}
				dotQ4Kx8x2AVX2(nsb, w, a, mm.arb, bs, &tmp[0], 32)
				copy(mm.d.f32[t*nout+8*g:(t+1)*nout], tmp[:8])
				copy(mm.d.f32[(t+1)*nout+8*g:(t+2)*nout], tmp[8:])
			}
		}
		for ; t < mm.ntok; t++ {
			for g := g0; g < g1; g++ {
				w, a, bs := &mm.w.x8[g*gb], &mm.act[t*mm.arb], &mm.bs[t*nsb*8]
				if 8*g+8 <= nout {
					dotQ4Kx8AVX2(nsb, w, a, bs, &mm.d.f32[t*nout+8*g])
					continue
				}
				dotQ4Kx8AVX2(nsb, w, a, bs, &tmp[0])
				copy(mm.d.f32[t*nout+8*g:(t+1)*nout], tmp[:8])
			}
		}
	}
}

// x8Act is the portable version of what quantizeQ8_0AVX2 adds to tensor.QuantizeQ8_0Act:
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
		tab := b.fp16tab
		return func(n int, w, a []byte) float32 { return dotF16(tab, n, w, a) }
	case tensor.Q4_K: // the q4kr layout serves only the portable path (AVX2 has q4kx8)
		return func(n int, w, a []byte) float32 { return dotQ4KR(n/256, w, a) }
	case tensor.Q6_K: // likewise q6kr (AVX2 has q6kx8)
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
