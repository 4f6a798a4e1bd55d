package llama_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/model/llama"
	"github.com/inferno-go/inferno/tensor"
)

// editArch rewrites models/arch/<name>.gguf: set (nil value: delete) keys, drop tensors,
// add F32 tensors.
func editArch(t *testing.T, name string, set map[string]any, drop []string, add map[string][]float32) *gguf.File {
	t.Helper()
	src, err := gguf.Open(refdata.Path(t, "models", "arch", name+".gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	w := gguf.NewWriter()
	for _, kv := range src.KVs {
		if _, ok := set[kv.Key]; !ok {
			w.Set(kv.Key, kv.Value)
		}
	}
	for k, v := range set {
		if v != nil {
			if err := w.SetAny(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	dropped := map[string]bool{}
	for _, n := range drop {
		dropped[n] = true
	}
	for i := range src.Tensors {
		ti := &src.Tensors[i]
		if !dropped[ti.Name] {
			w.AddTensor(ti.Name, ti.Type, ti.Dims, src.TensorData(ti))
		}
	}
	for n, v := range add {
		raw := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
		}
		w.AddTensor(n, tensor.F32, []uint64{uint64(len(v))}, raw)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRefuseUnimplemented: whatever a file asks for that the engine does not implement
// is a one-line error naming it, never a model that runs wrong.
func TestRefuseUnimplemented(t *testing.T) {
	b := cpu.New(1)
	defer b.Close()
	ones := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	for _, c := range []struct {
		what, model string
		set         map[string]any
		drop        []string
		add         map[string][]float32
		want        string
	}{
		{"unknown architecture", "arch-llama3-F32", map[string]any{"general.architecture": "mamba"}, nil, nil,
			`architecture "mamba" is not supported (supported: gemma2, llama, phi3, qwen2)`},
		{"unknown tensor", "arch-llama3-F32", nil, nil, map[string][]float32{"blk.0.attn_q.bias": ones(256)},
			"tensor blk.0.attn_q.bias is not implemented for llama"},
		{"Phi-3 factors in a llama file", "arch-llama3-F32", nil, nil, map[string][]float32{"rope_factors_long.weight": ones(16)},
			"tensor rope_factors_long.weight is not implemented for llama"},
		{"rope_freqs in a qwen2 file", "arch-qwen2-F32", nil, nil, map[string][]float32{"rope_freqs.weight": ones(32)},
			"tensor rope_freqs.weight is not implemented for qwen2"},
		{"output.weight in a gemma2 file", "arch-gemma2-F32", nil, nil, map[string][]float32{"output.weight": ones(64)},
			"tensor output.weight is not implemented for gemma2"},
		{"rope scaling type", "arch-llama3-F32", map[string]any{"llama.rope.scaling.type": "yarn", "llama.rope.scaling.factor": float32(4)}, nil, nil,
			`llama.rope.scaling.type "yarn" with factor 4 is not implemented`},
		{"linear rope scaling", "arch-qwen2-F32", map[string]any{"qwen2.rope.scaling.type": "linear", "qwen2.rope.scaling.factor": float32(2)}, nil, nil,
			`qwen2.rope.scaling.type "linear" with factor 2 is not implemented`},
		{"unknown hyperparameter", "arch-llama3-F32", map[string]any{"llama.attn_logit_softcapping": float32(30)}, nil, nil,
			"llama.attn_logit_softcapping is not implemented for llama"},
		{"sliding window on qwen2", "arch-qwen2-F32", map[string]any{"qwen2.attention.sliding_window": uint32(4096)}, nil, nil,
			"qwen2.attention.sliding_window is not implemented for qwen2"},
		{"mixture of experts", "arch-llama3-F32", map[string]any{"llama.expert_count": uint32(8)}, nil, nil,
			"llama.expert_count = 8: mixture of experts is not implemented"},
		{"value size differs from key size", "arch-gemma2-F32", map[string]any{"gemma2.attention.value_length": uint32(16)}, nil, nil,
			"gemma2.attention.value_length 16 differs from key_length 32: not implemented"},
		{"attention factor on llama", "arch-llama3-F32", map[string]any{"llama.rope.scaling.attn_factor": float32(1.2)}, nil, nil,
			"llama.rope.scaling.attn_factor is not implemented for llama"},
		{"partial rope on qwen2", "arch-qwen2-F32", map[string]any{"qwen2.rope.dimension_count": uint32(32)}, nil, nil,
			"qwen2.rope.dimension_count 32 differs from the head size 64: not implemented"},
		{"phi3 without sliding_window", "arch-phi3-F32", map[string]any{"phi3.attention.sliding_window": nil}, nil, nil,
			"phi3.attention.sliding_window = 0 is not a valid window"},
		{"phi3 without output.weight", "arch-phi3-F32", nil, []string{"output.weight"}, nil,
			"missing tensor output.weight (phi3 does not tie embeddings)"},
		{"qwen2 without biases", "arch-qwen2-F32", nil, []string{"blk.1.attn_k.bias"}, nil,
			"missing tensor blk.1.attn_k.bias"},
		{"rope_freqs of the wrong size", "arch-llama3-F32", nil, []string{"rope_freqs.weight"}, map[string][]float32{"rope_freqs.weight": ones(8)},
			"tensor rope_freqs.weight is F32 [8], want F32 [16]"},
		{"rope_freqs not positive", "arch-llama3-F32", nil, []string{"rope_freqs.weight"}, map[string][]float32{"rope_freqs.weight": make([]float32, 16)},
			"tensor rope_freqs.weight[0] = 0 must be a positive number"},
	} {
		f := editArch(t, c.model, c.set, c.drop, c.add)
		_, err := llama.Load(b, f)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v\nwant one line containing %q", c.what, err, c.want)
		}
	}
}

// withoutArchOps is a backend that has only the base ops (a backend without the kernels).
type withoutArchOps struct{ backend.Backend }

func (withoutArchOps) Name() string { return "gpu-like" }

// TestRefuseBackendWithoutArchOps: a model whose graph needs backend.ArchOps does not
// load on a backend without them, with a one-line error; plain Llama does.
func TestRefuseBackendWithoutArchOps(t *testing.T) {
	c := cpu.New(1)
	defer c.Close()
	b := withoutArchOps{c}
	for _, name := range []string{"arch-llama3-F32", "arch-qwen2-F32", "arch-phi3-F32", "arch-gemma2-F32"} {
		f, err := gguf.Open(refdata.Path(t, "models", "arch", name+".gguf"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = llama.Load(b, f)
		f.Close()
		if err == nil || !strings.Contains(err.Error(), "the gpu-like backend does not implement") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want a refusal naming the backend", name, err)
		}
	}
	f, err := gguf.Open(refdata.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := llama.Load(b, f); err != nil {
		t.Errorf("stories260K (plain llama): %v", err)
	}
}

// TestPhi3LongShortFactors: with rope_factors_long/short, a State whose context exceeds
// rope.scaling.original_context_length (512 here) uses the long factors, otherwise the
// short ones, as llama.cpp's build_rope_factors: short factors of 1 give the plain
// file's logits exactly, and long factors of 4 past 512 give the logits of short factors
// of 4 within 512.
func TestPhi3LongShortFactors(t *testing.T) {
	b := cpu.New(1)
	defer b.Close()
	fill := func(v float32) []float32 {
		x := make([]float32, 32)
		for i := range x {
			x[i] = v
		}
		return x
	}
	logits := func(f *gguf.File, nCtx int) []float32 {
		m, err := llama.Load(b, f)
		if err != nil {
			t.Fatal(err)
		}
		st := newState(t, m, nCtx, 64, false)
		defer st.Release()
		prompt := []int32{1, 403, 407, 261, 378}
		out, _, err := st.Forward(context.Background(), prompt, []int32{0, 1, 2, 3, 4}, llama.LastLogits)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), out...)
	}
	plain := logits(editArch(t, "arch-phi3-F32", nil, nil, nil), 64)
	a := editArch(t, "arch-phi3-F32", map[string]any{"phi3.rope.scaling.attn_factor": float32(1)}, nil,
		map[string][]float32{"rope_factors_short.weight": fill(1), "rope_factors_long.weight": fill(4)})
	h, err := llama.ReadHParams(a)
	if err != nil || !h.HasRopeLongShort || !slices.Contains(h.Features(), "long/short RoPE factors") {
		t.Fatalf("hparams %v, %v", err, h.Features())
	}
	swapped := editArch(t, "arch-phi3-F32", nil, nil,
		map[string][]float32{"rope_factors_short.weight": fill(4), "rope_factors_long.weight": fill(1)})
	short, long, short4 := logits(a, 512), logits(a, 1024), logits(swapped, 64)
	if !slices.Equal(short, plain) {
		t.Errorf("context 512: short factors of 1 do not give the plain file's logits")
	}
	if !slices.Equal(long, short4) || slices.Equal(long, plain) {
		t.Errorf("context 1024: the long factors are not the ones used")
	}
}
