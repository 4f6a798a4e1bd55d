package metal_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/model/llama"
)

// TestQminiLowBitIQOnSimulatedGPU: the low-bit i-quant qmini models (llama-quantize with
// the story importance matrix) give last-position logits within NMSE 2e-3 of the CPU
// backend's on the simulated GPU. A file with a tensor type the GPU has no decoder for
// yet is named and left out (IQ3_S and the other types being added alongside).
func TestQminiLowBitIQOnSimulatedGPU(t *testing.T) {
	gpu := simBackend(t)
	c := cpu.New(2)
	defer c.Close()
	prompt := []int32{1, 200, 300, 400, 10, 20, 30, 40, 50, 60}
	ran := 0
	for _, typ := range []string{"IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ1_S", "IQ1_M"} {
		name := "qmini-" + typ + "-imat"
		f := open(t, refdata.Path(t, "quant-research", name+".gguf"))
		waits := ""
		for _, ti := range f.Tensors {
			if ti.Type.Quantized() && !slices.Contains(metal.WeightTypes(), ti.Type) {
				waits = ti.Type.String()
			}
		}
		if waits != "" {
			t.Logf("%s: waits for GPU kernels of %s", name, waits)
			continue
		}
		mc, err := llama.Load(c, f)
		if err != nil {
			t.Fatal(err)
		}
		mg, err := llama.Load(gpu, f)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := greedy(t, mc, prompt, 1)
		got, _ := greedy(t, mg, prompt, 1)
		e := nmse(got, want)
		t.Logf("%s: NMSE %.3g", filepath.Base(name), e)
		if e > 2e-3 {
			t.Errorf("%s: NMSE %.3g > 2e-3", name, e)
		}
		ran++
	}
	if ran < 4 {
		t.Errorf("only %d of the 5 files ran", ran)
	}
}
