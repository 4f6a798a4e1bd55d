package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/quant/imatrix"
)

// `inferno quantize --imatrix` writes llama-quantize --imatrix's file, byte for byte,
// when run as the reference was (the imatrix named by its bare name).
func TestQuantizeImatrixCLI(t *testing.T) {
	raw, err := os.ReadFile(refdata.Path(t, "quant-research", "qmini-story.imatrix"))
	if err != nil {
		t.Fatal(err)
	}
	model := refdata.Path(t, "models", "qmini", "qmini-F32.gguf")
	want, err := os.ReadFile(refdata.Path(t, "quant-research", "qmini-Q4_K_M-imat.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "qmini-story.imatrix"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if out, err := runCLI(t, "quantize", "--imatrix", "qmini-story.imatrix", model, "q.gguf", "Q4_K_M", "-t", "2"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got, err := os.ReadFile("q.gguf")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("quantize --imatrix Q4_K_M: %d bytes, llama-quantize's file %d bytes, not identical", len(got), len(want))
	}
}

// What llama-quantize refuses is refused in one line, and nothing is left behind.
func TestQuantizeImatrixRefusals(t *testing.T) {
	model := refdata.Path(t, "models", "qmini", "qmini-F32.gguf")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.imatrix")
	var buf bytes.Buffer
	if err := imatrix.Write(&buf, &imatrix.Matrix{Entries: []imatrix.Entry{
		{Name: "blk.0.attn_q.weight", NCall: 1, Values: make([]float32, 128)},
	}, Chunks: 1, Dataset: "x.txt"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.gguf")
	for _, c := range []struct {
		args      []string
		want      []string
		outExists bool // out is there before (as the imatrix)
	}{
		{args: []string{"quantize", model, out, "IQ2_XXS"}, want: []string{"IQ2_XXS needs an importance matrix", "--imatrix"}},
		{args: []string{"quantize", model, out, "iq1_m"}, want: []string{"IQ1_M needs an importance matrix"}},
		{args: []string{"quantize", model, out, "IQ3_XXS"}, want: []string{"blk.0.attn_k.weight", "IQ2_S", "Missing importance matrix"}},
		{args: []string{"quantize", "--imatrix", bad, model, out, "Q4_K_M"}, want: []string{bad, "blk.0.attn_q.weight", "128 values", "needs 256"}},
		{args: []string{"quantize", "--imatrix", filepath.Join(dir, "none.imatrix"), model, out, "Q4_K_M"}, want: []string{"none.imatrix"}},
		{args: []string{"quantize", "--imatrix", model, model, out, "Q4_K_M"}, want: []string{model, "imatrix"}},
		{args: []string{"quantize", "--imatrix", out, model, out, "Q4_K_M"}, want: []string{"same file"}, outExists: true},
	} {
		if c.outExists {
			if err := os.WriteFile(out, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := runCLI(t, c.args...)
		if err == nil {
			t.Errorf("%v: accepted", c.args)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not say %q", c.args, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error is not one line: %q", c.args, err)
		}
		os.Remove(out)
		if names := dirNames(t, dir); len(names) != 1 || names[0] != "bad.imatrix" {
			t.Errorf("%v left %v", c.args, names)
		}
	}
}
