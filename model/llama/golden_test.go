package llama_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/model/llama"
)

// refgenOutput is the JSON refgen (llama.cpp) wrote for one model and prompt.
type refgenOutput struct {
	Model        string      `json:"model"`
	Prompt       string      `json:"prompt"`
	PromptIDs    []int32     `json:"prompt_ids"`
	LastLogits   []float32   `json:"last_logits"`
	GeneratedIDs []int32     `json:"generated_ids"`
	LogitsTop    [][]float64 `json:"last_logits_top"`
}

func loadRef(t *testing.T, path string) *refgenOutput {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r refgenOutput
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

// NMSE is Σ(a−b)² / Σb².
func NMSE(a, b []float32) float64 {
	var num, den float64
	for i := range b {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return num / den
}

func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

// greedy runs the prompt as one batch, then generates n tokens one at a time.
func greedy(t *testing.T, m *llama.Model, prompt []int32, n int) (first []float32, gen []int32) {
	st := m.NewState(len(prompt)+n+8, 512, false)
	pos := make([]int32, len(prompt))
	for i := range pos {
		pos[i] = int32(i)
	}
	logits, err := st.Forward(prompt, pos, false)
	if err != nil {
		t.Fatal(err)
	}
	first = append([]float32(nil), logits...)
	p := int32(len(prompt))
	for i := 0; i < n; i++ {
		tok := argmax(logits)
		gen = append(gen, tok)
		if logits, err = st.Forward([]int32{tok}, []int32{p}, false); err != nil {
			t.Fatal(err)
		}
		p++
	}
	return first, gen
}

func TestStoriesGolden(t *testing.T) {
	dir := refdata.Path(t, "reference")
	b := cpu.New(2)
	defer b.Close()
	for _, c := range []struct {
		model, pattern string
		maxNMSE        float64
		exactTokens    bool
	}{
		{"stories260K.gguf", "stories260K_[a-z]*_*.json", 1e-6, true},
		{"stories260K-Q4_K_M-mixed.gguf", "stories260K-Q4_K_M-mixed_*.json", 5e-4, false},
	} {
		m, f, err := llama.Open(b, refdata.Path(t, "models", c.model))
		if err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, c.pattern))
		if len(files) == 0 {
			t.Fatalf("no reference files %s", c.pattern)
		}
		for _, path := range files {
			ref := loadRef(t, path)
			if ref.LastLogits == nil {
				continue
			}
			logits, gen := greedy(t, m, ref.PromptIDs, len(ref.GeneratedIDs))
			e := NMSE(logits, ref.LastLogits)
			if e > c.maxNMSE {
				t.Errorf("%s: last-position logits NMSE %.3g > %.0g", filepath.Base(path), e, c.maxNMSE)
			}
			same := 0
			for same < len(gen) && gen[same] == ref.GeneratedIDs[same] {
				same++
			}
			t.Logf("%s: NMSE %.3g, %d/%d greedy tokens identical", filepath.Base(path), e, same, len(gen))
			if (c.exactTokens || ref.Prompt == "Once upon a time") && same != len(gen) {
				t.Errorf("%s: greedy tokens diverge at %d: got %v want %v", filepath.Base(path), same, gen, ref.GeneratedIDs)
			}
		}
		f.Close()
	}
	_ = math.Abs
}
