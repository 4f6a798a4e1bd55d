package inferno

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/metal/sim"
)

// batchPrompts are n prompts of different lengths (BOS, then seeded random ids), the
// longest longer than a batch of 16 so that a prompt straddles two passes.
func batchPrompts(n, vocab int) [][]int32 {
	r := rand.New(rand.NewPCG(uint64(n), 15))
	out := make([][]int32, n)
	for i := range out {
		p := []int32{1}
		for range 1 + (i*7)%23 {
			p = append(p, int32(3+r.IntN(vocab-3)))
		}
		out[i] = p
	}
	return out
}

func argmaxF(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

// soloRun is what each prompt gives alone through Session.Eval: the logits after the
// prompt and after each of steps greedy tokens, and those tokens.
func soloRun(t *testing.T, m *Model, prompts [][]int32, steps int) (logits [][][]float32, tokens [][]int32) {
	t.Helper()
	ctx := context.Background()
	for _, p := range prompts {
		s := newSession(t, m)
		lg, err := s.Eval(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var ls [][]float32
		var toks []int32
		for step := 0; ; step++ {
			ls = append(ls, slices.Clone(lg))
			if step == steps {
				break
			}
			tok := argmaxF(lg)
			toks = append(toks, tok)
			if lg, err = s.Eval(ctx, []int32{tok}); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		logits, tokens = append(logits, ls), append(tokens, toks)
	}
	return logits, tokens
}

// batchRun steps the prompts together through EvalBatch, greedy: session i joins at
// step i%4 (its prompt in the same call as the others' decode tokens) and runs steps
// tokens. check compares each result with the solo run's; a greedy token other than the
// solo run's fails the test.
func batchRun(t *testing.T, m *Model, prompts [][]int32, steps int, soloLogits [][][]float32, soloTokens [][]int32,
	check func(got, want []float32) error) {
	t.Helper()
	n := len(prompts)
	sess := make([]*Session, n)
	for i := range sess {
		sess[i] = newSession(t, m)
		defer sess[i].Close()
	}
	done := make([]int, n) // results compared so far (0: prompt not yet evaluated)
	var next []int32       // each session's next token
	next = make([]int32, n)
	for call := 0; ; call++ {
		var items []BatchItem
		var who []int
		for i := range prompts {
			switch {
			case call < i%4 || done[i] > steps:
			case done[i] == 0:
				items, who = append(items, BatchItem{Session: sess[i], Tokens: prompts[i]}), append(who, i)
			default:
				items, who = append(items, BatchItem{Session: sess[i], Tokens: []int32{next[i]}}), append(who, i)
			}
		}
		if len(items) == 0 {
			break
		}
		if err := m.EvalBatch(context.Background(), items); err != nil {
			t.Fatalf("call %d: %v", call, err)
		}
		for k, i := range who {
			step := done[i]
			if err := check(items[k].Logits, soloLogits[i][step]); err != nil {
				t.Fatalf("%d sessions, call %d, session %d (prompt of %d), step %d: %v", n, call, i, len(prompts[i]), step, err)
			}
			next[i] = argmaxF(items[k].Logits)
			if step < steps && next[i] != soloTokens[i][step] {
				t.Fatalf("%d sessions, session %d step %d: greedy token %d, alone %d", n, i, step, next[i], soloTokens[i][step])
			}
			done[i]++
		}
	}
	for i, s := range sess {
		if want := len(prompts[i]) + steps; len(s.Tokens()) != want {
			t.Errorf("session %d holds %d tokens, want %d", i, len(s.Tokens()), want)
		}
	}
}

func bitwise(got, want []float32) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d logits, want %d", len(got), len(want))
	}
	for j := range got {
		if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
			return fmt.Errorf("logit %d is %v batched, %v alone (not bit-identical)", j, got[j], want[j])
		}
	}
	return nil
}

