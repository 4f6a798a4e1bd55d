package llama

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/gguf"
)

// ErrClosed is wrapped by the errors of a State used after its Release or after the
// Model's Close.
var ErrClosed = errors.New("closed")

// Model is a loaded model: hyperparameters and weights on one or more backends. It is
// read-only after Load and may be shared by any number of sessions (each with its own
// State) from any goroutines.
type Model struct {
	HParams
	W *Weights
	// mu makes calls into the backends one at a time (they keep scratch state):
	// forward passes, and the allocation and release of States.
	mu     sync.Mutex
	states map[*State]bool // live States, released by Close
	closed bool
	file   *gguf.File // whose mapping weights may still read (CatchFault)
}

// Load reads the hyperparameters and maps the weights of f onto b.
func Load(b backend.Backend, f *gguf.File) (*Model, error) { return LoadPlaced(All(b), f) }

// LoadPlaced loads with layers (and embedding, output) on the backends pl names.
func LoadPlaced(pl Placement, f *gguf.File) (m *Model, err error) {
	h, err := ReadHParams(f)
	if err != nil {
		return nil, err
	}
	if err := checkArchOps(pl, &h); err != nil {
		return nil, err
	}
	defer f.CatchFault(&err, debug.SetPanicOnFault(true)) // backends read (repack, copy) the mapping
	w, err := LoadWeights(pl, f, h)
	if err != nil {
		return nil, err
	}
	return &Model{HParams: h, W: w, states: map[*State]bool{}, file: f}, nil
}

// checkArchOps refuses to place a model whose graph needs backend.ArchOps on a backend
// without them: it would run the model wrong or fail at the first token.
func checkArchOps(pl Placement, h *HParams) error {
	need := h.archOpsFeatures()
	if len(need) == 0 {
		return nil
	}
	bs := []backend.Backend{pl.Emb, pl.Out}
	for i := 0; i < h.NLayer; i++ {
		bs = append(bs, pl.Layer(i))
	}
	for _, b := range bs {
		if _, ok := b.(backend.ArchOps); !ok {
			return fmt.Errorf("model: the %s backend does not implement %s's %s yet (use the CPU)", b.Name(), h.Arch, strings.Join(need, ", "))
		}
	}
	return nil
}

// ops is b's backend.ArchOps; checkArchOps made sure it has them when the graph needs them.
func ops(b backend.Backend) backend.ArchOps { return b.(backend.ArchOps) }

// Close releases every live State; later calls of NewState, Forward and Release return
// ErrClosed. It waits for a forward pass in progress. The backends are the caller's to
// close.
func (m *Model) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := range m.states {
		s.release()
	}
	m.closed = true
}

// scratch is one backend's activations, maxBatch rows each, and its KV cache.
type scratch struct {
	x, xn, q, k, v, att, o, gate, up, ffn backend.Tensor
	cache                                 backend.KVCache
	// views of the first vn rows, kept so a decode step makes none (views allocate)
	vn                                              int
	vx, vxn, vq, vk, vv, vatt, vo, vgate, vup, vffn backend.Tensor
	seg                                             segViews   // of a batch of several sequences
	all                                             layerRows  // the rows of the whole batch (views above)
	grp                                             groupViews // a RowExact backend's groups of rows
}

// layerRows are the views of the rows a layer computes together.
type layerRows struct{ x, xn, q, k, v, att, o, gate, up, ffn backend.Tensor }

// rows are the views of rows [lo, hi) of the scratch, marked Singles when re is set.
func (sc *scratch) rows(b backend.Backend, re backend.RowExact, lo, hi int) layerRows {
	v := func(t backend.Tensor) backend.Tensor {
		t = b.View(t, lo, hi)
		if re != nil {
			t = re.Singles(t)
		}
		return t
	}
	return layerRows{v(sc.x), v(sc.xn), v(sc.q), v(sc.k), v(sc.v), v(sc.att), v(sc.o), v(sc.gate), v(sc.up), v(sc.ffn)}
}

// rowGroup is rows [lo, hi) of a batch that a RowExact backend computes apart from the
// others, as its own Forward would: one segment of several rows (a prompt chunk: the
// kernels its row count picks), or a run of one-row segments (decode tokens: each row
// as alone, Singles, the weights read once for the run).
type rowGroup struct {
	lo, hi int
	seg    int               // the segment of several rows; -1 for a run
	caches []backend.KVCache // a run's segments' caches, row by row
	rows   layerRows
}

// groupViews keeps the groups of one batch layout (the segments' rows and States), so
// the decode steps of one set of sequences make their views once.
type groupViews struct {
	segs   []segment
	groups []rowGroup
}

