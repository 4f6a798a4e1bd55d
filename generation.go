package inferno

import (
	"errors"
	"fmt"
	"strings"

	"github.com/inferno-go/inferno/sample"
	"github.com/inferno-go/inferno/tokenizer"
)

// Generation is the per-token part of one generation: sampling, the end-of-generation
// and token-budget checks, streaming detokenization and stop strings. Session.Generate
// drives one with its own forward passes; a server drives many, one per slot, from a
// batched forward pass. It holds no session: the caller evaluates what Next returns.
type Generation struct {
	tk      *tokenizer.Tokenizer
	opt     GenerateOptions
	greedy  bool
	smp     *sample.Sampler
	dec     *tokenizer.StreamDecoder
	text    strings.Builder // everything decoded so far
	emitted int             // bytes of text already passed to emit
	emit    func(text string) error
	res     *Result
}

// NewGeneration checks opt and starts a generation after prompt (recorded in the
// Result; the caller evaluates it). emit receives each piece of text as soon as it is
// complete UTF-8 and not part of a possible stop string; it may be nil.
func (m *Model) NewGeneration(prompt []int32, opt GenerateOptions, emit func(text string) error) (*Generation, error) {
	if len(prompt) == 0 {
		return nil, errors.New("generate: empty prompt")
	}
	if opt.MaxTokens < 0 {
		return nil, fmt.Errorf("generate: MaxTokens %d must be >= 0 (0: until the context is full)", opt.MaxTokens)
	}
	smp, err := sample.New(opt.Sampling)
	if err != nil {
		return nil, fmt.Errorf("sampling: %w", err)
	}
	return &Generation{tk: m.tokenizer, opt: opt, greedy: opt.Sampling.Greedy(), smp: smp,
		dec: m.tokenizer.NewStreamDecoder(), emit: emit,
		res: &Result{PromptTokens: append([]int32(nil), prompt...)}}, nil
}

// Greedy reports whether the next token is the argmax of the logits (temperature 0), so
// that a caller may have the backend pick it instead of reading the logits.
func (g *Generation) Greedy() bool { return g.greedy }

// Result is the generation so far; after Finish, the whole of it.
func (g *Generation) Result() *Result { return g.res }

// Next takes the model's output after the last evaluated token — its logits, or, when
// Greedy and logits is nil, the argmax picked by the backend — and history, the
// session's tokens (what the penalties see). room says whether the session can take
// one more token. It returns the token to evaluate next, or done with the Result's
// StopReason set. An error is emit's.
func (g *Generation) Next(logits []float32, argmax int32, history []int32, room bool) (tok int32, done bool, err error) {
	res := g.res
	if g.opt.MaxTokens > 0 && len(res.Tokens) >= g.opt.MaxTokens {
		res.StopReason = StopMaxTokens
		return 0, true, nil
	}
	switch {
	case !g.greedy:
		tok = g.smp.Sample(logits, history)
	case logits != nil:
		tok = sample.Argmax(logits)
	default:
		tok = argmax
	}
	if g.tk.IsEOG(tok) && !g.opt.IgnoreEOS {
		res.StopReason = StopEOS
		return 0, true, nil
	}
	res.Tokens = append(res.Tokens, tok)
	g.text.WriteString(g.dec.Next(tok))
	if i, ok := findStop(g.text.String(), g.opt.Stop); ok {
		full := g.text.String()[:i]
		g.text.Reset()
		g.text.WriteString(full)
		res.StopReason = StopString
		return 0, true, nil
	}
	if err := g.flush(false); err != nil {
		return 0, true, err
	}
	if !room {
		res.StopReason = StopContext
		return 0, true, nil
	}
	return tok, false, nil
}

// Cancel ends the generation as cancelled (the caller's context was).
func (g *Generation) Cancel() { g.res.StopReason = StopCancelled }

// Finish decodes what the stream decoder still holds (unless a stop string ended the
// text), emits the rest and returns the Result.
func (g *Generation) Finish() (*Result, error) {
	if g.res.StopReason != StopString {
		g.text.WriteString(g.dec.Flush())
	}
	g.res.Text = g.text.String()
	return g.res, g.flush(true)
}

// flush emits the text not yet emitted, holding back a possible stop string's start
// unless final.
func (g *Generation) flush(final bool) error {
	out := g.text.String()
	upto := len(out)
	if !final {
		upto -= holdBack(out[g.emitted:], g.opt.Stop)
	}
	if upto > g.emitted && g.emit != nil {
		if err := g.emit(out[g.emitted:upto]); err != nil {
			return err
		}
	}
	g.emitted = max(g.emitted, upto)
	return nil
}

func findStop(text string, stops []string) (int, bool) {
	best := -1
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best, best >= 0
}

// holdBack is the length of the longest suffix of text that is a proper prefix of a
// stop string: it must not be shown until we know whether the stop string follows.
func holdBack(text string, stops []string) int {
	n := 0
	for _, s := range stops {
		for k := min(len(s)-1, len(text)); k > n; k-- {
			if strings.HasSuffix(text, s[:k]) {
				n = k
				break
			}
		}
	}
	return n
}
