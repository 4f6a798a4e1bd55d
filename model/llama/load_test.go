package llama_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/model/llama"
)

// rewrite copies stories260K.gguf through edit (which may change metadata and drop or
// reshape tensors) and parses the result.
func rewrite(t *testing.T, edit func(w *gguf.Writer, key string, v gguf.Value) bool, keep func(ti *gguf.TensorInfo) bool) *gguf.File {
	t.Helper()
	src, err := gguf.Open(refdata.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	w := gguf.NewWriter()
	for _, kv := range src.KVs {
		if edit == nil || !edit(w, kv.Key, kv.Value) {
			w.Set(kv.Key, kv.Value)
		}
	}
	for i := range src.Tensors {
		ti := &src.Tensors[i]
		if keep != nil && !keep(ti) {
			continue
		}
		w.AddTensor(ti.Name, ti.Type, ti.Dims, src.TensorData(ti))
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

func TestLoadErrors(t *testing.T) {
	b := cpu.New(1)
	defer b.Close()
	f := rewrite(t, func(w *gguf.Writer, k string, v gguf.Value) bool {
		if k == "general.architecture" {
			w.SetAny(k, "mamba")
			return true
		}
		return false
	}, nil)
	if _, err := llama.Load(b, f); err == nil || !strings.Contains(err.Error(), `"mamba" is not supported (supported: gemma2, llama, phi3, qwen2)`) {
		t.Errorf("unsupported arch: %v", err)
	}
	f = rewrite(t, nil, func(ti *gguf.TensorInfo) bool { return ti.Name != "blk.3.ffn_up.weight" })
	if _, err := llama.Load(b, f); err == nil || !strings.Contains(err.Error(), "missing tensor blk.3.ffn_up.weight") {
		t.Errorf("missing tensor: %v", err)
	}
	f = rewrite(t, func(w *gguf.Writer, k string, v gguf.Value) bool {
		if k == "llama.feed_forward_length" {
			w.SetAny(k, uint32(128))
			return true
		}
		return false
	}, nil)
	if _, err := llama.Load(b, f); err == nil || !strings.Contains(err.Error(), "blk.0.ffn_gate.weight has shape [64 172], want [64 128]") {
		t.Errorf("wrong shape: %v", err)
	}
	f = rewrite(t, func(w *gguf.Writer, k string, v gguf.Value) bool {
		if k == "llama.block_count" {
			w.SetAny(k, "five")
			return true
		}
		return false
	}, nil)
	if _, err := llama.Load(b, f); err == nil || !strings.Contains(err.Error(), "llama.block_count") {
		t.Errorf("wrong key type: %v", err)
	}
}

// TestTiedEmbeddings: without output.weight the token embedding is the output matrix.
func TestTiedEmbeddings(t *testing.T) {
	b := cpu.New(1)
	defer b.Close()
	f := rewrite(t, nil, func(ti *gguf.TensorInfo) bool { return ti.Name != "output.weight" })
	m, err := llama.Load(b, f)
	if err != nil {
		t.Fatal(err)
	}
	if m.W.Output != m.W.TokEmbd {
		t.Error("output is not tied to token_embd")
	}
	st := newState(t, m, 16, 8, false)
	logits, _, err := st.Forward(context.Background(), []int32{1, 403}, []int32{0, 1}, llama.LastLogits)
	if err != nil || len(logits) != 512 {
		t.Fatalf("forward: %v, %d logits", err, len(logits))
	}
}

func TestHParamsDefaults(t *testing.T) {
	f, err := gguf.Open(refdata.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := llama.ReadHParams(f)
	if err != nil {
		t.Fatal(err)
	}
	want := llama.HParams{Arch: "llama", ArchSpec: h.ArchSpec, NLayer: 5, NEmbd: 64, NFF: 172, NHead: 8, NKVHead: 4, HeadDim: 8, RopeDim: 8,
		RopeBase: 10000, RMSEps: 1e-5, NCtxTrain: 2048, NVocab: 512, RopeAttnFactor: 1, NCtxOrig: 2048}
	if h != want {
		t.Errorf("hparams %+v\nwant %+v", h, want)
	}
}

// TestForwardRejectsBadInput: positions past the context and unknown token ids are errors.
func TestForwardRejectsBadInput(t *testing.T) {
	b := cpu.New(1)
	defer b.Close()
	m, f, err := llama.Open(b, refdata.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st := newState(t, m, 8, 8, false)
	if _, _, err := st.Forward(context.Background(), []int32{1}, []int32{8}, llama.LastLogits); err == nil {
		t.Error("position 8 in a context of 8 accepted")
	}
	if _, _, err := st.Forward(context.Background(), []int32{512}, []int32{0}, llama.LastLogits); err == nil {
		t.Error("token 512 in a 512 vocabulary accepted")
	}
}

// TestBatchSplitAndF32Cache: a prompt longer than the batch is split without changing
// the result; the F32 KV cache gives nearly the same logits.
func TestBatchSplitAndF32Cache(t *testing.T) {
	b := cpu.New(2)
	defer b.Close()
	m, f, err := llama.Open(b, refdata.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	toks := []int32{1, 403, 407, 261, 378, 11, 300, 290, 270}
	pos := []int32{0, 1, 2, 3, 4, 5, 6, 7, 8}
	a, _, _ := newState(t, m, 16, 512, false).Forward(context.Background(), toks, pos, llama.LastLogits)
	a = append([]float32(nil), a...)
	c, _, _ := newState(t, m, 16, 4, false).Forward(context.Background(), toks, pos, llama.LastLogits)
	if NMSE(c, a) > 1e-12 {
		t.Errorf("split batch NMSE %.3g", NMSE(c, a))
	}
	d, _, _ := newState(t, m, 16, 512, true).Forward(context.Background(), toks, pos, llama.LastLogits)
	if e := NMSE(d, a); e > 1e-5 || e == 0 {
		t.Errorf("f32 cache NMSE %.3g (want small, non-zero)", e)
	}
}
