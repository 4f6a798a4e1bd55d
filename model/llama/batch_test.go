package llama_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/model/llama"
)

// passCounting counts the weight products and attention calls of a backend, the fused
// ops composed through it so that theirs count too.
type passCounting struct {
	backend.Backend
	matmuls, attentions int
}

func (c *passCounting) MatMul(dst, w, x backend.Tensor) { c.matmuls++; c.Backend.MatMul(dst, w, x) }
func (c *passCounting) Attention(dst, q, k, v backend.Tensor, cache backend.KVCache, pos []int32, p backend.AttentionParams) {
	c.attentions++
	c.Backend.Attention(dst, q, k, v, cache, pos, p)
}
func (c *passCounting) NormMatMul(dst, w [3]backend.Tensor, x, norm backend.Tensor, eps float32, xn backend.Tensor) {
	backend.NormMatMul(c, dst, w, x, norm, eps, xn)
}
func (c *passCounting) NormAttention(dst, x, norm backend.Tensor, eps float32, p backend.QKV, xn backend.Tensor,
	cache backend.KVCache, pos []int32, rope backend.RopeParams, ap backend.AttentionParams) {
	backend.NormAttention(c, dst, x, norm, eps, p, xn, cache, pos, rope, ap)
}
func (c *passCounting) NormSwiGLU(dst, gate, up, x, norm backend.Tensor, eps float32, xn, u backend.Tensor) {
	backend.NormSwiGLU(c, dst, gate, up, x, norm, eps, xn, u)
}
func (c *passCounting) MatMulAdd(dst, w, x, tmp backend.Tensor) { backend.MatMulAdd(c, dst, w, x, tmp) }

// TestForwardSeqsReadsWeightsOnce: sequences stepped together make the weight products
// of one sequence's step (7 a layer and the output's), attention once per sequence and
// layer; beyond the first State's batch size the rows take further passes.
func TestForwardSeqsReadsWeightsOnce(t *testing.T) {
	b := cpu.New(2)
	t.Cleanup(b.Close)
	cb := &passCounting{Backend: b}
	m, f, err := llama.Open(cb, refdata.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const batch = 8
	sts := []*llama.State{newState(t, m, 32, batch, false), newState(t, m, 32, batch, false), newState(t, m, 32, batch, false)}
	perPass := 7*m.NLayer + 1
	for _, c := range []struct {
		name             string
		lens             []int
		passes, attCalls int
	}{
		{"one decode token", []int{1}, 1, 1 * m.NLayer},
		{"three decode tokens", []int{1, 1, 1}, 1, 3 * m.NLayer},
		{"a prompt beside two decode tokens", []int{1, 5, 1}, 1, 3 * m.NLayer},
		// 12 rows in passes of 8: sequence 1 straddles them
		{"two passes", []int{6, 5, 1}, 2, 4 * m.NLayer},
	} {
		seqs := make([]llama.Seq, len(c.lens))
		for i, n := range c.lens {
			seqs[i] = llama.Seq{State: sts[i], Tokens: make([]int32, n), Pos: make([]int32, n)}
			for j := range n {
				seqs[i].Tokens[j], seqs[i].Pos[j] = int32(1+7*j+i), int32(j)
			}
		}
		cb.matmuls, cb.attentions = 0, 0
		if err := m.ForwardSeqs(context.Background(), seqs); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if cb.matmuls != c.passes*perPass || cb.attentions != c.attCalls {
			t.Errorf("%s: %d products and %d attention calls, want %d and %d", c.name, cb.matmuls, cb.attentions, c.passes*perPass, c.attCalls)
		}
		for i := range seqs {
			if len(seqs[i].Logits) != m.NVocab {
				t.Errorf("%s: sequence %d has %d logits, want %d", c.name, i, len(seqs[i].Logits), m.NVocab)
			}
		}
	}
}

// TestForwardSeqsRefusals: a bad sequence is named by its index, and nothing runs.
func TestForwardSeqsRefusals(t *testing.T) {
	m, cb := openCounting(t)
	other, _ := openCounting(t)
	a, b := newState(t, m, 16, 8, false), newState(t, m, 16, 8, false)
	released := newState(t, m, 16, 8, false)
	released.Release()
	foreign := newState(t, other, 16, 8, false)
	ok := llama.Seq{State: a, Tokens: []int32{1}, Pos: []int32{0}}
	for _, c := range []struct {
		seq  llama.Seq
		want string
	}{
		{llama.Seq{Tokens: []int32{1}, Pos: []int32{0}}, "sequence 1 has no state"},
		{llama.Seq{State: foreign, Tokens: []int32{1}, Pos: []int32{0}}, "sequence 1's state belongs to another model"},
		{llama.Seq{State: b, Tokens: []int32{1, 2}, Pos: []int32{0}}, "sequence 1: forward of 2 tokens with 1 positions"},
		{llama.Seq{State: b}, "sequence 1: forward of 0 tokens"},
		{llama.Seq{State: b, Tokens: []int32{1}, Pos: []int32{16}}, "sequence 1: position 16 is outside the context of 16"},
		{llama.Seq{State: b, Tokens: []int32{int32(m.NVocab)}, Pos: []int32{0}}, "sequence 1: token id 512 is outside the vocabulary"},
		{llama.Seq{State: a, Tokens: []int32{1}, Pos: []int32{1}}, "sequences 0 and 1 have the same state"},
		{llama.Seq{State: released, Tokens: []int32{1}, Pos: []int32{0}}, "sequence 1: closed"},
	} {
		cb.norms = 0
		err := m.ForwardSeqs(context.Background(), []llama.Seq{ok, c.seq})
		if err == nil || !strings.Contains(err.Error(), c.want) || cb.norms != 0 {
			t.Errorf("%v after %d norms, want an error containing %q before any", err, cb.norms, c.want)
		}
		if strings.Contains(c.want, "closed") && !errors.Is(err, llama.ErrClosed) {
			t.Errorf("%v does not wrap ErrClosed", err)
		}
	}
	if err := m.ForwardSeqs(context.Background(), nil); err != nil {
		t.Errorf("no sequences: %v", err)
	}
}
