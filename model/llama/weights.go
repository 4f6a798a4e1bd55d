package llama

import (
	"fmt"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/gguf"
)

// Layer holds one transformer block's weights and the backend they live on.
type Layer struct {
	B                        backend.Backend
	AttnNorm, Wq, Wk, Wv, Wo backend.Tensor
	FFNNorm, Gate, Up, Down  backend.Tensor
}

// Weights are the model's tensors. The embedding lives on EmbB, the final norm and
// the output head on OutB.
type Weights struct {
	EmbB, OutB backend.Backend
	TokEmbd    backend.Tensor
	OutputNorm backend.Tensor
	Output     backend.Tensor // token_embd when the model ties embeddings (and both share a backend)
	Layers     []Layer
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
	return b.Weight(name, t.Type, rows, cols, f.TensorData(t))
}

// LoadWeights maps every tensor the forward pass needs onto b.
func LoadWeights(pl Placement, f *gguf.File, h HParams) (*Weights, error) {
	w := &Weights{EmbB: pl.Emb, OutB: pl.Out}
	var err error
	kvDim := h.NKVHead * h.HeadDim
	if w.TokEmbd, err = loadTensor(pl.Emb, f, "token_embd.weight", h.NEmbd, h.NVocab); err != nil {
		return nil, err
	}
	if w.OutputNorm, err = loadTensor(pl.Out, f, "output_norm.weight", h.NEmbd, 1); err != nil {
		return nil, err
	}
	if _, err := f.Tensor("output.weight"); err == nil {
		if w.Output, err = loadTensor(pl.Out, f, "output.weight", h.NEmbd, h.NVocab); err != nil {
			return nil, err
		}
	} else if pl.Out == pl.Emb {
		w.Output = w.TokEmbd // tied embeddings
	} else if w.Output, err = loadTensor(pl.Out, f, "token_embd.weight", h.NEmbd, h.NVocab); err != nil {
		return nil, err
	}
	w.Layers = make([]Layer, h.NLayer)
	for i := range w.Layers {
		l := &w.Layers[i]
		b := pl.Layer(i)
		l.B = b
		p := fmt.Sprintf("blk.%d.", i)
		for _, t := range []struct {
			dst        *backend.Tensor
			name       string
			cols, rows int
		}{
			{&l.AttnNorm, "attn_norm.weight", h.NEmbd, 1},
			{&l.Wq, "attn_q.weight", h.NEmbd, h.NEmbd},
			{&l.Wk, "attn_k.weight", h.NEmbd, kvDim},
			{&l.Wv, "attn_v.weight", h.NEmbd, kvDim},
			{&l.Wo, "attn_output.weight", h.NEmbd, h.NEmbd},
			{&l.FFNNorm, "ffn_norm.weight", h.NEmbd, 1},
			{&l.Gate, "ffn_gate.weight", h.NEmbd, h.NFF},
			{&l.Up, "ffn_up.weight", h.NEmbd, h.NFF},
			{&l.Down, "ffn_down.weight", h.NFF, h.NEmbd},
		} {
			if *t.dst, err = loadTensor(b, f, p+t.name, t.cols, t.rows); err != nil {
				return nil, err
			}
		}
		if pl.Progress != nil {
			pl.Progress(i+1, len(w.Layers))
		}
	}
	return w, nil
}
