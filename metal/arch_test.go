package metal_test

import (
	"strings"
	"testing"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/model/llama"
)

// TestRefuseArchitecturesWithoutKernels: metal (and cuda, which runs metal's backend)
// has no kernels yet for the ops of qwen2, phi3, gemma2 and Llama-3.x rope factors, so
// those models do not load on it, wholly or partly offloaded, with a one-line error;
// and the parameters it does not implement fail the backend instead of being ignored.
func TestRefuseArchitecturesWithoutKernels(t *testing.T) {
	b := simBackend(t)
	c := cpu.New(1)
	defer c.Close()
	for _, name := range []string{"arch-llama3-Q8_0", "arch-qwen2-F32", "arch-phi3-Q4_K_M", "arch-gemma2-Q8_0"} {
		for _, pl := range []llama.Placement{llama.All(b),
			{Layer: func(i int) backend.Backend { return map[bool]backend.Backend{true: b, false: c}[i == 1] }, Emb: c, Out: c}} {
			f := open(t, refdata.Path(t, "models", "arch", name+".gguf"))
			_, err := llama.LoadPlaced(pl, f)
			if err == nil || !strings.Contains(err.Error(), "the metal-sim backend does not implement") || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: %v, want a one-line refusal naming the metal backend", name, err)
			}
		}
	}
	if err := b.Err(); err != nil {
		t.Fatalf("a refused load failed the backend: %v", err)
	}
	x := b.Activation(1, 64)
	b.Rope(x, []int32{3}, backend.RopeParams{NHead: 2, HeadDim: 32, Dims: 32, Base: 10000, Factors: make([]float32, 16)})
	if err := b.Sync(); err == nil || !strings.Contains(err.Error(), "rope frequency factors") {
		t.Errorf("Rope with factors: %v, want an error", err)
	}
	b2 := simBackend(t)
	q, k := b2.Activation(1, 64), b2.Activation(1, 32)
	cache := b2.NewKVCache(1, 16, 32, true)
	b2.Attention(b2.Activation(1, 64), q, k, k, cache, []int32{0}, backend.AttentionParams{NHead: 2, NKVHead: 1, HeadDim: 32, Scale: 1, Window: 4})
	if err := b2.Sync(); err == nil || !strings.Contains(err.Error(), "sliding windows") {
		t.Errorf("Attention with a window: %v, want an error", err)
	}
}
