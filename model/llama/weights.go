package llama

import (
	"fmt"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/tensor"
)

// Layer holds one transformer block's weights and the backend they live on. The
// tensors an architecture does not have are nil.
type Layer struct {
	B                        backend.Backend
	AttnNorm, Wq, Wk, Wv, Wo backend.Tensor
	FFNNorm, Gate, Up, Down  backend.Tensor
	Bq, Bk, Bv               backend.Tensor // qwen2
	PostAttnNorm, PostFFNorm backend.Tensor // gemma2
}

// Weights are the model's tensors. The embedding lives on EmbB, the final norm and
// the output head on OutB.
type Weights struct {
	EmbB, OutB backend.Backend
	TokEmbd    backend.Tensor
	OutputNorm backend.Tensor
	Output     backend.Tensor // token_embd when the model ties embeddings (and both share a backend)
	Layers     []Layer
	// RoPE divisors per rotated pair, shared by all layers (nil: none): Llama 3.x
	// rope_freqs; Phi-3's long and short factors, chosen per State by its context.
	RopeFreqs, RopeLong, RopeShort []float32
}

// Placement says which backend holds what: layer i on Layer(i), the token embedding
// on Emb, the final norm and output projection on Out.
type Placement struct {
	Layer    func(i int) backend.Backend
	Emb, Out backend.Backend
	// Progress, when set, is called after each block is loaded.
	Progress func(done, total int)
}

// All places everything on b.
func All(b backend.Backend) Placement {
	return Placement{Layer: func(int) backend.Backend { return b }, Emb: b, Out: b}
}

// loadTensor checks that name exists with ggml shape [cols, rows] (rows = 1 for
// vectors) and wraps it on the backend.
func loadTensor(b backend.Backend, f *gguf.File, name string, cols, rows int) (backend.Tensor, error) {
	return loadRows(b, f, name, cols, rows, 0, rows)
}

// loadRows is loadTensor of rows [lo, hi) only: one part of a fused matrix (each
// output row is its own dot product, so the parts multiply exactly as the whole).
func loadRows(b backend.Backend, f *gguf.File, name string, cols, rows, lo, hi int) (backend.Tensor, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, fmt.Errorf("model: missing tensor %s", name)
	}
	want := []uint64{uint64(cols), uint64(rows)}
	if rows == 1 {
		want = want[:1]
	}
	ok := len(t.Dims) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = t.Dims[i] == want[i]
	}
	if !ok {
		return nil, fmt.Errorf("model: tensor %s has shape %v, want %v", name, t.Dims, want)
	}
	data := f.TensorData(t)
	if lo == 0 && hi == rows {
		return b.Weight(name, t.Type, rows, cols, data)
	}
	rb, err := t.Type.RowSize(cols)
	if err != nil {
		return nil, fmt.Errorf("model: tensor %s: %w", name, err)
	}
	return b.Weight(fmt.Sprintf("%s[%d:%d]", name, lo, hi), t.Type, hi-lo, cols, data[lo*rb:hi*rb])
}

// loadF32 reads a small F32 vector of n values into host memory.
func loadF32(f *gguf.File, name string, n int) ([]float32, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, fmt.Errorf("model: missing tensor %s", name)
	}
	if t.Type != tensor.F32 || len(t.Dims) != 1 || t.Dims[0] != uint64(n) {
		return nil, fmt.Errorf("model: tensor %s is %s %v, want F32 [%d]", name, t.Type, t.Dims, n)
	}
	out := make([]float32, n)
	tensor.DequantizeF32(f.TensorData(t), out)
	for i, v := range out {
		if !positiveFinite(v) {
			return nil, fmt.Errorf("model: tensor %s[%d] = %v must be a positive number", name, i, v)
		}
	}
	return out, nil
}

