package llama_test

import (
	"testing"

	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/model/llama"
)

// TestDecodeAllocs: a decode step allocates nothing in steady state.
func TestDecodeAllocs(t *testing.T) {
	b := cpu.New(2)
	defer b.Close()
	m, f, err := llama.Open(b, refdata.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st := m.NewState(256, 8, false)
	tok, pos := []int32{1}, []int32{0}
	st.Forward(tok, pos, false) // warm up: scratch grows once
	allocs := testing.AllocsPerRun(50, func() {
		pos[0]++
		if _, err := st.Forward(tok, pos, false); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("%.1f allocations per decode step, want 0", allocs)
	}
}
