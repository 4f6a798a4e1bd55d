package cpu

import (
	"encoding/binary"
	"math"

	"github.com/inferno-go/inferno/tensor"
)

// llama.cpp's batch order: matrix products computed in the float order of llama.cpp's
// AVX2 CPU build (c392e50), so that a measurement (llama-perplexity's KL divergence,
// llama-imatrix) agrees with it to the last bit rather than to the last few. Portable
// Go, the same on every kernel set, and slower than the kernels; docs/quantization.md
// ("Where our forward pass differs") says why each rule is what it is.
//
//   - Q4_0, Q5_0, Q8_0 (tinyBLAS_Q0_AVX for a batch, ggml_vec_dot_*_q8_0 for one row;
//     they agree): the activations quantized to Q8_0; per block, lane l (0..7) holds
//     the integer dot product of elements 4l..4l+3, accumulated over the blocks as
//     fma(d_w·d_x, lane, acc[l]); then hsum8.
//   - F32, F16 rows of a multiple of 8 in a batch of two or more (tinyBLAS; F16
//     activations for F16 weights): lane k%8 accumulates by FMA, then hsum8.
//   - otherwise F32/F16 (ggml_vec_dot_f32/_f16): four accumulators of eight lanes over
//     steps of 32, reduced as GGML_F32x8_REDUCE; the rest of the row added in float32
//     (F32) or float64 (F16).
var llamaOrderTypes = map[tensor.DType]bool{tensor.F32: true, tensor.F16: true,
	tensor.Q4_0: true, tensor.Q5_0: true, tensor.Q8_0: true}

// SetLlamaBatchOrder makes the backend compute the matrix products of llamaOrderTypes'
// weights in llama.cpp's AVX2 float order (see above) instead of with its kernels.
func (b *Backend) SetLlamaBatchOrder(on bool) { b.llamaOrder = on }

// llamaOrderOp holds one matMulLlamaOrder call's operands for its workers.
type llamaOrderOp struct {
	d, w, x *Tensor
	xd      []float32 // per token and block: the Q8_0 scale
	xq      []int8    // per token: the Q8_0 quants
}

func (b *Backend) matMulLlamaOrder(d, w, x *Tensor) {
	op := &b.llo
	*op = llamaOrderOp{d: d, w: w, x: x}
	if w.dt != tensor.F32 && w.dt != tensor.F16 {
		// the activations as quantize_row_q8_0 of the AVX2 build makes them, unpacked
		nb := w.cols / 32
		op.xd, op.xq = make([]float32, x.rows*nb), make([]int8, x.rows*w.cols)
		blocks := make([]byte, nb*34)
		for t := 0; t < x.rows; t++ {
			tensor.QuantizeQ8_0Act(x.f32[t*w.cols:(t+1)*w.cols], blocks)
			for bi := range nb {
				blk := blocks[bi*34 : bi*34+34]
				op.xd[t*nb+bi] = tensor.FP16ToFP32(binary.LittleEndian.Uint16(blk))
				for i, q := range blk[2:] {
					op.xq[t*w.cols+bi*32+i] = int8(q)
				}
			}
		}
	}
	b.pool.For(w.rows, 4, b.lloFn)
}

