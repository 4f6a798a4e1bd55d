package llama

import (
	"fmt"
	"math"
	"runtime/debug"
	"sync"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/gguf"
)

// Model is a loaded model: hyperparameters and weights on one or more backends. It is
// read-only after Load and may be shared by any number of sessions (each with its own
// State), one forward pass at a time.
type Model struct {
	HParams
	W       *Weights
	Backend backend.Backend // the backend of the output head
	mu      sync.Mutex      // one forward pass at a time: backends keep scratch state
	file    *gguf.File      // whose mapping weights may still read (CatchFault)
}

// Load reads the hyperparameters and maps the weights of f onto b.
func Load(b backend.Backend, f *gguf.File) (*Model, error) { return LoadPlaced(All(b), f) }

// LoadPlaced loads with layers (and embedding, output) on the backends pl names.
func LoadPlaced(pl Placement, f *gguf.File) (m *Model, err error) {
	h, err := ReadHParams(f)
	if err != nil {
		return nil, err
	}
	defer f.CatchFault(&err, debug.SetPanicOnFault(true)) // backends read (repack, copy) the mapping
	w, err := LoadWeights(pl, f, h)
	if err != nil {
		return nil, err
	}
	return &Model{HParams: h, W: w, Backend: pl.Out, file: f}, nil
}

// scratch is one backend's activations, maxBatch rows each, and its KV cache.
type scratch struct {
	x, xn, q, k, v, att, o, gate, up, ffn backend.Tensor
	cache                                 backend.KVCache
	// views of the first vn rows, kept so a decode step makes none (views allocate)
	vn                                              int
	vx, vxn, vq, vk, vv, vatt, vo, vgate, vup, vffn backend.Tensor
}

func (sc *scratch) views(b backend.Backend, n int) {
	if sc.vn == n {
		return
	}
	sc.vn = n
	sc.vx, sc.vxn, sc.vq, sc.vk, sc.vv = b.View(sc.x, 0, n), b.View(sc.xn, 0, n), b.View(sc.q, 0, n), b.View(sc.k, 0, n), b.View(sc.v, 0, n)
	sc.vatt, sc.vo, sc.vgate, sc.vup, sc.vffn = b.View(sc.att, 0, n), b.View(sc.o, 0, n), b.View(sc.gate, 0, n), b.View(sc.up, 0, n), b.View(sc.ffn, 0, n)
}

// State is one sequence's KV caches and scratch activations.
type State struct {
	m         *Model
	NCtx      int
	maxBatch  int
	scr       map[backend.Backend]*scratch
	lastNorm  backend.Tensor
	logits    backend.Tensor
	logitsBuf []float32
	hostX     []float32 // moving activations between backends
	bs        []backend.Backend
	lastN     int            // n of the cached last-row view
	lastRow   backend.Tensor // row n-1 of the output backend's x
	lg        backend.Tensor // first row of logits

	greedy    bool // ForwardGreedy in progress
	greedyTok int32
	greedyErr error
}

// NewState allocates KV caches of nCtx positions (F16 unless f32KV) and scratch for
// batches of up to maxBatch tokens on every backend the model uses.
func (m *Model) NewState(nCtx, maxBatch int, f32KV bool) *State {
	kvDim := m.NKVHead * m.HeadDim
	s := &State{m: m, NCtx: nCtx, maxBatch: maxBatch, scr: map[backend.Backend]*scratch{}}
	for _, b := range m.backends() {
		sc := &scratch{}
		sc.cache = b.NewKVCache(m.NLayer, nCtx, kvDim, !f32KV)
		sc.x = b.Activation(maxBatch, m.NEmbd)
		sc.xn = b.Activation(maxBatch, m.NEmbd)
		sc.q = b.Activation(maxBatch, m.NEmbd)
		sc.k = b.Activation(maxBatch, kvDim)
		sc.v = b.Activation(maxBatch, kvDim)
		sc.att = b.Activation(maxBatch, m.NEmbd)
		sc.o = b.Activation(maxBatch, m.NEmbd)
		sc.gate = b.Activation(maxBatch, m.NFF)
		sc.up = b.Activation(maxBatch, m.NFF)
		sc.ffn = b.Activation(maxBatch, m.NEmbd)
		s.scr[b] = sc
	}
	ob := m.W.OutB
	s.lastNorm = ob.Activation(1, m.NEmbd)
	s.logits = ob.Activation(maxBatch, m.NVocab)
	s.lg = ob.View(s.logits, 0, 1)
	s.bs = m.backends()
	s.logitsBuf = make([]float32, m.NVocab)
	s.hostX = make([]float32, maxBatch*m.NEmbd)
	return s
}

