package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/inferno-go/inferno"
	"github.com/inferno-go/inferno/internal/refdata"
)

// TestArchInfoSystemChat: info names each architecture and its features, system lists
// the supported architectures, and chat runs each of them with the chatml template
// when the file has no template of its own (the arch files have none).
func TestArchInfoSystemChat(t *testing.T) {
	for _, c := range []struct{ model, arch, feature string }{
		{"arch-llama3-F32", "llama", "RoPE frequency factors"},
		{"arch-qwen2-Q8_0", "qwen2", "q/k/v biases"},
		{"arch-phi3-Q4_K_M", "phi3", "fused QKV"},
		{"arch-gemma2-F32", "gemma2", "logit soft-cap 0.5"},
	} {
		path := refdata.Path(t, "models", "arch", c.model+".gguf")
		out, err := runCLI(t, "info", path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "architecture "+c.arch+",") || !strings.Contains(out, "features:") || !strings.Contains(out, c.feature) {
			t.Errorf("info %s lacks the architecture %s or the feature %q:\n%s", c.model, c.arch, c.feature, out[:min(len(out), 600)])
		}
		m, err := inferno.Load(path, inferno.Options{Threads: 2, ContextSize: 256})
		if err != nil {
			t.Fatal(err)
		}
		var o, log strings.Builder
		conv, err := newConversation(m, "", "", false, &o, &log)
		if err != nil {
			t.Fatal(err)
		}
		if conv.tmpl.Name != "chatml" {
			t.Errorf("%s: template %s, want chatml", c.model, conv.tmpl.Name)
		}
		if _, err := conv.turn(context.Background(), "Once upon a time", greedyOpts(4), nil); err != nil {
			t.Errorf("%s: chat turn: %v", c.model, err)
		}
		m.Close()
	}
	out, err := runCLI(t, "info", refdata.Path(t, "models", "arch", "arch-qwen2-F32.gguf"), "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep infoReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !slices.Contains(rep.Model.Features, "NeoX RoPE") || rep.Model.Unsupported != "" {
		t.Errorf("info --json: %v %+v", err, rep.Model)
	}
	out, err = runCLI(t, "system", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var s systemInfo
	if err := json.Unmarshal([]byte(out), &s); err != nil || !slices.Equal(s.Architectures, []string{"gemma2", "llama", "phi3", "qwen2"}) {
		t.Errorf("system architectures: %v %v", err, s.Architectures)
	}
}
