package llama_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/model/llama"
	"github.com/inferno-go/inferno/tensor"
)

// TestDecodeAllocs: a decode step allocates nothing in steady state, on F32 weights and
// on every qmini file (each quantized type, so each kind of activation side data its
// kernels take); it names the weight types no file has.
func TestDecodeAllocs(t *testing.T) {
	paths := []string{refdata.Path(t, "models", "stories260K.gguf")}
	qmini, _ := filepath.Glob(filepath.Join(refdata.Path(t, "models", "qmini"), "qmini-*.gguf"))
	for _, p := range qmini {
		if !strings.Contains(filepath.Base(p), "-from") { // the same types from another master
			paths = append(paths, p)
		}
	}
	seen := map[tensor.DType]bool{}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b := cpu.New(2)
			defer b.Close()
			m, f, err := llama.Open(b, p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, ti := range f.Tensors {
				seen[ti.Type] = true
			}
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
	if len(paths) < 15 {
		t.Errorf("only %d model files", len(paths))
	}
	for _, dt := range tensor.WeightTypes() {
		if !seen[dt] {
			t.Logf("no model file has %s weights: its decode allocations are not checked", dt)
		}
	}
}
