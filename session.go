package inferno

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/model/llama"
	"github.com/inferno-go/inferno/sample"
)

// ErrContextFull is returned when a prompt or generation would exceed the context.
var ErrContextFull = errors.New("context full")

// Session is one conversation: its KV cache and the tokens in it. A Session is used by
// one goroutine at a time; Close frees its memory.
type Session struct {
	m      *Model
	state  *llama.State // nil once closed
	nCtx   int
	tokens []int32 // tokens whose K/V are in the cache, in order
}

// NewSession allocates a KV cache of the model's context size.
func (m *Model) NewSession() (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("model: %w", ErrClosed)
	}
	st, err := m.llm.NewState(m.opts.ContextSize, m.opts.BatchSize, m.opts.F32KVCache)
	if err != nil {
		return nil, err
	}
	if m.gpu != nil && m.opts.Log != nil && !m.loggedSession {
		m.loggedSession = true
		fmt.Fprintf(m.opts.Log, "%s KV cache size = %s\n%s compute buffer size = %s\n",
			gpuPrefix(m.gpu), metal.MiB(m.gpu.KVBytes()), gpuPrefix(m.gpu), metal.MiB(m.gpu.ScratchBytes()))
	}
	return &Session{m: m, state: st, nCtx: st.NCtx}, nil
}

// Close frees the session's KV cache and scratch (on the GPU too). Afterwards the
// session's Eval, EvalAll, Generate and a second Close return ErrClosed.
func (s *Session) Close() error {
	if s.state == nil {
		return fmt.Errorf("session: %w", ErrClosed)
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	err := s.state.Release()
	s.state = nil
	return err
}

// Tokens returns the tokens in the session's cache.
func (s *Session) Tokens() []int32 { return s.tokens }

// Reset empties the session.
func (s *Session) Reset() { s.tokens = s.tokens[:0] }

// Truncate keeps the first n tokens; later positions are overwritten by what comes next.
func (s *Session) Truncate(n int) {
	if n < len(s.tokens) {
		s.tokens = s.tokens[:max(n, 0)]
	}
}

// ContextSize is the session's capacity in tokens.
func (s *Session) ContextSize() int { return s.nCtx }

// Eval appends tokens to the session and returns the logits after the last one (reused
// by the next call). Cancelling ctx stops it between layers with ctx's error; the
// session then holds what it held before.
func (s *Session) Eval(ctx context.Context, tokens []int32) ([]float32, error) {
	logits, _, err := s.eval(ctx, tokens, llama.LastLogits)
	return logits, err
}

// EvalAll is Eval returning the logits of every new position (row-major, n x vocab).
func (s *Session) EvalAll(ctx context.Context, tokens []int32) ([]float32, error) {
	logits, _, err := s.eval(ctx, tokens, llama.AllLogits)
	return logits, err
}

// eval appends tokens and returns what out asks for: the last or all logits, or the
// argmax of the last (on the GPU when the model's output head is there).
func (s *Session) eval(ctx context.Context, tokens []int32, out llama.Output) ([]float32, int32, error) {
	if s.state == nil {
		return nil, 0, fmt.Errorf("session: %w", ErrClosed)
	}
	if len(s.tokens)+len(tokens) > s.nCtx {
		return nil, 0, fmt.Errorf("%w: %d tokens in the session + %d new > context size %d", ErrContextFull, len(s.tokens), len(tokens), s.nCtx)
	}
	pos := make([]int32, len(tokens))
	for i := range pos {
		pos[i] = int32(len(s.tokens) + i)
	}
	logits, tok, err := s.state.Forward(ctx, tokens, pos, out)
	if err != nil {
		return nil, 0, err
	}
	s.tokens = append(s.tokens, tokens...)
	return logits, tok, nil
}

// GenerateOptions control one generation.
type GenerateOptions struct {
	MaxTokens int // 0: until the context is full
	Sampling  sample.Params
	Stop      []string // stop strings; the text stops before them
	IgnoreEOS bool
}

// StopReason says why a generation ended. Its values are stable strings (the CLI's
// JSON output carries them).
type StopReason string

// Stop reasons.
const (
	StopEOS       StopReason = "eos"          // an end-of-generation token
	StopMaxTokens StopReason = "max_tokens"   // GenerateOptions.MaxTokens reached
	StopString    StopReason = "stop_string"  // a stop string; the text ends before it
	StopCancelled StopReason = "cancelled"    // the context was cancelled
	StopContext   StopReason = "context_full" // the session's context is full
)

// Result describes a finished generation. Token counts are real tokens.
type Result struct {
	PromptTokens []int32
	Tokens       []int32 // generated tokens (an end-of-generation token is not included)
	Text         string
	StopReason   StopReason
	PromptTime   time.Duration
	GenTime      time.Duration
}

// PromptTokensPerSecond is prompt tokens processed per second.
func (r *Result) PromptTokensPerSecond() float64 {
	if r.PromptTime <= 0 {
		return 0
	}
	return float64(len(r.PromptTokens)) / r.PromptTime.Seconds()
}

// GenTokensPerSecond counts generated tokens over the time spent generating them.
func (r *Result) GenTokensPerSecond() float64 {
	if r.GenTime <= 0 {
		return 0
	}
	return float64(len(r.Tokens)) / r.GenTime.Seconds()
}

// Generate evaluates prompt (appended to the session) and samples tokens, calling emit
// with each piece of text as soon as it is complete UTF-8 and not part of a possible
// stop string. Cancelling ctx stops generation, the prompt's too (between layers): the
// Result is still returned, with StopCancelled and no error.
func (s *Session) Generate(ctx context.Context, prompt []int32, opt GenerateOptions, emit func(text string) error) (*Result, error) {
	g, err := s.m.NewGeneration(prompt, opt, emit)
	if err != nil {
		return nil, err
	}
	res := g.Result()
	want := llama.LastLogits
	if g.Greedy() {
		want = llama.Argmax
	}
	t0 := time.Now()
	logits, next, err := s.eval(ctx, prompt, want)
	res.PromptTime = time.Since(t0)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			res.StopReason = StopCancelled
			return res, nil
		}
		return res, err
	}
	t1 := time.Now()
	defer func() { res.GenTime = time.Since(t1) }()
	for {
		if ctx.Err() != nil {
			g.Cancel()
			break
		}
		tok, done, err := g.Next(logits, next, s.tokens, len(s.tokens) < s.nCtx)
		if err != nil {
			return res, err
		}
		if done {
			break
		}
		if logits, next, err = s.eval(ctx, []int32{tok}, want); err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				g.Cancel()
				break
			}
			return res, err
		}
	}
	return g.Finish()
}
