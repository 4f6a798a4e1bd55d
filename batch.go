package inferno

import (
	"context"
	"errors"
	"fmt"

	"github.com/inferno-go/inferno/model/llama"
)

// BatchItem is one session's part of an EvalBatch call.
type BatchItem struct {
	Session *Session
	Tokens  []int32   // appended to the session at its current length
	Logits  []float32 // out: the last position's logits (len = vocab); filled by EvalBatch
}

// BatchItemError is EvalBatch's refusal of one item, at Index in its list; it wraps the
// cause (ErrContextFull, ErrClosed, ...).
type BatchItemError struct {
	Index int
	Err   error
}

func (e *BatchItemError) Error() string { return fmt.Sprintf("batch item %d: %v", e.Index, e.Err) }
func (e *BatchItemError) Unwrap() error { return e.Err }

// EvalBatch evaluates several sessions' tokens in one forward pass: each item's tokens
// are appended to its session exactly as Session.Eval(ctx, item.Tokens) would append
// them, and item.Logits is set to the logits after its last token (written into the
// slice's array when it has room for the vocabulary, so a caller may reuse it). Items
// may mix prompt chunks and single decode tokens; the weights are read once for all of
// them as long as the tokens add up to at most the batch size (Options.BatchSize), and
// in further passes beyond it (on a GPU an item's tokens are cut only where Session.Eval
// cuts them, so a full batch beside decode tokens takes two passes). Each item's logits
// are bit-identical to those of Session.Eval of the same tokens on every backend.
//
// It is all or nothing: a refused item (a nil, closed or another model's session, one
// listed twice, no tokens, a token outside the vocabulary, or more tokens than its
// context has room for: ErrContextFull) is a *BatchItemError naming its index, returned
// before anything runs; no session changes, and the caller may drop that item and call
// again. A failed or cancelled pass (ctx is checked between layers; the error is ctx's)
// leaves every session holding what it held before. An empty list does nothing. The
// sessions must not be used by another goroutine during the call.
func (m *Model) EvalBatch(ctx context.Context, items []BatchItem) error {
	if len(items) == 0 {
		return nil
	}
	total := 0
	for i := range items {
		if err := m.checkItem(items, i); err != nil {
			return &BatchItemError{Index: i, Err: err}
		}
		total += len(items[i].Tokens)
	}
	seqs := make([]llama.Seq, len(items))
	pos := make([]int32, total) // every item's positions, each its session's length onward
	for i := range items {
		it := &items[i]
		p := pos[:len(it.Tokens):len(it.Tokens)]
		pos = pos[len(it.Tokens):]
		for j := range p {
			p[j] = int32(len(it.Session.tokens) + j)
		}
		seqs[i] = llama.Seq{State: it.Session.state, Tokens: it.Tokens, Pos: p, Logits: it.Logits}
	}
	if err := m.llm.ForwardSeqs(ctx, seqs); err != nil {
		return err
	}
	for i := range items {
		s := items[i].Session
		s.tokens = append(s.tokens, items[i].Tokens...)
		items[i].Logits = seqs[i].Logits
	}
	return nil
}

// checkItem says what is wrong with items[i], if anything.
func (m *Model) checkItem(items []BatchItem, i int) error {
	it := &items[i]
	s := it.Session
	switch {
	case s == nil:
		return errors.New("no session")
	case s.m != m:
		return errors.New("the session belongs to another model")
	case s.state == nil:
		return fmt.Errorf("session: %w", ErrClosed)
	case len(it.Tokens) == 0:
		return errors.New("no tokens")
	case len(s.tokens)+len(it.Tokens) > s.nCtx:
		return fmt.Errorf("%w: %d tokens in the session + %d new > context size %d", ErrContextFull, len(s.tokens), len(it.Tokens), s.nCtx)
	}
	for j := range i {
		if items[j].Session == s {
			return fmt.Errorf("the session of item %d again", j)
		}
	}
	for _, t := range it.Tokens {
		if t < 0 || int(t) >= m.llm.NVocab {
			return fmt.Errorf("token id %d is outside the vocabulary of %d", t, m.llm.NVocab)
		}
	}
	return nil
}
