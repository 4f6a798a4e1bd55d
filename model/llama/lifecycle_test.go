package llama_test

import (
	"context"
	"errors"
	"testing"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/model/llama"
)

// counting wraps a backend: it counts RMSNorm calls (two per layer), calls onNorm after
// each, and counts allocations and frees.
type counting struct {
	backend.Backend
	norms          int
	onNorm         func(n int)
	acts, freed    int
	caches, cfreed int
}

func (c *counting) RMSNorm(dst, x, w backend.Tensor, eps float32) {
	c.Backend.RMSNorm(dst, x, w, eps)
	c.norms++
	if c.onNorm != nil {
		c.onNorm(c.norms)
	}
}

// The fused ops with a norm run their composition through c, so their RMSNorm counts.
func (c *counting) NormMatMul(dst, w [3]backend.Tensor, x, norm backend.Tensor, eps float32, xn backend.Tensor) {
	backend.NormMatMul(c, dst, w, x, norm, eps, xn)
}

func (c *counting) NormAttention(dst, x, norm backend.Tensor, eps float32, p backend.QKV, xn backend.Tensor,
	cache backend.KVCache, pos []int32, rope backend.RopeParams, ap backend.AttentionParams) {
	backend.NormAttention(c, dst, x, norm, eps, p, xn, cache, pos, rope, ap)
}

func (c *counting) NormSwiGLU(dst, gate, up, x, norm backend.Tensor, eps float32, xn, u backend.Tensor) {
	backend.NormSwiGLU(c, dst, gate, up, x, norm, eps, xn, u)
}

func (c *counting) Activation(rows, cols int) backend.Tensor {
	c.acts++
	return c.Backend.Activation(rows, cols)
}

func (c *counting) Free(t backend.Tensor) { c.freed++; c.Backend.Free(t) }

func (c *counting) NewKVCache(nLayer, nCtx, kvDim int, f16 bool) backend.KVCache {
	c.caches++
	return c.Backend.NewKVCache(nLayer, nCtx, kvDim, f16)
}

func (c *counting) FreeKVCache(kv backend.KVCache) { c.cfreed++; c.Backend.FreeKVCache(kv) }

func openCounting(t *testing.T) (*llama.Model, *counting) {
	t.Helper()
	b := cpu.New(2)
	t.Cleanup(b.Close)
	cb := &counting{Backend: b}
	m, f, err := llama.Open(cb, refdata.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return m, cb
}

// TestForwardCancel: cancelling during a multi-batch prompt stops at the next layer
// boundary with context.Canceled (counted in RMSNorm calls, not time), and the State
// still gives the right logits afterwards.
func TestForwardCancel(t *testing.T) {
	m, cb := openCounting(t)
	const nTok, batch = 64, 8 // 8 batches of the model's 5 layers
	toks, pos := make([]int32, nTok), make([]int32, nTok)
	for i := range toks {
		toks[i], pos[i] = int32(1+i*7%500), int32(i)
	}
	want, _, err := newState(t, m, nTok, batch, false).Forward(context.Background(), toks, pos, llama.LastLogits)
	if err != nil {
		t.Fatal(err)
	}
	want = append([]float32(nil), want...)

	st := newState(t, m, nTok, batch, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancelAt := 2*m.NLayer*2 + 2*2 + 1 // batch 3, layer 3, attention norm
	cb.norms = 0
	cb.onNorm = func(n int) {
		if n == cancelAt {
			cancel()
		}
	}
	_, _, err = st.Forward(ctx, toks, pos, llama.LastLogits)
	cb.onNorm = nil
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled forward: %v, want context.Canceled", err)
	}
	if after := cb.norms - cancelAt; after > 1 {
		t.Errorf("%d RMSNorm calls after the cancel, want at most 1 (the rest of the layer)", after)
	}
	// a cancelled context stops before the first layer
	cb.norms = 0
	if _, _, err := st.Forward(ctx, toks, pos, llama.LastLogits); !errors.Is(err, context.Canceled) || cb.norms != 0 {
		t.Errorf("forward with a cancelled context: %v after %d RMSNorm calls", err, cb.norms)
	}
	got, _, err := st.Forward(context.Background(), toks, pos, llama.LastLogits)
	if err != nil {
		t.Fatal(err)
	}
	if e := NMSE(got, want); e != 0 {
		t.Errorf("after a cancelled forward: logits NMSE %.3g, want 0", e)
	}
}

// TestForwardOutputs: the three outputs of one forward path agree.
func TestForwardOutputs(t *testing.T) {
	m, _ := openCounting(t)
	toks, pos := []int32{1, 403, 407, 261, 378}, []int32{0, 1, 2, 3, 4}
	ctx := context.Background()
	all, _, err := newState(t, m, 8, 2, false).Forward(ctx, toks, pos, llama.AllLogits)
	if err != nil || len(all) != len(toks)*m.NVocab {
		t.Fatalf("all logits: %v, %d values", err, len(all))
	}
	last, _, err := newState(t, m, 8, 2, false).Forward(ctx, toks, pos, llama.LastLogits)
	if err != nil {
		t.Fatal(err)
	}
	if e := NMSE(last, all[(len(toks)-1)*m.NVocab:]); e > 1e-12 {
		t.Errorf("last logits differ from the last row of all logits: NMSE %.3g", e)
	}
	logits, tok, err := newState(t, m, 8, 2, false).Forward(ctx, toks, pos, llama.Argmax)
	if err != nil || logits != nil || tok != argmax(last) {
		t.Errorf("argmax: %v, token %d, want %d (and no logits: %d)", err, tok, argmax(last), len(logits))
	}
	if _, _, err := newState(t, m, 8, 2, false).Forward(ctx, toks, pos, llama.Output(9)); err == nil {
		t.Error("output 9 accepted")
	}
}

// TestReleaseAndClose: Release frees everything NewState allocated; a released State,
// and every State after Model.Close, returns ErrClosed instead of touching freed memory.
func TestReleaseAndClose(t *testing.T) {
	m, cb := openCounting(t)
	ctx := context.Background()
	st := newState(t, m, 8, 4, false)
	if err := st.Release(); err != nil {
		t.Fatal(err)
	}
	if cb.freed != cb.acts || cb.cfreed != cb.caches {
		t.Errorf("Release freed %d of %d activations, %d of %d caches", cb.freed, cb.acts, cb.cfreed, cb.caches)
	}
	if _, _, err := st.Forward(ctx, []int32{1}, []int32{0}, llama.LastLogits); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("forward after Release: %v", err)
	}
	if err := st.Release(); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("second Release: %v", err)
	}

	a, b := newState(t, m, 8, 4, false), newState(t, m, 8, 4, true)
	if _, _, err := a.Forward(ctx, []int32{1}, []int32{0}, llama.Argmax); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if cb.freed != cb.acts || cb.cfreed != cb.caches {
		t.Errorf("Close freed %d of %d activations, %d of %d caches", cb.freed, cb.acts, cb.cfreed, cb.caches)
	}
	for _, s := range []*llama.State{a, b} {
		if _, _, err := s.Forward(ctx, []int32{1}, []int32{1}, llama.LastLogits); !errors.Is(err, llama.ErrClosed) {
			t.Errorf("forward after Close: %v", err)
		}
		if err := s.Release(); !errors.Is(err, llama.ErrClosed) {
			t.Errorf("Release after Close: %v", err)
		}
	}
	if _, err := m.NewState(8, 4, false); !errors.Is(err, llama.ErrClosed) {
		t.Errorf("NewState after Close: %v", err)
	}
}
