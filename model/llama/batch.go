package llama

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/inferno-go/inferno/backend"
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
// with LastLogits, bit for bit: on the CPU every kernel gives a row the same sums in any
// batch; on a backend.RowExact (the GPUs) the one-token sequences' rows run as Singles
// and each longer piece apart, with the kernels its own Forward picks.
//
// The batch runs in the first sequence's scratch: rows beyond its batch size go to
// further passes (on the CPU a sequence may straddle two; on a RowExact backend a
// sequence is cut only where its own Forward cuts it: forwardSeqsExact), so a caller
// that wants the weights read once keeps the total at or under that size. Errors name the sequence by its index in
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
	if owner.rowExact() {
		return owner.forwardSeqsExact(ctx, seqs)
	}
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
		if err := owner.pass(ctx, tok, pos, segs, seqs); err != nil {
			return err
		}
	}
	return nil
}

// pass runs one batch of ForwardSeqs and reads the logits of the sequences it ends.
func (s *State) pass(ctx context.Context, tok, pos []int32, segs []segment, seqs []Seq) error {
	s.batchTok, s.batchPos, s.batchSegs = tok, pos, segs
	if err := s.forwardBatch(ctx, tok, pos, segs); err != nil {
		return err
	}
	s.segLogits(segs, seqs)
	for _, b := range s.bs {
		if err := b.Sync(); err != nil {
			return fmt.Errorf("model: %s backend: %w", b.Name(), err)
		}
	}
	return nil
}

// RowCountDependent says whether one of the model's backends gives a row of a product
// sums that depend on how many rows the call has (backend.RowExact: the GPUs). There a
// sequence's results equal its own Forward's only where its tokens were cut into the
// same batches: a cached prefix is exact up to the last whole batch of its prompt.
func (m *Model) RowCountDependent() bool { return anyRowExact(m.backends()) }

// rowExact is RowCountDependent for the State's backends (the model's).
func (s *State) rowExact() bool { return anyRowExact(s.bs) }

func anyRowExact(bs []backend.Backend) bool {
	for _, b := range bs {
		if _, ok := b.(backend.RowExact); ok {
			return true
		}
	}
	return false
}

// forwardSeqsExact is ForwardSeqs on a RowExact backend. Each sequence is cut where its
// own Forward cuts it (every maxBatch tokens of its State) and a piece is never split
// between passes: a piece that does not fit in the pass's room starts the next pass (so
// a step with a full prompt chunk beside decode tokens takes two passes). The one-token
// sequences come first, so that their rows form one run (rowGroups). A piece longer
// than the owner's batch size (a State with a larger one) is cut at it.
func (owner *State) forwardSeqsExact(ctx context.Context, seqs []Seq) error {
	tok, pos, segs := owner.batchTok[:0], owner.batchPos[:0], owner.batchSegs[:0]
	for _, single := range []bool{true, false} {
		for si := range seqs {
			q := &seqs[si]
			if (len(q.Tokens) == 1) != single {
				continue
			}
			for off := 0; off < len(q.Tokens); {
				n := min(len(q.Tokens)-off, q.State.maxBatch)
				if len(tok)+n > owner.maxBatch && len(tok) > 0 {
					if err := owner.pass(ctx, tok, pos, segs, seqs); err != nil {
						return err
					}
					tok, pos, segs = owner.batchTok[:0], owner.batchPos[:0], owner.batchSegs[:0]
				}
				n = min(n, owner.maxBatch)
				g := segment{st: q.State, lo: len(tok), hi: len(tok) + n, seq: si, last: off+n == len(q.Tokens)}
				segs = append(segs, g)
				tok = append(tok, q.Tokens[off:off+n]...)
				pos = append(pos, q.Pos[off:off+n]...)
				off += n
			}
		}
	}
	if len(tok) > 0 {
		return owner.pass(ctx, tok, pos, segs, seqs)
	}
	return nil
}

// segLogits projects the last row of each segment that ends its sequence, all in one
// product, and reads each into its Seq's Logits.
func (s *State) segLogits(segs []segment, seqs []Seq) {
	m, ob := s.m, s.m.W.OutB
	if re, ok := ob.(backend.RowExact); ok {
		s.segLogitsExact(re, segs, seqs)
		return
	}
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

// segLogitsExact is segLogits on a RowExact output backend: each projected row gets the
// bits of its own Forward's lastLogits (NormMatMul of that row alone): a run of
// one-token segments that end their sequences as Singles rows, in one product; the last
// row of a longer segment alone. Row i's logits go to row i of s.logits.
func (s *State) segLogitsExact(re backend.RowExact, segs []segment, seqs []Seq) {
	m, ob := s.m, s.m.W.OutB
	sc := s.scr[ob]
	project := func(lo, hi int, singles bool) {
		x, xn, lg := ob.View(sc.x, lo, hi), ob.View(sc.xn, lo, hi), ob.View(s.logits, lo, hi)
		if singles {
			x, xn = re.Singles(x), re.Singles(xn)
		}
		ob.NormMatMul([3]backend.Tensor{lg}, [3]backend.Tensor{m.W.Output}, x, m.W.OutputNorm, m.RMSEps, xn)
		if m.FinalSoftCap != 0 {
			ops(ob).SoftCap(lg, m.FinalSoftCap)
		}
	}
	for i := 0; i < len(segs); {
		g := segs[i]
		switch {
		case !g.last:
			i++
		case g.hi-g.lo > 1:
			project(g.hi-1, g.hi, false)
			i++
		default:
			j := i
			for j < len(segs) && segs[j].last && segs[j].hi-segs[j].lo == 1 && segs[j].lo == segs[i].lo+(j-i) {
				j++
			}
			project(segs[i].lo, segs[j-1].hi, true)
			i = j
		}
	}
	for _, g := range segs {
		if g.last {
			ob.Read(ob.View(s.logits, g.hi-1, g.hi), seqs[g.seq].Logits)
		}
	}
}
