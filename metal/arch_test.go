package metal_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/model/llama"
)

// TestArchModelsOnSimulatedGPU: every file of refdata/models/arch (qwen2, phi3, gemma2,
// Llama 3.x rope_freqs) on the simulated GPU — all layers, two layers offloaded, and
// with the kernels the backend picks for CUDA — gives the CPU backend's last-position
// logits within NMSE 2e-3, after the 21-token prompt (past gemma2's 8-token window in
// the prompt batch) and after each of 12 decode steps of the same tokens.
func TestArchModelsOnSimulatedGPU(t *testing.T) {
	gpu := simBackend(t)
	sd := gpu.Device().(*metal.SimDevice)
	cudaLike := metal.NewBackend(&recordingDevice{SimDevice: sd, kernels: map[string]bool{}, target: metal.TargetCUDA})
	c := cpu.New(2)
	defer c.Close()
	models, _ := filepath.Glob(refdata.Path(t, "models", "arch", "arch-*.gguf"))
	if len(models) < 13 {
		t.Fatalf("found only %d arch models", len(models))
	}
	// "The little dog ran to the park and saw a big red ball."
	prompt := []int32{1, 291, 376, 400, 428, 352, 303, 267, 265, 282, 295, 433, 269, 394, 261, 370, 352, 266, 268, 388, 426}
	for _, p := range models {
		name := strings.TrimSuffix(filepath.Base(p), ".gguf")
		f := open(t, p)
		mc, err := llama.Load(c, f)
		if err != nil {
			t.Fatal(err)
		}
		placements := map[string]llama.Placement{"metal-sim": llama.All(gpu),
			"gpu-layers 2": {Layer: func(i int) backend.Backend {
				if i < 2 {
					return gpu
				}
				return c
			}, Emb: gpu, Out: c}}
		if strings.HasSuffix(name, "-Q4_K_M") {
			placements["cuda kernels"] = llama.All(cudaLike)
		}
		// The CPU quantizes activations as llama.cpp does (Q8_0 for Q8_0/Q5_0 weights), the
		// GPU multiplies float32 ones; through gemma2's 26 layers 64 wide (two blocks a
		// row) and its 0.5 logit soft-cap that difference alone reaches NMSE 3.4e-3 at a
		// few decode steps (its F32 file: 3e-7), so those steps get 5e-3.
		stepTol := 2e-3
		if strings.HasPrefix(name, "arch-gemma2-Q") {
			stepTol = 5e-3
		}
		want := decodeLogits(t, mc, prompt, 12)
		for pn, pl := range placements {
			mg, err := llama.LoadPlaced(pl, f)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeLogits(t, mg, prompt, 12)
			for step := range want {
				tol := stepTol
				if step == 0 {
					tol = 2e-3
				}
				if e := nmse(got[step], want[step]); e > tol {
					t.Errorf("%s %s step %d: NMSE %.3g > %g", name, pn, step, e, tol)
				}
			}
			t.Logf("%s %s: prompt NMSE %.3g, last step %.3g", name, pn, nmse(got[0], want[0]), nmse(got[len(got)-1], want[len(want)-1]))
		}
	}
}

// decodeLogits runs the prompt as one batch, then n fixed tokens one at a time, and
// returns the last-position logits after the prompt and after each step.
func decodeLogits(t *testing.T, m *llama.Model, prompt []int32, n int) [][]float32 {
	st, err := m.NewState(len(prompt)+n+1, 512, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	pos := make([]int32, len(prompt))
	for i := range pos {
		pos[i] = int32(i)
	}
	logits, _, err := st.Forward(context.Background(), prompt, pos, llama.LastLogits)
	if err != nil {
		t.Fatal(err)
	}
	out := [][]float32{append([]float32(nil), logits...)}
	for i := 0; i < n; i++ {
		tok, p := int32(i*37+3)%500, int32(len(prompt)+i)
		if logits, _, err = st.Forward(context.Background(), []int32{tok}, []int32{p}, llama.LastLogits); err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]float32(nil), logits...))
	}
	return out
}