// TestEvalBatchMatchesEval: 1 to 16 sessions with prompts of different lengths, joining
// at different steps (prompts beside decode tokens in one call) and stepped together
// greedily for 20 tokens through EvalBatch, give at every step the logits each session
// gives alone through Session.Eval: on the CPU bit for bit (every kernel gives a row the
// same sums in any batch for these files' types), with a batch of 16 tokens so that calls
// take several passes and a prompt straddles two.
func TestEvalBatchMatchesEval(t *testing.T) {
	const steps = 20
	for _, c := range []struct {
		file  []string
		batch int
		ns    []int
	}{
		{[]string{"models", "stories260K.gguf"}, 16, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
		{[]string{"models", "stories260K.gguf"}, 512, []int{1, 7, 16}},
		{[]string{"models", "qmini", "qmini-Q4_K_M.gguf"}, 16, []int{1, 5, 16}},
		{[]string{"models", "qmini", "qmini-Q8_0.gguf"}, 16, []int{1, 5, 16}},
		{[]string{"models", "qmini", "qmini-Q4_0.gguf"}, 16, []int{1, 5, 16}},
		{[]string{"models", "qmini", "qmini-Q5_K_M.gguf"}, 16, []int{1, 5, 16}},
	} {
		name := fmt.Sprintf("%s/batch%d", c.file[len(c.file)-1], c.batch)
		t.Run(name, func(t *testing.T) {
			m, err := Load(refdata.Path(t, c.file...), Options{Threads: 2, ContextSize: 64, BatchSize: c.batch})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			for _, n := range c.ns {
				prompts := batchPrompts(n, m.HParams().NVocab)
				lg, toks := soloRun(t, m, prompts, steps)
				batchRun(t, m, prompts, steps, lg, toks, bitwise)
			}
		})
	}
}

// TestEvalBatchGPU: the same on the simulated GPUs (metal-sim; cuda-sim through the
// Metal adapter), bit for bit. There a product's sums depend on its row count (on CUDA
// a pass of 8 rows or more multiplies on the tensor cores in bfloat16, a lone decode
// token takes the float32 matvec_fused), so the backend is a backend.RowExact: the decode
// rows of a batch run the one-token kernels (Singles), each prompt chunk the kernels of
// its own Forward. 10 and 12 sessions make calls of 9 or more decode rows beside a
// prompt chunk of 8 tokens or more.
func TestEvalBatchGPU(t *testing.T) {
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	for _, c := range []struct {
		backend string
		layers  int // 0: all on the GPU; else the first ones, the rest and the output on the CPU
		file    []string
		ns      []int // sessions (cuda-sim's tensor-core stand-in is slow)
	}{
		{"metal-sim", 0, []string{"models", "stories260K.gguf"}, []int{1, 3, 16}},
		{"metal-sim", 0, []string{"models", "qmini", "qmini-Q4_K_M.gguf"}, []int{1, 3, 16}},
		{"metal-sim", 2, []string{"models", "stories260K.gguf"}, []int{3, 9}},
		{"cuda-sim", 0, []string{"models", "stories260K.gguf"}, []int{3, 10, 12}},
	} {
		t.Run(fmt.Sprintf("%s/layers%d/%s", c.backend, c.layers, c.file[len(c.file)-1]), func(t *testing.T) {
			m, err := Load(refdata.Path(t, c.file...), Options{Threads: 2, ContextSize: 64, BatchSize: 16, Backend: c.backend, GPULayers: c.layers})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			for _, n := range c.ns {
				prompts := batchPrompts(n, m.HParams().NVocab)
				lg, toks := soloRun(t, m, prompts, 8)
				batchRun(t, m, prompts, 8, lg, toks, bitwise)
			}
		})
	}
}

// cancelAfter is a context whose Err turns to Canceled after n calls: a cancellation
// at a chosen layer of a chosen pass, without timing.
type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// TestEvalBatchRefusals: each refused item is named by its index, nothing runs and no
// session changes; the others then run as if the refused call never happened. A
// cancelled pass (before or inside) leaves every session as it was.
func TestEvalBatchRefusals(t *testing.T) {
	path := refdata.Path(t, "models", "stories260K.gguf")
	m, err := Load(path, Options{Threads: 2, ContextSize: 16, BatchSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	other, err := Load(path, Options{Threads: 1, ContextSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	a, b, full, closed := newSession(t, m), newSession(t, m), newSession(t, m), newSession(t, m)
	closed.Close()
	if _, err := full.Eval(ctx, []int32{1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}); err != nil {
		t.Fatal(err)
	}
	foreign := newSession(t, other)
	ok := func() []BatchItem {
		return []BatchItem{{Session: a, Tokens: []int32{1, 20, 21}}, {Session: b, Tokens: []int32{1, 30}}}
	}
	if err := m.EvalBatch(ctx, nil); err != nil {
		t.Errorf("empty list: %v", err)
	}
	for _, c := range []struct {
		name string
		item BatchItem
		is   error
	}{
		{"context overflow", BatchItem{Session: full, Tokens: []int32{40, 41, 42}}, ErrContextFull},
		{"closed session", BatchItem{Session: closed, Tokens: []int32{1}}, ErrClosed},
		{"nil session", BatchItem{Tokens: []int32{1}}, nil},
		{"another model's session", BatchItem{Session: foreign, Tokens: []int32{1}}, nil},
		{"duplicate", BatchItem{Session: a, Tokens: []int32{1}}, nil},
		{"no tokens", BatchItem{Session: full}, nil},
		{"token outside the vocabulary", BatchItem{Session: full, Tokens: []int32{int32(m.HParams().NVocab)}}, nil},
	} {
		err := m.EvalBatch(ctx, append(ok(), c.item))
		var ie *BatchItemError
		if !errors.As(err, &ie) || ie.Index != 2 || c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v, want a BatchItemError for item 2 wrapping %v", c.name, err, c.is)
		}
		if len(a.Tokens()) != 0 || len(b.Tokens()) != 0 || len(full.Tokens()) != 14 {
			t.Fatalf("%s: sessions changed: %d, %d, %d tokens", c.name, len(a.Tokens()), len(b.Tokens()), len(full.Tokens()))
		}
	}
	// cancelled before the pass, and at its third layer check
	for _, cctx := range []context.Context{&cancelAfter{ctx, 0}, &cancelAfter{ctx, 3}} {
		if err := m.EvalBatch(cctx, ok()); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v, want context.Canceled", err)
		}
		if len(a.Tokens()) != 0 || len(b.Tokens()) != 0 {
			t.Fatalf("cancelled: sessions changed: %d, %d tokens", len(a.Tokens()), len(b.Tokens()))
		}
	}
	// after all that, the same results as each alone
	items := ok()
	if err := m.EvalBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	for i, it := range items {
		s := newSession(t, m)
		want, err := s.Eval(ctx, it.Tokens)
		if err != nil {
			t.Fatal(err)
		}
		if err := bitwise(it.Logits, want); err != nil {
			t.Errorf("item %d after refusals and cancellations: %v", i, err)
		}
		s.Close()
	}
	// a caller's Logits array is written, not replaced
	buf := make([]float32, m.HParams().NVocab)
	items = []BatchItem{{Session: a, Tokens: []int32{22}, Logits: buf}}
	if err := m.EvalBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	if &items[0].Logits[0] != &buf[0] {
		t.Error("EvalBatch replaced a Logits slice that had room")
	}
}
