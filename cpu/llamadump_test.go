package cpu

// Op-by-op comparison with llama.cpp's intermediate tensors (scripts/llama-dump), and Go
// models of the arithmetic of llama.cpp's AVX2 CPU build for a batch of several tokens
// (what llama-perplexity and llama-imatrix run). Diagnosis only: it needs a dump, made
// outside the repository, named by INFERNO_LLAMA_DUMP.

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/tensor"
)

type dumpShape struct{ emb, nh, nkv, hd, nl int }

type llamaDump struct {
	nodes map[string][]float32
	file  *gguf.File
	shape dumpShape
}

func openLlamaDump(t *testing.T) *llamaDump {
	prefix := os.Getenv("INFERNO_LLAMA_DUMP")
	if prefix == "" {
		t.Skip("INFERNO_LLAMA_DUMP is not set (a llama-dump output prefix, see scripts/llama-dump/README.md)")
	}
	model := os.Getenv("INFERNO_LLAMA_DUMP_MODEL")
	if model == "" {
		model = "../../shared/refdata/models/stories260K-Q4_K_M-mixed.gguf"
	}
	d := &llamaDump{nodes: map[string][]float32{}, shape: dumpShape{64, 8, 4, 8, 5}}
	if s := os.Getenv("INFERNO_LLAMA_DUMP_SHAPE"); s != "" {
		sh := &d.shape
		if _, err := fmt.Sscanf(s, "%d,%d,%d,%d,%d", &sh.emb, &sh.nh, &sh.nkv, &sh.hd, &sh.nl); err != nil {
			t.Fatalf("INFERNO_LLAMA_DUMP_SHAPE %q: %v", s, err)
		}
	}
	idx, err := os.Open(prefix + ".idx")
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	bin, err := os.ReadFile(prefix + ".bin")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(idx)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		n := len(f)
		if n < 8 || f[n-1] == "skip" {
			continue
		}
		cnt := 1
		for _, s := range f[n-5 : n-1] {
			v, _ := strconv.Atoi(s)
			cnt *= v
		}
		off, _ := strconv.Atoi(f[n-1])
		if 4*(off+cnt) > len(bin) {
			t.Fatalf("%s.idx: %q runs past the .bin", prefix, sc.Text())
		}
		v := make([]float32, cnt)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(bin[4*(off+i):]))
		}
		d.nodes[strings.Join(f[:n-7], " ")] = v // the last (after the view ops) wins
	}
	if d.file, err = gguf.Open(model); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.file.Close() })
	return d
}

func (d *llamaDump) node(t *testing.T, format string, args ...any) []float32 {
	name := fmt.Sprintf(format, args...)
	v, ok := d.nodes[name]
	if !ok {
		t.Fatalf("the dump has no node %q", name)
	}
	return v
}

// compareNode logs how many values differ from llama.cpp's and by how much; it
// reports whether all are equal.
func compareNode(t *testing.T, what string, got, want []float32) bool {
	nd, worst, wi := 0, 0.0, -1
	for i := range want {
		if got[i] != want[i] {
			nd++
			if d := math.Abs(float64(got[i] - want[i])); d >= worst {
				worst, wi = d, i
			}
		}
	}
	if wi < 0 {
		t.Logf("%-22s equal (%d values)", what, len(want))
		return true
	}
	t.Logf("%-22s %6d/%6d differ, at most %.3g (%d: %v, llama.cpp %v)", what, nd, len(want), worst, wi, got[wi], want[wi])
	return false
}

