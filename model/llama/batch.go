package llama

import (
	"context"
	"fmt"
	"runtime/debug"
)

// Seq is one sequence's part of a ForwardSeqs batch.
type Seq struct {
	State  *State
	Tokens []int32
	Pos    []int32 // Tokens[i]'s position
	// Logits is set to the logits of the last token (NVocab floats), written into this
	// slice's array when it has the room, else into a new one.
	Logits []float32
}

// ForwardSeqs runs the tokens of several sequences (distinct States of m) through the
// model as one batch: the products, norms, RoPE and adds over all their rows at once,
// so the weights are read once for every sequence, and attention over each sequence's
// rows with its own KV cache. Each sequence's results are those of its own Forward
// with LastLogits (on the CPU, bit for bit, where the weight type's kernels give a row
// the same sums in any batch; docs/architecture.md).
//
// The batch runs in the first sequence's scratch: rows beyond its batch size go to
// further passes (a sequence may straddle two), so a caller that wants the weights read
// once keeps the total at or under that size. Errors name the sequence by its index in
// seqs; a cancelled ctx stops the pass between layers with ctx.Err(), the caches of the
// positions it reached written (the callers do not count them).
func (m *Model) ForwardSeqs(ctx context.Context, seqs []Seq) (err error) {
	if len(seqs) == 0 {
		return nil
	}
	for i := range seqs {
		q := &seqs[i]
		switch {
		case q.State == nil:
			return fmt.Errorf("model: sequence %d has no state", i)
		case q.State.m != m:
			return fmt.Errorf("model: sequence %d's state belongs to another model", i)
		case len(q.Tokens) == 0 || len(q.Tokens) != len(q.Pos):
			return fmt.Errorf("model: sequence %d: forward of %d tokens with %d positions", i, len(q.Tokens), len(q.Pos))
		}
		if err := q.State.checkInput(q.Tokens, q.Pos); err != nil {
			return fmt.Errorf("model: sequence %d: %w", i, err)
		}
		for j := range i {
			if seqs[j].State == q.State {
				return fmt.Errorf("model: sequences %d and %d have the same state", j, i)
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("model: %w", ErrClosed)
	}
	for i := range seqs {
		if seqs[i].State.scr == nil {
			return fmt.Errorf("model: sequence %d: %w", i, ErrClosed)
		}
	}
	owner := seqs[0].State
	for i := range seqs {
		// RoPE runs over all rows with the owner's factors (Phi-3's depend on the context)
		if f := seqs[i].State.ropeFactors; !sameFloats(f, owner.ropeFactors) {
			return fmt.Errorf("model: sequence %d's RoPE factors differ from sequence 0's (contexts %d and %d)", i, seqs[i].State.NCtx, owner.NCtx)
		}
		if q := &seqs[i]; cap(q.Logits) < m.NVocab {
			q.Logits = make([]float32, m.NVocab)
		} else {
			q.Logits = q.Logits[:m.NVocab]
		}
	}
	defer m.file.CatchFault(&err, debug.SetPanicOnFault(true))
	// the rows in order, cut into batches of the owner's scratch size
	si, off := 0, 0 // the next row is seqs[si].Tokens[off]
	for si < len(seqs) {
		tok, pos, segs := owner.batchTok[:0], owner.batchPos[:0], owner.batchSegs[:0]
		for si < len(seqs) && len(tok) < owner.maxBatch {
			q := &seqs[si]
			take := min(len(q.Tokens)-off, owner.maxBatch-len(tok))
			g := segment{st: q.State, lo: len(tok), hi: len(tok) + take, seq: si, last: off+take == len(q.Tokens)}
			segs = append(segs, g)
			tok = append(tok, q.Tokens[off:off+take]...)
			pos = append(pos, q.Pos[off:off+take]...)
			if off += take; g.last {
				si, off = si+1, 0
			}
		}
		owner.batchTok, owner.batchPos, owner.batchSegs = tok, pos, segs
		if err := owner.forwardBatch(ctx, tok, pos, segs); err != nil {
			return err
		}
		owner.segLogits(segs, seqs)
		for _, b := range owner.bs {
			if err := b.Sync(); err != nil {
				return fmt.Errorf("model: %s backend: %w", b.Name(), err)
			}
		}
	}
	return nil
}

// segLogits projects the last row of each segment that ends its sequence, all in one
// product, and reads each into its Seq's Logits.
func (s *State) segLogits(segs []segment, seqs []Seq) {
	m, ob := s.m, s.m.W.OutB
	sc := s.scr[ob]
	sv := &sc.seg
	k := 0
	same := true
	for _, g := range segs {
		if g.last {
			same = same && k < len(sv.outRows) && sv.outRows[k] == g.hi-1
			k++
		}
	}
	if k == 0 {
		return
	}
	if !same || k != len(sv.outRows) {
		sv.outRows, sv.outX, sv.outXn, sv.outLg = sv.outRows[:0], sv.outX[:0], sv.outXn[:0], sv.outLg[:0]
		for _, g := range segs {
			if g.last {
				j := len(sv.outRows)
				sv.outRows = append(sv.outRows, g.hi-1)
				sv.outX = append(sv.outX, ob.View(sc.x, g.hi-1, g.hi))
				sv.outXn = append(sv.outXn, ob.View(sc.xn, j, j+1))
				sv.outLg = append(sv.outLg, ob.View(s.logits, j, j+1))
			}
		}
		sv.outXnAll, sv.outLgAll = ob.View(sc.xn, 0, k), ob.View(s.logits, 0, k)
	}
	// RMSNorm row by row gathers the last rows into the first k rows of xn
	for j := range k {
		ob.RMSNorm(sv.outXn[j], sv.outX[j], m.W.OutputNorm, m.RMSEps)
	}
	ob.MatMul(sv.outLgAll, m.W.Output, sv.outXnAll)
	if m.FinalSoftCap != 0 {
		ops(ob).SoftCap(sv.outLgAll, m.FinalSoftCap)
	}
	j := 0
	for _, g := range segs {
		if g.last {
			ob.Read(sv.outLg[j], seqs[g.seq].Logits)
			j++
		}
	}
}

// sameFloats says whether a and b are the same slice (RoPE factors are the model's).
func sameFloats(a, b []float32) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
