package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/inferno-go/inferno"
)

// errQueueFull refuses a request when the model's queue holds as many as it may.
var errQueueFull = errors.New("queue full")

// batchItem is one session's part of a step: its next tokens, and the logits after the
// last of them.
type batchItem = inferno.BatchItem

// evalBatch runs one step: every item's tokens through one forward pass of the model
// (Model.EvalBatch: the weights read once for all slots, attention per session).
func evalBatch(ctx context.Context, m *inferno.Model, items []batchItem) error {
	return m.EvalBatch(ctx, items)
}

// tokenLogprob is one generated token's log-probability under the model's
// distribution (the raw logits' softmax) and the most likely alternatives.
type tokenLogprob struct {
	Token   int32
	Logprob float64
	Top     []tokenAlt
}

type tokenAlt struct {
	Token   int32
	Logprob float64
}

// job is one generation request: what the handler submits and the scheduler fills.
// The scheduler never blocks on it: output accumulates under mu and notify wakes the
// handler.
type job struct {
	ctx      context.Context
	ids      []int32 // the whole prompt
	opt      inferno.GenerateOptions
	logprobs int // top alternatives per token; -1: no log-probabilities
	queued   time.Time

	notify chan struct{} // cap 1: something new under mu

	mu       sync.Mutex
	text     []string // pieces not yet taken by the handler
	lps      []tokenLogprob
	finished bool
	res      *inferno.Result
	err      error
	cached   int // prompt tokens found in the slot's cache (not evaluated)
	slot     int
	promptT  time.Duration
	genT     time.Duration
}

func newJob(ctx context.Context, ids []int32, opt inferno.GenerateOptions, logprobs int) *job {
	return &job{ctx: ctx, ids: ids, opt: opt, logprobs: logprobs, queued: time.Now(), notify: make(chan struct{}, 1), slot: -1}
}

func (j *job) wake() {
	select {
	case j.notify <- struct{}{}:
	default:
	}
}

func (j *job) emit(text string) error {
	j.mu.Lock()
	j.text = append(j.text, text)
	j.mu.Unlock()
	j.wake()
	return nil
}

// take returns the output since the last take and whether the job is finished (then
// res and err are final).
func (j *job) take() (text string, lps []tokenLogprob, finished bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, t := range j.text {
		text += t
	}
	j.text = j.text[:0]
	lps, j.lps = j.lps, nil
	return text, lps, j.finished
}

func (j *job) finish(res *inferno.Result, err error) {
	j.mu.Lock()
	j.res, j.err, j.finished = res, err, true
	j.mu.Unlock()
	j.wake()
}

// slot is one session of a model and the job it runs.
type slot struct {
	id      int
	sess    *inferno.Session
	logits  []float32
	job     *job
	gen     *inferno.Generation
	pending []int32 // prompt tokens still to evaluate
	// exact is how many of the session's first tokens hold what a run of them holds on
	// a RowCountDependent model: whole --batch chunks of the last prompt, evaluated
	// from a multiple of --batch (positions cut as run cuts them)
	exact   int
	next    int32 // the token to evaluate next once the prompt is in
	start   time.Time
	genAt   time.Time
	lastUse time.Time
}

// slotInfo is a slot as /inferno/status and /metrics show it.
type slotInfo struct {
	ID     int  `json:"id"`
	Busy   bool `json:"busy"`
	KVUsed int  `json:"kv_used"`
	KVSize int  `json:"kv_size"`
}

// engine runs one model: its slots, its bounded queue and the scheduler goroutine that
// steps every active slot through one batched evaluation at a time.
type engine struct {
	name  string
	m     *inferno.Model
	batch int
	slots []*slot
	queue chan *job
	stats *stats

	mu   sync.Mutex // guards info
	info []slotInfo
	// beforeStep, when set (by tests), runs in the scheduler before each step.
	beforeStep func()
}