// rowGroups cuts segs into rowGroups on b, views and all.
func (sc *scratch) rowGroups(b backend.Backend, re backend.RowExact, segs []segment) []rowGroup {
	gv := &sc.grp
	same := len(gv.segs) == len(segs)
	for i := 0; same && i < len(segs); i++ {
		g, h := gv.segs[i], segs[i]
		same = g.st == h.st && g.lo == h.lo && g.hi == h.hi
	}
	if same {
		return gv.groups
	}
	gv.segs, gv.groups = append(gv.segs[:0], segs...), gv.groups[:0]
	for i := 0; i < len(segs); {
		if g := segs[i]; g.hi-g.lo > 1 {
			gv.groups = append(gv.groups, rowGroup{lo: g.lo, hi: g.hi, seg: i, rows: sc.rows(b, nil, g.lo, g.hi)})
			i++
			continue
		}
		gr := rowGroup{lo: segs[i].lo, seg: -1}
		for ; i < len(segs) && segs[i].hi-segs[i].lo == 1; i++ {
			gr.caches = append(gr.caches, segs[i].st.scr[b].cache)
			gr.hi = segs[i].hi
		}
		gr.rows = sc.rows(b, re, gr.lo, gr.hi)
		gv.groups = append(gv.groups, gr)
	}
	return gv.groups
}

// segment is one sequence's rows [lo, hi) of a batch: their K/V go to st's caches. seq
// is the sequence's index in ForwardSeqs' list; last says the rows end its tokens.
type segment struct {
	st     *State
	lo, hi int
	seq    int
	last   bool
}

// segViews keeps, for the batch layout (each segment's lo, hi), the views of each
// segment's rows of q, k, v and att, and those segLogits reads, so decode steps of one
// set of sequences make none after the first.
type segViews struct {
	layout             []int
	q, k, v, att       []backend.Tensor
	outRows            []int            // rows of x whose logits segLogits projects
	outX, outXn, outLg []backend.Tensor // row outRows[j] of x; row j of xn and of logits
	outXnAll, outLgAll backend.Tensor   // rows [0, len(outRows)) of xn and of logits
}

// segments returns the views of the segments' rows on b (sc is b's scratch).
func (sc *scratch) segments(b backend.Backend, segs []segment) *segViews {
	sv := &sc.seg
	same := len(sv.layout) == 2*len(segs)
	for i := 0; same && i < len(segs); i++ {
		same = sv.layout[2*i] == segs[i].lo && sv.layout[2*i+1] == segs[i].hi
	}
	if same {
		return sv
	}
	sv.layout, sv.q, sv.k, sv.v, sv.att = sv.layout[:0], sv.q[:0], sv.k[:0], sv.v[:0], sv.att[:0]
	for _, g := range segs {
		sv.layout = append(sv.layout, g.lo, g.hi)
		sv.q = append(sv.q, b.View(sc.q, g.lo, g.hi))
		sv.k = append(sv.k, b.View(sc.k, g.lo, g.hi))
		sv.v = append(sv.v, b.View(sc.v, g.lo, g.hi))
		sv.att = append(sv.att, b.View(sc.att, g.lo, g.hi))
	}
	return sv
}

func (sc *scratch) views(b backend.Backend, n int) {
	if sc.vn == n {
		return
	}
	sc.vn = n
	sc.vx, sc.vxn, sc.vq, sc.vk, sc.vv = b.View(sc.x, 0, n), b.View(sc.xn, 0, n), b.View(sc.q, 0, n), b.View(sc.k, 0, n), b.View(sc.v, 0, n)
	sc.vatt, sc.vo, sc.vgate, sc.vup, sc.vffn = b.View(sc.att, 0, n), b.View(sc.o, 0, n), b.View(sc.gate, 0, n), b.View(sc.up, 0, n), b.View(sc.ffn, 0, n)
}

// activations lists the scratch tensors that Activation allocated (not the views).
func (sc *scratch) activations() []backend.Tensor {
	return []backend.Tensor{sc.x, sc.xn, sc.q, sc.k, sc.v, sc.att, sc.o, sc.gate, sc.up, sc.ffn}
}

