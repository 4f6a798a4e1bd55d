package inferno

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/metal/sim"
)

// TestMetalSimBackend: through the public API, the simulated GPU (argmax on the
// device) and a 2-layer split give llama.cpp's greedy tokens, and the log lines a user
// greps for are there.
func TestMetalSimBackend(t *testing.T) {
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	var ref struct {
		PromptIDs    []int32 `json:"prompt_ids"`
		GeneratedIDs []int32 `json:"generated_ids"`
	}
	raw, _ := os.ReadFile(refdata.Path(t, "reference", "stories260K_once_upon_a_time.json"))
	json.Unmarshal(raw, &ref)
	for _, c := range []struct {
		layers  int
		logs    []string
		backend string
	}{
		{0, []string{"GGUF backend - GPU enabled: true, GPU layers: 999", "offloaded 6/6 layers to GPU", "metal-sim model buffer size = 1.12 MiB", "metal-sim KV cache size", "unified memory: true"}, "metal-sim"},
		{2, []string{"GPU layers: 2", "offloaded 2/6 layers to GPU"}, "metal-sim+cpu"},
	} {
		var log bytes.Buffer
		m, err := Load(refdata.Path(t, "models", "stories260K.gguf"), Options{Threads: 2, ContextSize: 128, Backend: "metal-sim", GPULayers: c.layers, Log: &log})
		if err != nil {
			t.Fatal(err)
		}
		res, err := newSession(t, m).Generate(context.Background(), ref.PromptIDs, GenerateOptions{MaxTokens: 64, Sampling: greedyParams()}, nil)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.Tokens, ref.GeneratedIDs) {
			t.Errorf("gpu layers %d: tokens differ:\n got %v\nwant %v", c.layers, res.Tokens, ref.GeneratedIDs)
		}
		if m.BackendName() != c.backend {
			t.Errorf("backend %s, want %s", m.BackendName(), c.backend)
		}
		for _, want := range c.logs {
			if !strings.Contains(log.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, log.String())
			}
		}
	}
	// the GPU's KV cache is float16: --f32-kv is refused there, not ignored
	for _, be := range []string{"metal-sim", "cuda-sim"} {
		_, err := Load(refdata.Path(t, "models", "stories260K.gguf"), Options{ContextSize: 128, Backend: be, F32KVCache: true})
		if err == nil || !strings.Contains(err.Error(), "--f32-kv") {
			t.Errorf("%s with F32KVCache: %v, want a refusal naming --f32-kv", be, err)
		}
	}
	// the memory plan is checked before anything is allocated
	t.Setenv("INFERNO_SIM_WORKING_SET", "3000000")
	_, err := Load(refdata.Path(t, "models", "stories260K.gguf"), Options{ContextSize: 2048, Backend: "metal-sim"})
	if err == nil || !strings.Contains(err.Error(), "recommends at most") || !strings.Contains(err.Error(), "--gpu-layers") {
		t.Errorf("memory plan: %v", err)
	}
	if _, err := Load(refdata.Path(t, "models", "stories260K.gguf"), Options{Backend: "vulkan"}); err == nil {
		t.Error("unknown backend accepted")
	}
}

// TestCUDASimBackend: `--backend cuda-sim` runs the model on the CUDA kernels
// (kernels.cu's entry points on the CPU simulator) through the CUDA host path: llama.cpp's
// greedy tokens, the CUDA log lines, the plan against the simulated device's memory.
func TestCUDASimBackend(t *testing.T) {
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	var ref struct {
		PromptIDs    []int32 `json:"prompt_ids"`
		GeneratedIDs []int32 `json:"generated_ids"`
	}
	raw, _ := os.ReadFile(refdata.Path(t, "reference", "stories260K_once_upon_a_time.json"))
	json.Unmarshal(raw, &ref)
	var log bytes.Buffer
	m, err := Load(refdata.Path(t, "models", "stories260K.gguf"), Options{Threads: 2, ContextSize: 128, Backend: "cuda-sim", Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	res, err := newSession(t, m).Generate(context.Background(), ref.PromptIDs, GenerateOptions{MaxTokens: 64, Sampling: greedyParams()}, nil)
	m.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Tokens, ref.GeneratedIDs) {
		t.Errorf("tokens differ:\n got %v\nwant %v", res.Tokens, ref.GeneratedIDs)
	}
	if m.BackendName() != "cuda-sim" {
		t.Errorf("backend %s, want cuda-sim", m.BackendName())
	}
	for _, want := range []string{"offloaded 6/6 layers to GPU", "cuda-sim model buffer size = 1.12 MiB",
		"CUDA: device cuda-sim, compute capability 8.0", "no driver (the CPU simulator)"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	t.Setenv("INFERNO_SIM_WORKING_SET", "3000000")
	if _, err := Load(refdata.Path(t, "models", "stories260K.gguf"), Options{ContextSize: 2048, Backend: "cuda-sim"}); err == nil ||
		!strings.Contains(err.Error(), "cuda-sim has") || !strings.Contains(err.Error(), "--gpu-layers") {
		t.Errorf("memory plan: %v", err)
	}
}