func newEngine(name string, m *inferno.Model, parallel, queue, batch int, st *stats) (*engine, error) {
	e := &engine{name: name, m: m, batch: batch, queue: make(chan *job, queue), stats: st}
	vocab := m.Tokenizer().Len()
	for i := range parallel {
		s, err := m.NewSession()
		if err != nil {
			e.closeSessions()
			return nil, fmt.Errorf("model %s: slot %d of %d: %w", name, i, parallel, err)
		}
		e.slots = append(e.slots, &slot{id: i, sess: s, logits: make([]float32, vocab)})
		e.info = append(e.info, slotInfo{ID: i, KVSize: s.ContextSize()})
	}
	return e, nil
}

func (e *engine) closeSessions() {
	for _, s := range e.slots {
		s.sess.Close()
	}
}

// submit queues j, or refuses it when the queue is full.
func (e *engine) submit(j *job) error {
	select {
	case e.queue <- j:
		return nil
	default:
		return errQueueFull
	}
}

// slotsInfo is a copy of the slots' state after the last step.
func (e *engine) slotsInfo() []slotInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]slotInfo(nil), e.info...)
}

func (e *engine) publish() {
	e.mu.Lock()
	for i, s := range e.slots {
		e.info[i].Busy = s.job != nil
		e.info[i].KVUsed = len(s.sess.Tokens())
	}
	e.mu.Unlock()
}

// run is the scheduler: it admits queued jobs into free slots and steps the active
// ones until ctx is cancelled, then fails what is left.
func (e *engine) run(ctx context.Context) {
	for {
		e.admit(ctx)
		active := e.active()
		e.publish()
		if len(active) == 0 {
			select {
			case <-ctx.Done():
				e.drain()
				return
			case j := <-e.queue:
				e.assign(j)
			}
			continue
		}
		if ctx.Err() != nil {
			for _, s := range active {
				e.end(s, fmt.Errorf("the server is shutting down"))
			}
			e.drain()
			return
		}
		if e.beforeStep != nil {
			e.beforeStep()
		}
		e.step(ctx, active)
	}
}

// drain fails the queued jobs at shutdown.
func (e *engine) drain() {
	for {
		select {
		case j := <-e.queue:
			j.finish(nil, fmt.Errorf("the server is shutting down"))
		default:
			return
		}
	}
}

func (e *engine) active() []*slot {
	var a []*slot
	for _, s := range e.slots {
		if s.job != nil {
			a = append(a, s)
		}
	}
	return a
}

// admit moves queued jobs into free slots.
func (e *engine) admit(ctx context.Context) {
	for ctx.Err() == nil {
		free := false
		for _, s := range e.slots {
			free = free || s.job == nil
		}
		if !free {
			return
		}
		select {
		case j := <-e.queue:
			e.assign(j)
		default:
			return
		}
	}
}

// assign starts j on the free slot whose cache shares the longest prefix with its
// prompt (the least recently used on a tie), so a continued conversation evaluates
// only its new tokens.
func (e *engine) assign(j *job) {
	if err := j.ctx.Err(); err != nil {
		j.finish(nil, err)
		return
	}
	var best *slot
	bestCommon := -1
	for _, s := range e.slots {
		if s.job != nil {
			continue
		}
		c := commonPrefix(s.sess.Tokens(), j.ids)
		if c > bestCommon || (c == bestCommon && s.lastUse.Before(best.lastUse)) {
			best, bestCommon = s, c
		}
	}
	gen, err := e.m.NewGeneration(j.ids, j.opt, j.emit)
	if err != nil {
		j.finish(nil, err)
		return
	}
	// at least the last prompt token is evaluated: its logits pick the first token
	common := min(bestCommon, len(j.ids)-1)
	if e.m.RowCountDependent() { // on a GPU a reused prefix is exact only in run's chunks
		common = min(common, best.exact) / e.batch * e.batch
		best.exact = len(j.ids) / e.batch * e.batch
	}
	best.sess.Truncate(common)
	best.job, best.gen, best.pending = j, gen, j.ids[common:]
	best.start = time.Now()
	j.mu.Lock()
	j.cached, j.slot = common, best.id
	j.mu.Unlock()
}

func commonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// step evaluates, for every active slot, its next prompt chunk or its one next token
// in one call, then samples each slot's next token. A slot whose client has gone is
// freed before the evaluation.
func (e *engine) step(ctx context.Context, active []*slot) {
	items := make([]batchItem, 0, len(active))
	stepping := make([]*slot, 0, len(active))
	for _, s := range active {
		if s.job.ctx.Err() != nil {
			s.gen.Cancel()
			e.end(s, nil)
			continue
		}
		toks := []int32{s.next}
		if len(s.pending) > 0 {
			toks = s.pending[:min(len(s.pending), e.batch)]
		}
		items = append(items, batchItem{Session: s.sess, Tokens: toks, Logits: s.logits})
		stepping = append(stepping, s)
	}
	if len(items) == 0 {
		return
	}
	for {
		err := evalBatch(ctx, e.m, items)
		var refused *inferno.BatchItemError
		if errors.As(err, &refused) && refused.Index < len(items) {
			// one item refused (nothing ran, no session changed): end its job, run the rest
			i := refused.Index
			e.end(stepping[i], fmt.Errorf("evaluation refused: %w", refused.Err))
			items = append(items[:i], items[i+1:]...)
			stepping = append(stepping[:i], stepping[i+1:]...)
			if len(items) == 0 {
				return
			}
			continue
		}
		if err != nil {
			// a pass that failed leaves every session as it was before it
			for _, s := range stepping {
				e.end(s, fmt.Errorf("evaluation failed: %w", err))
			}
			return
		}
		break
	}
	for i, s := range stepping {
		if len(s.pending) > 0 {
			s.pending = s.pending[len(items[i].Tokens):]
			if len(s.pending) > 0 {
				continue
			}
			s.genAt = time.Now()
		}
		res := s.gen.Result()
		before := len(res.Tokens)
		tok, done, err := s.gen.Next(s.logits, 0, s.sess.Tokens(), len(s.sess.Tokens()) < s.sess.ContextSize())
		if s.job.logprobs >= 0 && len(res.Tokens) > before {
			lp := logprobsOf(s.logits, res.Tokens[len(res.Tokens)-1], s.job.logprobs)
			s.job.mu.Lock()
			s.job.lps = append(s.job.lps, lp)
			s.job.mu.Unlock()
		}
		switch {
		case err != nil:
			e.end(s, err)
		case done:
			e.end(s, nil)
		default:
			s.next = tok
		}
	}
}

// end finishes the slot's job (with err, or the generation's Result) and frees the
// slot; its session keeps its tokens for the next job to reuse.
func (e *engine) end(s *slot, err error) {
	j := s.job
	now := time.Now()
	if s.genAt.IsZero() || s.genAt.Before(s.start) {
		s.genAt = now // ended during the prompt
	}
	j.mu.Lock()
	j.promptT, j.genT = s.genAt.Sub(s.start), now.Sub(s.genAt)
	j.mu.Unlock()
	var res *inferno.Result
	if err == nil {
		res, err = s.gen.Finish()
		res.PromptTime, res.GenTime = j.promptT, j.genT
	}
	if err == nil && res.StopReason != inferno.StopCancelled {
		e.stats.record(e.name, len(j.ids)-j.cached, len(res.Tokens), j.promptT, j.genT)
	}
	j.finish(res, err)
	s.job, s.gen, s.pending, s.genAt, s.lastUse = nil, nil, nil, time.Time{}, now
}

// logprobsOf is tok's log-probability under softmax(logits) and the top n tokens'.
func logprobsOf(logits []float32, tok int32, n int) tokenLogprob {
	maxv := float64(logits[0])
	for _, v := range logits {
		maxv = math.Max(maxv, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - maxv)
	}
	logZ := maxv + math.Log(sum)
	lp := tokenLogprob{Token: tok, Logprob: float64(logits[tok]) - logZ}
	if n > 0 {
		top := make([]tokenAlt, 0, n+1)
		for i, v := range logits {
			if len(top) == n && float64(v) <= top[n-1].Logprob {
				continue
			}
			a := tokenAlt{Token: int32(i), Logprob: float64(v)}
			k := len(top)
			if k < n {
				top = append(top, a)
			} else {
				k = n - 1
				top[k] = a
			}
			for ; k > 0 && top[k].Logprob > top[k-1].Logprob; k-- {
				top[k], top[k-1] = top[k-1], top[k]
			}
		}
		for i := range top {
			top[i].Logprob -= logZ
		}
		lp.Top = top
	}
	return lp
}
