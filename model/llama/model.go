package llama

import (
	"fmt"
	"math"
	"sync"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/gguf"
)

// Model is a loaded model: hyperparameters and weights on a backend. It is read-only
// after Load and may be shared by any number of sessions (each with its own State),
// one forward pass at a time per backend.
type Model struct {
	HParams
	W       *Weights
	Backend backend.Backend
	mu      sync.Mutex // one forward pass at a time: backends keep scratch state
}

// Load reads the hyperparameters and maps the weights of f onto b.
func Load(b backend.Backend, f *gguf.File) (*Model, error) {
	h, err := ReadHParams(f)
	if err != nil {
		return nil, err
	}
	w, err := LoadWeights(b, f, h)
	if err != nil {
		return nil, err
	}
	return &Model{HParams: h, W: w, Backend: b}, nil
}

// State is one sequence's KV cache and scratch activations.
type State struct {
	m        *Model
	Cache    backend.KVCache
	NCtx     int
	maxBatch int
	// scratch, maxBatch rows each
	x, xn, q, k, v, att, o, gate, up, ffn backend.Tensor
	lastN, logits                         backend.Tensor
	logitsBuf                             []float32
}

// NewState allocates a KV cache of nCtx positions (F16 unless f32KV) and scratch for
// batches of up to maxBatch tokens.
func (m *Model) NewState(nCtx, maxBatch int, f32KV bool) *State {
	b := m.Backend
	kvDim := m.NKVHead * m.HeadDim
	s := &State{m: m, NCtx: nCtx, maxBatch: maxBatch}
	s.Cache = b.NewKVCache(m.NLayer, nCtx, kvDim, !f32KV)
	s.x = b.Activation(maxBatch, m.NEmbd)
	s.xn = b.Activation(maxBatch, m.NEmbd)
	s.q = b.Activation(maxBatch, m.NEmbd)
	s.k = b.Activation(maxBatch, kvDim)
	s.v = b.Activation(maxBatch, kvDim)
	s.att = b.Activation(maxBatch, m.NEmbd)
	s.o = b.Activation(maxBatch, m.NEmbd)
	s.gate = b.Activation(maxBatch, m.NFF)
	s.up = b.Activation(maxBatch, m.NFF)
	s.ffn = b.Activation(maxBatch, m.NEmbd)
	s.lastN = b.Activation(1, m.NEmbd)
	s.logits = b.Activation(maxBatch, m.NVocab)
	s.logitsBuf = make([]float32, m.NVocab)
	return s
}

// Forward runs tokens at positions pos[i] through the model and returns the logits of
// the last token (all positions' logits when allLogits, row-major). The slice is
// reused by the next call. Batches larger than the scratch size are split.
func (s *State) Forward(tokens []int32, pos []int32, allLogits bool) ([]float32, error) {
	if len(tokens) == 0 || len(tokens) != len(pos) {
		return nil, fmt.Errorf("model: forward of %d tokens with %d positions", len(tokens), len(pos))
	}
	for i, p := range pos {
		if p < 0 || int(p) >= s.NCtx {
			return nil, fmt.Errorf("model: position %d is outside the context of %d tokens", p, s.NCtx)
		}
		if t := tokens[i]; t < 0 || int(t) >= s.m.NVocab {
			return nil, fmt.Errorf("model: token id %d is outside the vocabulary of %d", t, s.m.NVocab)
		}
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	var all []float32
	for start := 0; start < len(tokens); start += s.maxBatch {
		end := min(len(tokens), start+s.maxBatch)
		out := s.forwardBatch(tokens[start:end], pos[start:end], allLogits)
		if allLogits {
			all = append(all, out...)
		} else if end == len(tokens) {
			return out, nil
		}
	}
	return all, nil
}

func (s *State) forwardBatch(tokens, pos []int32, allLogits bool) []float32 {
	m, b := s.m, s.m.Backend
	n := len(tokens)
	v := func(t backend.Tensor) backend.Tensor { return b.View(t, 0, n) }
	x, xn, q, k, vv, att, o := v(s.x), v(s.xn), v(s.q), v(s.k), v(s.v), v(s.att), v(s.o)
	gate, up, ffn := v(s.gate), v(s.up), v(s.ffn)

	b.GetRows(x, m.W.TokEmbd, tokens)
	rope := backend.RopeParams{HeadDim: m.HeadDim, Dims: m.RopeDim, Base: m.RopeBase, NeoX: m.RopeNeoX}
	ap := backend.AttentionParams{NHead: m.NHead, NKVHead: m.NKVHead, HeadDim: m.HeadDim,
		Scale: float32(1 / math.Sqrt(float64(m.HeadDim)))}
	for li := range m.W.Layers {
		l := &m.W.Layers[li]
		// attention
		b.RMSNorm(xn, x, l.AttnNorm, m.RMSEps)
		b.MatMul(q, l.Wq, xn)
		b.MatMul(k, l.Wk, xn)
		b.MatMul(vv, l.Wv, xn)
		rope.NHead = m.NHead
		b.Rope(q, pos, rope)
		rope.NHead = m.NKVHead
		b.Rope(k, pos, rope)
		ap.Layer = li
		b.Attention(att, q, k, vv, s.Cache, pos, ap)
		b.MatMul(o, l.Wo, att)
		b.Add(x, x, o)
		// feed-forward
		b.RMSNorm(xn, x, l.FFNNorm, m.RMSEps)
		b.MatMul(gate, l.Gate, xn)
		b.MatMul(up, l.Up, xn)
		b.SwiGLU(gate, gate, up)
		b.MatMul(ffn, l.Down, gate)
		b.Add(x, x, ffn)
	}
	if allLogits {
		b.RMSNorm(xn, x, m.W.OutputNorm, m.RMSEps)
		logits := v(s.logits)
		b.MatMul(logits, m.W.Output, xn)
		out := make([]float32, n*m.NVocab)
		b.Read(logits, out)
		return out
	}
	// Only the last position's logits are needed: norm and project one row.
	b.RMSNorm(s.lastN, b.View(x, n-1, n), m.W.OutputNorm, m.RMSEps)
	lg := b.View(s.logits, 0, 1)
	b.MatMul(lg, m.W.Output, s.lastN)
	b.Read(lg, s.logitsBuf)
	return s.logitsBuf
}

// Open is a convenience: open path, load it on b.
func Open(b backend.Backend, path string) (*Model, *gguf.File, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := Load(b, f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return m, f, nil
}
