package gen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"

	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/model/llama"
	"github.com/inferno-go/inferno/quant"
	"github.com/inferno-go/inferno/tokenizer"
)

func TestGenLoadsAndIsDeterministic(t *testing.T) {
	p, _ := FindPreset("stories-260k")
	p.NFF = 256 // rows must suit Q4_K_M's block size
	p.NEmbd = 256
	p.NHead = 4
	p.NKVHead = 2
	ft, _ := quant.ParseFType("Q4_K_M")
	var a, b, c bytes.Buffer
	if err := Write(p, ft, &a, Options{Seed: 1, Threads: 2}); err != nil {
		t.Fatal(err)
	}
	Write(p, ft, &b, Options{Seed: 1, Threads: 1})
	Write(p, ft, &c, Options{Seed: 2, Threads: 2})
	if sha256.Sum256(a.Bytes()) != sha256.Sum256(b.Bytes()) {
		t.Error("same seed, different files (thread count must not matter)")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("different seeds, same file")
	}
	f, err := gguf.Parse(a.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokenizer.FromGGUF(f); err != nil {
		t.Fatal(err)
	}
	be := cpu.New(1)
	defer be.Close()
	m, err := llama.Load(be, f)
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.NewState(8, 8, false)
	if err != nil {
		t.Fatal(err)
	}
	logits, _, err := st.Forward(context.Background(), []int32{1, 300}, []int32{0, 1}, llama.LastLogits)
	if err != nil || len(logits) != 512 {
		t.Fatalf("forward: %v", err)
	}
	types := map[string]int{}
	for _, ti := range f.Tensors {
		types[ti.Type.String()]++
	}
	if types["Q4_K"] == 0 || types["Q6_K"] == 0 || types["F32"] != 11 {
		t.Errorf("type mix %v", types)
	}
	if _, err := FindPreset("gpt-5"); err == nil {
		t.Error("unknown preset accepted")
	}
}