func (b *Backend) llamaOrderRows(_, lo, hi int) {
	op := &b.llo
	w, x, d := op.w, op.x, op.d
	cols := w.cols
	raw := w.raw
	batch := x.rows >= 2
	row := make([]float32, cols)
	var q [32]int32
	for r := lo; r < hi; r++ {
		switch w.dt {
		case tensor.F32:
			for k := range row {
				row[k] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(r*cols+k):]))
			}
		case tensor.F16:
			for k := range row {
				row[k] = tensor.FP16ToFP32(binary.LittleEndian.Uint16(raw[2*(r*cols+k):]))
			}
		}
		for t := 0; t < x.rows; t++ {
			xr := x.f32[t*cols : (t+1)*cols]
			var res float32
			switch w.dt {
			case tensor.F32, tensor.F16:
				f16 := w.dt == tensor.F16
				if batch && cols%8 == 0 {
					var acc [8]float32
					for k, wv := range row {
						xv := xr[k]
						if f16 {
							xv = tensor.FP16ToFP32(tensor.FP32ToFP16(xv))
						}
						acc[k%8] = fma32(wv, xv, acc[k%8])
					}
					res = hsum8(&acc)
				} else {
					res = vecDotLlamaAVX2(row, xr, f16)
				}
			default:
				nb := cols / 32
				xd, xq := op.xd[t*nb:(t+1)*nb], op.xq[t*cols:(t+1)*cols]
				var acc [8]float32
				for bi := 0; bi < nb; bi++ {
					dw := legacyBlockInts(w.dt, raw, r*nb+bi, &q)
					dd := dw * xd[bi]
					for l := range acc {
						var s int32
						for e := 4 * l; e < 4*l+4; e++ {
							s += q[e] * int32(xq[bi*32+e])
						}
						acc[l] = fma32(dd, float32(s), acc[l])
					}
				}
				res = hsum8(&acc)
			}
			d.f32[t*d.cols+r] = res
		}
	}
}

// legacyBlockInts decodes block i of a Q4_0, Q5_0 or Q8_0 tensor into signed quants
// and returns its scale.
func legacyBlockInts(dt tensor.DType, raw []byte, i int, q *[32]int32) float32 {
	switch dt {
	case tensor.Q8_0:
		blk := raw[i*34 : (i+1)*34]
		for j := range q {
			q[j] = int32(int8(blk[2+j]))
		}
		return tensor.FP16ToFP32(binary.LittleEndian.Uint16(blk))
	case tensor.Q5_0:
		blk := raw[i*22 : (i+1)*22]
		qh := binary.LittleEndian.Uint32(blk[2:])
		for j := 0; j < 16; j++ {
			q[j] = int32(blk[6+j]&15) | int32(qh>>j&1)<<4 - 16
			q[j+16] = int32(blk[6+j]>>4) | int32(qh>>(j+16)&1)<<4 - 16
		}
		return tensor.FP16ToFP32(binary.LittleEndian.Uint16(blk))
	}
	blk := raw[i*18 : (i+1)*18] // Q4_0
	for j := 0; j < 16; j++ {
		q[j] = int32(blk[2+j]&15) - 8
		q[j+16] = int32(blk[2+j]>>4) - 8
	}
	return tensor.FP16ToFP32(binary.LittleEndian.Uint16(blk))
}

// vecDotLlamaAVX2 is ggml_vec_dot_f32 (f16 false) or ggml_vec_dot_f16 (x rounded to
// F16) of the AVX2 build.
func vecDotLlamaAVX2(w, x []float32, f16 bool) float32 {
	n := len(w)
	np := n &^ 31
	xv := func(k int) float32 {
		if f16 {
			return tensor.FP16ToFP32(tensor.FP32ToFP16(x[k]))
		}
		return x[k]
	}
	var acc [4][8]float32
	for k := 0; k < np; k += 32 {
		for a := range acc {
			for l := range acc[a] {
				acc[a][l] = fma32(w[k+8*a+l], xv(k+8*a+l), acc[a][l])
			}
		}
	}
	var t [8]float32
	for l := range t {
		t[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l])
	}
	t0, t1, t2, t3 := t[0]+t[4], t[1]+t[5], t[2]+t[6], t[3]+t[7]
	sum := (t0 + t1) + (t2 + t3)
	if !f16 {
		for k := np; k < n; k++ {
			sum += float32(w[k] * x[k]) // the conversion keeps the product rounded (no FMA)
		}
		return sum
	}
	s := float64(sum)
	for k := np; k < n; k++ {
		p := float32(w[k] * xv(k))
		s += float64(p)
	}
	return float32(s)
}