// backends lists the distinct backends, embedding's first.
func (m *Model) backends() []backend.Backend {
	var out []backend.Backend
	seen := map[backend.Backend]bool{}
	add := func(b backend.Backend) {
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	add(m.W.EmbB)
	for i := range m.W.Layers {
		add(m.W.Layers[i].B)
	}
	add(m.W.OutB)
	return out
}

// Forward runs tokens at positions pos[i] through the model and returns the logits of
// the last token (all positions' logits when allLogits, row-major). The slice is
// reused by the next call. Batches larger than the scratch size are split.
func (s *State) Forward(tokens []int32, pos []int32, allLogits bool) (logits []float32, err error) {
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
	// GetRows and unrepacked weights read the file's pages (the CPU pool raises its
	// workers' faults here): a file truncated under the mapping is an error, not SIGBUS.
	defer s.m.file.CatchFault(&err, debug.SetPanicOnFault(true))
	var all []float32
	for start := 0; start < len(tokens); start += s.maxBatch {
		end := min(len(tokens), start+s.maxBatch)
		out := s.forwardBatch(tokens[start:end], pos[start:end], allLogits)
		for _, b := range s.bs {
			if e, ok := b.(interface{ Err() error }); ok && e.Err() != nil {
				return nil, fmt.Errorf("model: %s backend: %w", b.Name(), e.Err())
			}
		}
		if allLogits {
			all = append(all, out...)
		} else if end == len(tokens) {
			return out, nil
		}
	}
	return all, nil
}

// move copies the first n rows of x from backend from to backend to's x.
func (s *State) move(from, to backend.Backend, n int) {
	if from == to {
		return
	}
	s.scr[from].views(from, n)
	s.scr[to].views(to, n)
	buf := s.hostX[:n*s.m.NEmbd]
	from.Read(s.scr[from].vx, buf)
	to.Write(s.scr[to].vx, buf)
}

func (s *State) forwardBatch(tokens, pos []int32, allLogits bool) []float32 {
	m := s.m
	n := len(tokens)
	cur := m.W.EmbB
	s.scr[cur].views(cur, n)
	cur.GetRows(s.scr[cur].vx, m.W.TokEmbd, tokens)
	rope := backend.RopeParams{HeadDim: m.HeadDim, Dims: m.RopeDim, Base: m.RopeBase, NeoX: m.RopeNeoX}
	ap := backend.AttentionParams{NHead: m.NHead, NKVHead: m.NKVHead, HeadDim: m.HeadDim,
		Scale: float32(1 / math.Sqrt(float64(m.HeadDim)))}
	for li := range m.W.Layers {
		l := &m.W.Layers[li]
		b := l.B
		s.move(cur, b, n)
		cur = b
		sc := s.scr[b]
		sc.views(b, n)
		x, xn, q, k, vv, att, o := sc.vx, sc.vxn, sc.vq, sc.vk, sc.vv, sc.vatt, sc.vo
		gate, up, ffn := sc.vgate, sc.vup, sc.vffn
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
		b.Attention(att, q, k, vv, sc.cache, pos, ap)
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
	ob := m.W.OutB
	s.move(cur, ob, n)
	s.scr[ob].views(ob, n)
	x := s.scr[ob].vx
	if allLogits {
		xn := s.scr[ob].vxn
		ob.RMSNorm(xn, x, m.W.OutputNorm, m.RMSEps)
		logits := ob.View(s.logits, 0, n)
		ob.MatMul(logits, m.W.Output, xn)
		out := make([]float32, n*m.NVocab)
		ob.Read(logits, out)
		return out
	}
	// Only the last position's logits are needed: norm and project one row.
	if s.lastN != n || s.lastRow == nil {
		s.lastN, s.lastRow = n, ob.View(s.scr[ob].x, n-1, n)
	}
	ob.RMSNorm(s.lastNorm, s.lastRow, m.W.OutputNorm, m.RMSEps)
	lg := s.lg
	ob.MatMul(lg, m.W.Output, s.lastNorm)
	if s.greedy {
		if am, ok := ob.(Argmaxer); ok {
			s.greedyTok, s.greedyErr = am.Argmax(lg)
			return nil
		}
	}
	ob.Read(lg, s.logitsBuf)
	return s.logitsBuf
}

// Argmaxer is a backend that can pick the largest logit on the device, so a greedy
// decode step returns one token id instead of the whole vocabulary's logits.
type Argmaxer interface {
	Argmax(t backend.Tensor) (int32, error)
}

// ForwardGreedy is Forward followed by argmax over the last position's logits, done
// on the device when the output backend can.
func (s *State) ForwardGreedy(tokens, pos []int32) (int32, error) {
	s.greedy, s.greedyTok, s.greedyErr = true, 0, nil
	defer func() { s.greedy = false }()
	logits, err := s.Forward(tokens, pos, false)
	if err != nil {
		return 0, err
	}
	if logits == nil {
		return s.greedyTok, s.greedyErr
	}
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return int32(best), nil
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