// LoadWeights maps every tensor the forward pass needs onto the backends, and refuses
// a file with a tensor the graph would not use.
func LoadWeights(pl Placement, f *gguf.File, h HParams) (*Weights, error) {
	a := h.ArchSpec
	w := &Weights{EmbB: pl.Emb, OutB: pl.Out}
	used := map[string]bool{}
	load := func(b backend.Backend, name string, cols, rows int) (backend.Tensor, error) {
		used[name] = true
		return loadTensor(b, f, name, cols, rows)
	}
	var err error
	kvDim, qDim := h.NKVHead*h.HeadDim, h.QDim()
	if w.TokEmbd, err = load(pl.Emb, "token_embd.weight", h.NEmbd, h.NVocab); err != nil {
		return nil, err
	}
	if w.OutputNorm, err = load(pl.Out, "output_norm.weight", h.NEmbd, 1); err != nil {
		return nil, err
	}
	switch {
	case !h.Tied:
		if w.Output, err = load(pl.Out, "output.weight", h.NEmbd, h.NVocab); err != nil {
			return nil, err
		}
	case a.NeedOutput:
		return nil, fmt.Errorf("model: missing tensor output.weight (%s does not tie embeddings)", a.Name)
	case pl.Out == pl.Emb:
		w.Output = w.TokEmbd
	default:
		if w.Output, err = loadTensor(pl.Out, f, "token_embd.weight", h.NEmbd, h.NVocab); err != nil {
			return nil, err
		}
	}
	half := h.RopeDim / 2
	if h.HasRopeFreqs {
		used["rope_freqs.weight"] = true
		if w.RopeFreqs, err = loadF32(f, "rope_freqs.weight", half); err != nil {
			return nil, err
		}
	}
	if h.HasRopeLongShort {
		used["rope_factors_long.weight"], used["rope_factors_short.weight"] = true, true
		if w.RopeLong, err = loadF32(f, "rope_factors_long.weight", half); err != nil {
			return nil, err
		}
		if w.RopeShort, err = loadF32(f, "rope_factors_short.weight", half); err != nil {
			return nil, err
		}
	}
	w.Layers = make([]Layer, h.NLayer)
	for i := range w.Layers {
		l := &w.Layers[i]
		b := pl.Layer(i)
		l.B = b
		p := fmt.Sprintf("blk.%d.", i)
		type want struct {
			dst        *backend.Tensor
			name       string
			cols, rows int
		}
		ts := []want{{&l.AttnNorm, "attn_norm.weight", h.NEmbd, 1}}
		if !a.FusedQKV {
			ts = append(ts, want{&l.Wq, "attn_q.weight", h.NEmbd, qDim},
				want{&l.Wk, "attn_k.weight", h.NEmbd, kvDim}, want{&l.Wv, "attn_v.weight", h.NEmbd, kvDim})
		}
		ts = append(ts, want{&l.Wo, "attn_output.weight", qDim, h.NEmbd}, want{&l.FFNNorm, "ffn_norm.weight", h.NEmbd, 1})
		if !a.FusedGateUp {
			ts = append(ts, want{&l.Gate, "ffn_gate.weight", h.NEmbd, h.NFF}, want{&l.Up, "ffn_up.weight", h.NEmbd, h.NFF})
		}
		ts = append(ts, want{&l.Down, "ffn_down.weight", h.NFF, h.NEmbd})
		if a.QKVBias {
			ts = append(ts, want{&l.Bq, "attn_q.bias", qDim, 1}, want{&l.Bk, "attn_k.bias", kvDim, 1}, want{&l.Bv, "attn_v.bias", kvDim, 1})
		}
		if a.PostNorms {
			ts = append(ts, want{&l.PostAttnNorm, "post_attention_norm.weight", h.NEmbd, 1},
				want{&l.PostFFNorm, "post_ffw_norm.weight", h.NEmbd, 1})
		}
		for _, t := range ts {
			if *t.dst, err = load(b, p+t.name, t.cols, t.rows); err != nil {
				return nil, err
			}
		}
		if a.FusedQKV { // rows q | k | v, as llama.cpp's views at 0, n_embd, n_embd+n_embd_gqa
			name, rows := p+"attn_qkv.weight", qDim+2*kvDim
			used[name] = true
			for _, part := range []struct {
				dst    *backend.Tensor
				lo, hi int
			}{{&l.Wq, 0, qDim}, {&l.Wk, qDim, qDim + kvDim}, {&l.Wv, qDim + kvDim, rows}} {
				if *part.dst, err = loadRows(b, f, name, h.NEmbd, rows, part.lo, part.hi); err != nil {
					return nil, err
				}
			}
		}
		if a.FusedGateUp { // rows gate | up: llama.cpp's swiglu takes the first half as the gate
			name := p + "ffn_up.weight"
			used[name] = true
			if l.Gate, err = loadRows(b, f, name, h.NEmbd, 2*h.NFF, 0, h.NFF); err != nil {
				return nil, err
			}
			if l.Up, err = loadRows(b, f, name, h.NEmbd, 2*h.NFF, h.NFF, 2*h.NFF); err != nil {
				return nil, err
			}
		}
		if pl.Progress != nil {
			pl.Progress(i+1, len(w.Layers))
		}
	}
	for i := range f.Tensors {
		if n := f.Tensors[i].Name; !used[n] {
			return nil, fmt.Errorf("model: tensor %s is not implemented for %s", n, a.Name)
		}
	}
	return w, nil
}