// State is one sequence's KV caches and scratch activations. A State is used by one
// goroutine at a time.
type State struct {
	m         *Model
	NCtx      int
	maxBatch  int
	scr       map[backend.Backend]*scratch // nil once released
	lastNorm  backend.Tensor
	logits    backend.Tensor
	logitsBuf []float32
	hostX     []float32 // moving activations between backends
	bs        []backend.Backend
	lastN     int            // n of the cached last-row view
	lastRow   backend.Tensor // row n-1 of the output backend's x
	lg        backend.Tensor // first row of logits
	self      [1]segment     // the one segment of this State's own Forward
	// a ForwardSeqs batch whose first sequence this State is: its rows' tokens and
	// positions (at most maxBatch) and segments
	batchTok, batchPos []int32
	batchSegs          []segment
	// ropeFactors divide RoPE's angles (nil: none): Llama 3.x's rope_freqs, or Phi-3's
	// long factors when the context exceeds the original one, else its short ones.
	ropeFactors []float32
}

// NewState allocates KV caches of nCtx positions (F16 unless f32KV) and scratch for
// batches of up to maxBatch tokens on every backend the model uses.
func (m *Model) NewState(nCtx, maxBatch int, f32KV bool) (*State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("model: %w", ErrClosed)
	}
	kvDim := m.NKVHead * m.HeadDim
	s := &State{m: m, NCtx: nCtx, maxBatch: maxBatch, scr: map[backend.Backend]*scratch{}}
	for _, b := range m.backends() {
		sc := &scratch{}
		sc.cache = b.NewKVCache(m.NLayer, nCtx, kvDim, !f32KV)
		sc.x = b.Activation(maxBatch, m.NEmbd)
		sc.xn = b.Activation(maxBatch, m.NEmbd)
		sc.q = b.Activation(maxBatch, m.QDim())
		sc.k = b.Activation(maxBatch, kvDim)
		sc.v = b.Activation(maxBatch, kvDim)
		sc.att = b.Activation(maxBatch, m.QDim())
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
	s.ropeFactors = m.W.RopeFreqs
	if m.HasRopeLongShort {
		s.ropeFactors = m.W.RopeShort
		if nCtx > m.NCtxOrig {
			s.ropeFactors = m.W.RopeLong
		}
	}
	for _, b := range s.bs {
		if err := b.Err(); err != nil {
			s.release()
			return nil, fmt.Errorf("model: %s backend: %w", b.Name(), err)
		}
	}
	m.states[s] = true
	return s, nil
}

// Release frees the State's KV caches and scratch (device memory too); using the
// State afterwards returns ErrClosed, as does a second Release.
func (s *State) Release() error {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.scr == nil {
		return fmt.Errorf("model state: %w", ErrClosed)
	}
	s.release()
	return nil
}