// TestLlamaDumpOps feeds each of our ops llama.cpp's inputs and compares the output.
func TestLlamaDumpOps(t *testing.T) {
	d := openLlamaDump(t)
	sh := d.shape
	b := New(2)
	b.noAsm = os.Getenv("INFERNO_LLAMA_DUMP_NOASM") != ""
	b.SetLlamaBatchOrder(os.Getenv("INFERNO_LLAMA_DUMP_ORDER") != "")
	weight := func(name string) backend.Tensor {
		ti, err := d.file.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		rows := 1
		if len(ti.Dims) > 1 {
			rows = int(ti.Dims[1])
		}
		w, err := b.Weight(name, ti.Type, rows, int(ti.Dims[0]), d.file.TensorData(ti))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	input := func(cols int, format string, args ...any) backend.Tensor {
		v := d.node(t, format, args...)
		a := b.Activation(len(v)/cols, cols)
		b.Write(a, v)
		return a
	}
	read := func(a backend.Tensor) []float32 {
		o := make([]float32, a.Rows()*a.Cols())
		b.Read(a, o)
		return o
	}
	n := len(d.node(t, "inp_embd")) / sh.emb
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	cache := b.NewKVCache(sh.nl, n, sh.nkv*sh.hd, true)
	for l := 0; l < sh.nl; l++ {
		x := input(sh.emb, "inp_embd")
		if l > 0 {
			x = input(sh.emb, "l_out-%d", l-1)
		}
		o := b.Activation(n, sh.emb)
		b.RMSNorm(o, x, weight(fmt.Sprintf("blk.%d.attn_norm.weight", l)), 1e-5)
		compareNode(t, fmt.Sprintf("attn_norm-%d", l), read(o), d.node(t, "attn_norm-%d", l))
		// Q and K are compared after RoPE only: llama.cpp's Qcur/Kcur rows are in the file's order.
		v := b.Activation(n, sh.nkv*sh.hd)
		b.MatMul(v, weight(fmt.Sprintf("blk.%d.attn_v.weight", l)), input(sh.emb, "attn_norm-%d", l))
		compareNode(t, fmt.Sprintf("Vcur-%d", l), read(v), d.node(t, "Vcur-%d", l))
		q := input(sh.nh*sh.hd, "Qcur-%d (reshaped)", l)
		b.Rope(q, pos, backend.RopeParams{NHead: sh.nh, HeadDim: sh.hd, Dims: sh.hd, Base: 10000})
		compareNode(t, fmt.Sprintf("Qcur-%d (rope)", l), read(q), d.node(t, "Qcur-%d", l))
		att := b.Activation(n, sh.nh*sh.hd)
		b.Attention(att, input(sh.nh*sh.hd, "Qcur-%d", l), input(sh.nkv*sh.hd, "Kcur-%d", l), input(sh.nkv*sh.hd, "Vcur-%d", l),
			cache, pos, backend.AttentionParams{Layer: l, NHead: sh.nh, NKVHead: sh.nkv, HeadDim: sh.hd, Scale: float32(1 / math.Sqrt(float64(sh.hd)))})
		compareNode(t, fmt.Sprintf("kqv_merged_cont-%d", l), read(att), d.node(t, "kqv_merged_cont-%d", l))
		b.MatMul(o, weight(fmt.Sprintf("blk.%d.attn_output.weight", l)), input(sh.nh*sh.hd, "kqv_merged_cont-%d", l))
		compareNode(t, fmt.Sprintf("kqv_out-%d", l), read(o), d.node(t, "kqv_out-%d", l))
		wg, wu := weight(fmt.Sprintf("blk.%d.ffn_gate.weight", l)), weight(fmt.Sprintf("blk.%d.ffn_up.weight", l))
		ff := wg.Rows()
		g := b.Activation(n, ff)
		b.MatMul(g, wu, input(sh.emb, "ffn_norm-%d", l))
		compareNode(t, fmt.Sprintf("ffn_up-%d", l), read(g), d.node(t, "ffn_up-%d", l))
		b.SwiGLU(g, input(ff, "ffn_gate-%d", l), input(ff, "ffn_up-%d", l))
		compareNode(t, fmt.Sprintf("ffn_gate_par-%d", l), read(g), d.node(t, "ffn_gate_par-%d", l))
		b.MatMul(o, weight(fmt.Sprintf("blk.%d.ffn_down.weight", l)), input(ff, "ffn_gate_par-%d", l))
		compareNode(t, fmt.Sprintf("ffn_out-%d", l), read(o), d.node(t, "ffn_out-%d", l))
	}
	lo := b.Activation(n, len(d.node(t, "result_output"))/n)
	b.MatMul(lo, weight("output.weight"), input(sh.emb, "result_norm"))
	compareNode(t, "result_output", read(lo), d.node(t, "result_output"))
}

// TestLlamaDumpGGMLModels checks the Go models below against the same dump: each must
// give llama.cpp's values exactly.
func TestLlamaDumpGGMLModels(t *testing.T) {
	d := openLlamaDump(t)
	sh := d.shape
	for l := 0; l < sh.nl; l++ {
		kq, sm, kqv := attentionModel(sh, d.node(t, "q-%d", l), d.node(t, "k-%d", l), d.node(t, "v-%d", l))
		for _, c := range []struct {
			name      string
			got, want []float32
		}{
			{fmt.Sprintf("kq-%d", l), kq, d.node(t, "kq-%d", l)},
			{fmt.Sprintf("kq_soft_max_ext-%d", l), sm, d.node(t, "kq_soft_max_ext-%d", l)},
			{fmt.Sprintf("kqv-%d", l), kqv, d.node(t, "kqv-%d", l)},
			{fmt.Sprintf("Vcur-%d", l), matMulModel(t, d.file, fmt.Sprintf("blk.%d.attn_v.weight", l), d.node(t, "attn_norm-%d", l)), d.node(t, "Vcur-%d", l)},
			{fmt.Sprintf("ffn_up-%d", l), matMulModel(t, d.file, fmt.Sprintf("blk.%d.ffn_up.weight", l), d.node(t, "ffn_norm-%d", l)), d.node(t, "ffn_up-%d", l)},
			{fmt.Sprintf("ffn_gate_par-%d", l), swigluModel(d.node(t, "ffn_gate-%d", l), d.node(t, "ffn_up-%d", l), len(d.node(t, "ffn_up-%d", l))/(len(d.node(t, "ffn_norm-%d", l))/sh.emb)), d.node(t, "ffn_gate_par-%d", l)},
			{fmt.Sprintf("ffn_out-%d", l), matMulModel(t, d.file, fmt.Sprintf("blk.%d.ffn_down.weight", l), d.node(t, "ffn_gate_par-%d", l)), d.node(t, "ffn_out-%d", l)},
		} {
			if !compareNode(t, c.name, c.got, c.want) {
				t.Errorf("%s: the model differs from llama.cpp", c.name)
			}
		}
		if !compareNode(t, fmt.Sprintf("Qcur-%d (rope model)", l), ropeModel(sh, d.node(t, "Qcur-%d (reshaped)", l)), d.node(t, "Qcur-%d", l)) {
			t.Errorf("Qcur-%d: the RoPE model differs from llama.cpp", l)
		}
	}
	if !compareNode(t, "result_output", matMulModel(t, d.file, "output.weight", d.node(t, "result_norm")), d.node(t, "result_output")) {
		t.Error("result_output: the model differs from llama.cpp")
	}
}

func roundToF16(x float32) float32 { return tensor.FP16ToFP32(tensor.FP32ToFP16(x)) }

// expAVX2 is the AVX2 build's ggml_v_expf: unlike the AVX-512 and portable form (ExpF,
// j·2^n with j including the 1), it rounds once in fma(j, 2^n, 2^n) with j excluding it.
func expAVX2(x float32) float32 {
	const r = 0x1.8p23
	z := fma32(x, 0x1.715476p+0, r)
	n := z - r
	b := fnma32(n, 0x1.7f7d1cp-20, fnma32(n, 0x1.62e4p-1, x))
	u := b * b
	j := fma32(fma32(fma32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fma32(0x1.555e66p-3, b, 0x1.fffdb6p-2)), u, 0x1.ffffecp-1*b)
	pow2 := func(e int32) float32 { return math.Float32frombits(uint32(e+127) << 23) }
	switch {
	case absf32(n) <= 126:
		k := pow2(int32(n))
		return fma32(j, k, k)
	case absf32(n) > 192:
		if n > 0 {
			return float32(math.Inf(1))
		}
		return 0
	case n > 0: // 2^n split as 2^(n-127)·2^127
		s2 := pow2(int32(n) - 127)
		return fma32(s2, j, s2) * pow2(127)
	}
	s2 := pow2(int32(n) + 125) // 2^n as 2^(n+125)·2^-125, rounded to a subnormal at the end
	return fma32(s2, j, s2) * pow2(-125)
}

// attentionModel is llama.cpp's non-flash attention for a batch on the AVX2 build, from
// the dump's q (hd × tokens × heads), k (hd × kv × kv heads, F16 values) and v (kv × hd ×
// kv heads): KQ by tinyBLAS (q rounded to F16; lane e%8 accumulates by FMA, then hsum8),
// softmax over all n_kv keys with the causal mask (expAVX2, float sums of eight added
// into a double), KQV by tinyBLAS (probabilities rounded to F16; lane j%8 over the keys).
func attentionModel(sh dumpShape, q, k, v []float32) (kq, sm, kqv []float32) {
	hd := sh.hd
	n := len(q) / (hd * sh.nh)
	scale := float32(1 / math.Sqrt(float64(hd)))
	kq, sm, kqv = make([]float32, sh.nh*n*n), make([]float32, sh.nh*n*n), make([]float32, sh.nh*n*hd)
	w := make([]float32, n)
	for h := 0; h < sh.nh; h++ {
		kvh := h / (sh.nh / sh.nkv)
		for i := 0; i < n; i++ {
			row := kq[(h*n+i)*n : (h*n+i+1)*n]
			for j := range row {
				var lanes [8]float32
				for e := 0; e < hd; e++ {
					lanes[e%8] = fma32(roundToF16(q[(h*n+i)*hd+e]), k[(kvh*n+j)*hd+e], lanes[e%8])
				}
				row[j] = hsum8(&lanes)
			}
			mx := float32(math.Inf(-1))
			for j := range w {
				w[j] = row[j] * scale
				if j > i {
					w[j] = float32(math.Inf(-1))
				}
				mx = max(mx, w[j])
			}
			var sum float64
			for j0 := 0; j0 < n; j0 += 8 {
				var lanes [8]float32
				for j := j0; j < j0+8; j++ {
					w[j] = expAVX2(w[j] - mx)
					lanes[j-j0] = w[j]
				}
				sum += float64(hsum8(&lanes))
			}
			inv := float32(1 / sum)
			p := sm[(h*n+i)*n : (h*n+i+1)*n]
			for j := range p {
				p[j] = w[j] * inv
			}
			for e := 0; e < hd; e++ {
				var lanes [8]float32
				for j := range p {
					lanes[j%8] = fma32(v[(kvh*hd+e)*n+j], roundToF16(p[j]), lanes[j%8])
				}
				kqv[(h*n+i)*hd+e] = hsum8(&lanes)
			}
		}
	}
	return kq, sm, kqv
}

// swigluModel is ggml_vec_silu_f32 times up on the AVX2 build: groups of eight use
// expAVX2, a row's last cols%8 use libm's expf.
func swigluModel(g, u []float32, cols int) []float32 {
	out := make([]float32, len(g))
	for i, x := range g {
		var e float32
		if i%cols < cols/8*8 {
			e = expAVX2(-x)
		} else {
			e = float32(math.Exp(float64(-x)))
		}
		out[i] = x / (1 + e) * u[i]
	}
	return out
}

// ropeModel is ggml's RoPE as GCC compiles it with FMA contraction:
// x0' = fma(x0, cos, -(x1·sin)), x1' = fma(x0, sin, x1·cos), with glibc's sincosf.
func ropeModel(sh dumpShape, x []float32) []float32 {
	out := make([]float32, len(x))
	step := float32(math.Pow(10000, -2.0/float64(sh.hd)))
	row := sh.nh * sh.hd
	for p := 0; p < len(x)/row; p++ {
		theta := float32(p)
		for i := 0; i < sh.hd/2; i++ {
			s, c := sinCosF(theta)
			for h := 0; h < sh.nh; h++ {
				o := p*row + h*sh.hd + 2*i
				x0, x1 := x[o], x[o+1]
				out[o], out[o+1] = fma32(x0, c, -(x1*s)), fma32(x0, s, x1*c)
			}
			theta *= step
		}
	}
	return out
}

// quantizeQ8_0Model is quantize_row_q8_0 on AVX2: d = amax/127 stored as F16, the
// values multiplied by 127/amax and rounded to nearest even.
func quantizeQ8_0Model(x []float32) (ds []float32, qs []int8) {
	for b := 0; b < len(x)/32; b++ {
		var amax float32
		for _, v := range x[b*32 : b*32+32] {
			amax = max(amax, absf32(v))
		}
		id := float32(0)
		if amax != 0 {
			id = 127 / amax
		}
		ds = append(ds, roundToF16(amax/127))
		for _, v := range x[b*32 : b*32+32] {
			qs = append(qs, int8(math.RoundToEven(float64(v*id))))
		}
	}
	return ds, qs
}

// matMulModel is ggml's matrix product on the AVX2 build for a batch of rows x:
//   - F32 weights: tinyBLAS; lane k%8 accumulates w·x by FMA, then hsum8.
//   - Q5_0/Q8_0 weights: x quantized to Q8_0; per block, lane l holds the integer dot
//     product of elements 4l..4l+3, accumulated as fma(d_w·d_x, lane, acc[l]) over the
//     blocks, then hsum8 (tinyBLAS_Q0_AVX and ggml_vec_dot_*_q8_0 agree).
//   - F16 weights (rows not a multiple of 8, so not tinyBLAS): ggml_vec_dot_f16 with x
//     rounded to F16: four accumulators of eight lanes over steps of 32, reduced
//     (0+2, 1+3, then 0+1, then hi+lo halves and two horizontal adds), the rest of the
//     row added in double.
func matMulModel(t *testing.T, f *gguf.File, name string, x []float32) []float32 {
	ti, err := f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	cols, rows := int(ti.Dims[0]), int(ti.Dims[1])
	data := f.TensorData(ti)
	n := len(x) / cols
	out := make([]float32, n*rows)
	half := func(i int) float32 { return tensor.FP16ToFP32(binary.LittleEndian.Uint16(data[2*i:])) }
	for i := 0; i < n; i++ {
		xr := x[i*cols : (i+1)*cols]
		for r := 0; r < rows; r++ {
			var res float32
			switch ti.Type {
			case tensor.F32:
				var acc [8]float32
				for k := 0; k < cols; k++ {
					acc[k%8] = fma32(math.Float32frombits(binary.LittleEndian.Uint32(data[4*(r*cols+k):])), xr[k], acc[k%8])
				}
				res = hsum8(&acc)
			case tensor.F16:
				np := cols &^ 31
				var acc [4][8]float32
				for k := 0; k < np; k += 32 {
					for a := range acc {
						for l := range acc[a] {
							acc[a][l] = fma32(half(r*cols+k+8*a+l), roundToF16(xr[k+8*a+l]), acc[a][l])
						}
					}
				}
				var t4 [4]float32
				for l := 0; l < 4; l++ {
					s0 := acc[0][l] + acc[2][l] + (acc[1][l] + acc[3][l])
					s4 := acc[0][l+4] + acc[2][l+4] + (acc[1][l+4] + acc[3][l+4])
					t4[l] = s0 + s4
				}
				s := float64((t4[0] + t4[1]) + (t4[2] + t4[3]))
				for k := np; k < cols; k++ {
					s += float64(half(r*cols+k) * roundToF16(xr[k]))
				}
				res = float32(s)
			case tensor.Q5_0, tensor.Q8_0:
				xd, xq := quantizeQ8_0Model(xr)
				var acc [8]float32
				for bi := 0; bi < cols/32; bi++ {
					var q [32]int32
					var d float32
					if ti.Type == tensor.Q8_0 {
						blk := data[(r*cols/32+bi)*34:]
						d = tensor.FP16ToFP32(binary.LittleEndian.Uint16(blk))
						for j := range q {
							q[j] = int32(int8(blk[2+j]))
						}
					} else {
						blk := data[(r*cols/32+bi)*22:]
						d = tensor.FP16ToFP32(binary.LittleEndian.Uint16(blk))
						qh := binary.LittleEndian.Uint32(blk[2:])
						for j := 0; j < 16; j++ {
							q[j] = int32(blk[6+j]&15) | int32(qh>>j&1)<<4 - 16
							q[j+16] = int32(blk[6+j]>>4) | int32(qh>>(j+16)&1)<<4 - 16
						}
					}
					dd := d * xd[bi]
					for l := range acc {
						var s int32
						for e := 4 * l; e < 4*l+4; e++ {
							s += q[e] * int32(xq[bi*32+e])
						}
						acc[l] = fma32(dd, float32(s), acc[l])
					}
				}
				res = hsum8(&acc)
			default:
				t.Fatalf("%s: no model of ggml's product for %v", name, ti.Type)
			}
			out[i*rows+r] = res
		}
	}
	return out
}
