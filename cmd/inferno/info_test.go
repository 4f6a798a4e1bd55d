package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestInfoStories(t *testing.T) {
	path := refdata.Path(t, "models", "stories260K.gguf")
	out, err := runCLI(t, "info", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"architecture llama, 5 blocks, 512 tokens", "version 3, alignment 32",
		"blk.4.ffn_norm.weight", "48 tensors", "(512 total)"} {
		if !strings.Contains(out, want) {
			t.Errorf("info output lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "info", path, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep infoReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Model.Architecture != "llama" || rep.Model.Blocks != 5 || rep.Model.Tokens != 512 || len(rep.Tensors) != 48 {
		t.Errorf("json: %+v", rep.Model)
	}
	if rep.Totals.Params != 292800 || rep.Totals.BitsPerWeight != 32 {
		t.Errorf("totals: %+v", rep.Totals)
	}
}

func TestInfoErrors(t *testing.T) {
	if _, err := runCLI(t, "info", "/nonexistent.gguf"); err == nil {
		t.Error("missing file accepted")
	}
	if _, err := runCLI(t, "info"); err == nil {
		t.Error("missing argument accepted")
	}
	if _, err := runCLI(t, "info", "x", "--no-such-flag"); err == nil {
		t.Error("unknown flag accepted")
	}
}