// release frees what NewState allocated, once the backends are done with it. The
// caller holds m.mu.
func (s *State) release() {
	for _, b := range s.bs {
		_ = b.Sync() // a dispatch error is the forward pass's to report
	}
	for b, sc := range s.scr {
		for _, t := range sc.activations() {
			b.Free(t)
		}
		b.FreeKVCache(sc.cache)
	}
	ob := s.m.W.OutB
	ob.Free(s.lastNorm)
	ob.Free(s.logits)
	*s = State{m: s.m, NCtx: s.NCtx}
	delete(s.m.states, s)
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

// Output says what Forward returns.
type Output int

const (
	LastLogits Output = iota // the logits of the last position
	AllLogits                // the logits of every position, row-major (n x vocab)
	Argmax                   // the id of the last position's largest logit, picked on the output backend
)

// Forward runs tokens at positions pos[i] through the model and returns the logits or
// the token id that out asks for. The logits of LastLogits are reused by the next call.
// Batches larger than the scratch size are split. ctx is checked between batches and
// between layers: a cancelled forward pass returns ctx.Err(), with the KV cache of the
// positions it reached written (the caller does not count them).
func (s *State) Forward(ctx context.Context, tokens, pos []int32, out Output) (_ []float32, _ int32, err error) {
	if len(tokens) == 0 || len(tokens) != len(pos) {
		return nil, 0, fmt.Errorf("model: forward of %d tokens with %d positions", len(tokens), len(pos))
	}
	if out < LastLogits || out > Argmax {
		return nil, 0, fmt.Errorf("model: forward output %d is not LastLogits, AllLogits or Argmax", out)
	}
	if err := s.checkInput(tokens, pos); err != nil {
		return nil, 0, fmt.Errorf("model: %w", err)
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.m.closed || s.scr == nil {
		return nil, 0, fmt.Errorf("model: %w", ErrClosed)
	}
	// GetRows and unrepacked weights read the file's pages (the CPU pool raises its
	// workers' faults here): a file truncated under the mapping is an error, not SIGBUS.
	defer s.m.file.CatchFault(&err, debug.SetPanicOnFault(true))
	ob := s.m.W.OutB
	var all []float32
	var tok int32
	for start := 0; start < len(tokens); start += s.maxBatch {
		end := min(len(tokens), start+s.maxBatch)
		last := end == len(tokens)
		s.self[0] = segment{st: s, hi: end - start, last: last}
		if err := s.forwardBatch(ctx, tokens[start:end], pos[start:end], s.self[:]); err != nil {
			return nil, 0, err
		}
		switch {
		case out == AllLogits:
			all = append(all, s.readLogits(end-start)...)
		case last && out == LastLogits:
			s.lastLogits(end - start)
			ob.Read(s.lg, s.logitsBuf)
		case last && out == Argmax:
			s.lastLogits(end - start)
			var err error
			if tok, err = ob.Argmax(s.lg); err != nil {
				return nil, 0, fmt.Errorf("model: %s backend: %w", ob.Name(), err)
			}
		}
		// Sync reports a failed dispatch of this batch before the next one builds on it.
		for _, b := range s.bs {
			if err := b.Sync(); err != nil {
				return nil, 0, fmt.Errorf("model: %s backend: %w", b.Name(), err)
			}
		}
	}
	switch out {
	case AllLogits:
		return all, 0, nil
	case Argmax:
		return nil, tok, nil
	}
	return s.logitsBuf, 0, nil
}

// checkInput checks a forward pass's token ids and positions against the vocabulary
// and the State's context.
func (s *State) checkInput(tokens, pos []int32) error {
	for i, p := range pos {
		if p < 0 || int(p) >= s.NCtx {
			return fmt.Errorf("position %d is outside the context of %d tokens", p, s.NCtx)
		}
		if t := tokens[i]; t < 0 || int(t) >= s.m.NVocab {
			return fmt.Errorf("token id %d is outside the vocabulary of %d", t, s.m.NVocab)
		}
	}
	return nil
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

// forwardBatch runs the transformer blocks over one batch in s's scratch, leaving the
// final hidden states in the output backend's x. The batch's rows are the segments'
// (one sequence's, or several's, each storing K/V in its own State's caches): every op
// but attention runs over all rows at once, attention over each segment's rows. One
// segment takes the fused NormAttention (CUDA's one-launch decode step).
func (s *State) forwardBatch(ctx context.Context, tokens, pos []int32, segs []segment) error {
	m := s.m
	n := len(tokens)
	cur := m.W.EmbB
	s.scr[cur].views(cur, n)
	cur.GetRows(s.scr[cur].vx, m.W.TokEmbd, tokens)
	a := m.ArchSpec
	if a.EmbedScale {
		ops(cur).Scale(s.scr[cur].vx, float32(math.Sqrt(float64(m.NEmbd))))
	}
	rope := backend.RopeParams{HeadDim: m.HeadDim, Dims: m.RopeDim, Base: m.RopeBase, NeoX: a.NeoX,
		Factors: s.ropeFactors}
	if m.RopeAttnFactor != 1 {
		rope.AttnFactor = m.RopeAttnFactor
	}
	ap := backend.AttentionParams{NHead: m.NHead, NKVHead: m.NKVHead, HeadDim: m.HeadDim,
		Scale: float32(1 / math.Sqrt(float64(m.HeadDim))), SoftCap: m.AttnSoftCap}
	var qScale float32
	if a.QueryScale != nil {
		qScale, ap.Scale = a.QueryScale(&m.HParams), 1
	}
	for li := range m.W.Layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		l := &m.W.Layers[li]
		b := l.B
		s.move(cur, b, n)
		cur = b
		sc := s.scr[b]
		sc.views(b, n)
		// attention
		ap.Layer = li
		ap.Window = 0
		if m.SlidingWindow > 0 && a.SlidingWindow != nil && a.SlidingWindow(li) {
			ap.Window = m.SlidingWindow
		}
		re, exact := b.(backend.RowExact)
		if exact && len(segs) > 1 { // each group of rows as its own Forward computes it
			for gi, gr := range sc.rowGroups(b, re, segs) {
				r := &sc.grp.groups[gi].rows
				qkv := s.qkv(l, r, qScale)
				switch {
				case gr.seg >= 0:
					b.NormAttention(r.att, r.x, l.AttnNorm, m.RMSEps, qkv, r.xn, segs[gr.seg].st.scr[b].cache, pos[gr.lo:gr.hi], rope, ap)
				case len(gr.caches) == 1:
					b.NormAttention(r.att, r.x, l.AttnNorm, m.RMSEps, qkv, r.xn, gr.caches[0], pos[gr.lo:gr.hi], rope, ap)
				default:
					re.NormAttentionSingles(r.att, r.x, l.AttnNorm, m.RMSEps, qkv, r.xn, gr.caches, pos[gr.lo:gr.hi], rope, ap)
				}
				s.outFFN(b, l, r)
			}
			continue
		}
		r := &sc.all
		*r = layerRows{sc.vx, sc.vxn, sc.vq, sc.vk, sc.vv, sc.vatt, sc.vo, sc.vgate, sc.vup, sc.vffn}
		qkv := s.qkv(l, r, qScale)
		if len(segs) == 1 {
			b.NormAttention(r.att, r.x, l.AttnNorm, m.RMSEps, qkv, r.xn, segs[0].st.scr[b].cache, pos, rope, ap)
		} else { // the composition, with attention per sequence (a GPU fuses one row only)
			backend.NormQKV(b, r.x, l.AttnNorm, m.RMSEps, qkv, r.xn, pos, rope, ap)
			sv := sc.segments(b, segs)
			for i, g := range segs {
				b.Attention(sv.att[i], sv.q[i], sv.k[i], sv.v[i], g.st.scr[b].cache, pos[g.lo:g.hi], ap)
			}
		}
		s.outFFN(b, l, r)
	}
	s.move(cur, m.W.OutB, n)
	return nil
}

// qkv is the layer's projection of r.x to r.q, r.k, r.v.
func (s *State) qkv(l *Layer, r *layerRows, qScale float32) backend.QKV {
	return backend.QKV{W: [3]backend.Tensor{l.Wq, l.Wk, l.Wv},
		Out: [3]backend.Tensor{r.q, r.k, r.v}, Bias: [3]backend.Tensor{l.Bq, l.Bk, l.Bv}, QScale: qScale}
}

// outFFN is the rest of a layer after attention over rows r: the output projection
// added to x, then the feed-forward block added to x.
func (s *State) outFFN(b backend.Backend, l *Layer, r *layerRows) {
	m, a := s.m, s.m.ArchSpec
	if l.PostAttnNorm != nil { // Gemma 2: x += RMSNorm(Wo att)
		b.MatMul(r.o, l.Wo, r.att)
		b.RMSNorm(r.xn, r.o, l.PostAttnNorm, m.RMSEps)
		b.Add(r.x, r.x, r.xn)
	} else {
		b.MatMulAdd(r.x, l.Wo, r.att, r.o)
	}
	if a.GELU { // Gemma 2: GELU-tanh gate
		b.NormMatMul([3]backend.Tensor{r.gate, r.up}, [3]backend.Tensor{l.Gate, l.Up}, r.x, l.FFNNorm, m.RMSEps, r.xn)
		ops(b).GeGLU(r.gate, r.gate, r.up)
	} else {
		b.NormSwiGLU(r.gate, l.Gate, l.Up, r.x, l.FFNNorm, m.RMSEps, r.xn, r.up)
	}
	if l.PostFFNorm != nil { // Gemma 2: x += RMSNorm(Wdown h)
		b.MatMul(r.ffn, l.Down, r.gate)
		b.RMSNorm(r.xn, r.ffn, l.PostFFNorm, m.RMSEps)
		b.Add(r.x, r.x, r.xn)
	} else {
		b.MatMulAdd(r.x, l.Down, r.gate, r.ffn)
	}
}

// readLogits projects all n positions of the batch and returns their logits (a new slice).
func (s *State) readLogits(n int) []float32 {
	m, ob := s.m, s.m.W.OutB
	s.scr[ob].views(ob, n)
	xn := s.scr[ob].vxn
	ob.RMSNorm(xn, s.scr[ob].vx, m.W.OutputNorm, m.RMSEps)
	logits := ob.View(s.logits, 0, n)
	ob.MatMul(logits, m.W.Output, xn)
	if m.FinalSoftCap != 0 {
		ops(ob).SoftCap(logits, m.FinalSoftCap)
	}
	out := make([]float32, n*m.NVocab)
	ob.Read(logits, out)
	return out
}

// lastLogits projects only the last of the batch's n positions, into s.lg.
func (s *State) lastLogits(n int) {
	m, ob := s.m, s.m.W.OutB
	if s.lastN != n || s.lastRow == nil {
		s.lastN, s.lastRow = n, ob.View(s.scr[ob].x, n-1, n)
	}
	ob.NormMatMul([3]backend.Tensor{s.lg}, [3]backend.Tensor{m.W.Output}, s.lastRow, m.W.OutputNorm, m.RMSEps, s.lastNorm)
	if m.FinalSoftCap != 0 {
		ops(ob).SoftCap(s.lg, m.FinalSoftCap)
	}
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
