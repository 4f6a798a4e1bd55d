package metal_test

import (
	"testing"

	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/model/llama"
)

// TestLowBitQminiOnSimulatedGPU: every low-bit quant-research qmini file (llama-quantize
// with the story importance matrix: the i-quants and ternary types, with the K-quants
// llama-quantize mixes in) gives last-position logits within NMSE 2e-3 of the CPU
// backend's on the simulator, for both targets' kernel choices.
func TestLowBitQminiOnSimulatedGPU(t *testing.T) {
	sd := simBackend(t).Device().(*metal.SimDevice)
	c := cpu.New(2)
	defer c.Close()
	prompt := []int32{1, 200, 300, 400, 10, 20, 30, 40, 50, 60}
	for _, name := range []string{"IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XXS", "IQ3_XS", "IQ3_S", "IQ3_M", "TQ1_0", "TQ2_0"} {
		f := open(t, refdata.Path(t, "quant-research", "qmini-"+name+"-imat.gguf"))
		mc, err := llama.Load(c, f)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := greedy(t, mc, prompt, 2)
		for _, target := range []metal.Target{metal.TargetMetal, metal.TargetCUDA} {
			d := &recordingDevice{SimDevice: sd, kernels: map[string]bool{}, target: target}
			mg, err := llama.Load(metal.NewBackend(d), f)
			if err != nil {
				t.Fatalf("qmini-%s-imat: %v", name, err)
			}
			got, _ := greedy(t, mg, prompt, 2)
			e := nmse(got, want)
			t.Logf("qmini-%s-imat, target %d: NMSE %.3g", name, target, e)
			if e > 2e-3 {
				t.Errorf("qmini-%s-imat, target %d: NMSE %.3g > 2e-3", name, target, e)
			}
		}
	}
}
