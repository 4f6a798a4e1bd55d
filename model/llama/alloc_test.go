package llama_test

import (
	"context"
	"testing"

	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/model/llama"
)

// TestDecodeAllocs: a decode step allocates nothing in steady state, on F32 weights and
// on quantized files whose kernels take each kind of activation side data (Q8_0 scales,
// Q8_1 d and s, Q8_K sums and group sums, none).
func TestDecodeAllocs(t *testing.T) {
	for _, p := range [][]string{
		{"models", "stories260K.gguf"},
		{"models", "qmini", "qmini-Q4_0.gguf"},
		{"models", "qmini", "qmini-Q4_1.gguf"},
		{"models", "qmini", "qmini-Q3_K_M.gguf"},
		{"models", "qmini", "qmini-Q4_K_M.gguf"},
		{"models", "qmini", "qmini-IQ4_XS.gguf"},
		{"models", "qmini", "qmini-F16.gguf"},
	} {
		t.Run(p[len(p)-1], func(t *testing.T) {
			b := cpu.New(2)
			defer b.Close()
			m, f, err := llama.Open(b, refdata.Path(t, p...))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st := newState(t, m, 256, 8, false)
			tok, pos := []int32{1}, []int32{0}
			ctx := context.Background()
			st.Forward(ctx, tok, pos, llama.LastLogits) // warm up: scratch grows once
			allocs := testing.AllocsPerRun(50, func() {
				pos[0]++
				if _, _, err := st.Forward(ctx, tok, pos, llama.LastLogits); err != nil {
					t.Fatal(err)
				}
			})
			if allocs > 0 {
				t.Errorf("%.1f allocations per decode step, want 0", allocs)
			}
		})
	}
}
