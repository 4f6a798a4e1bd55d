package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/quant/imatrix"
)

// TestImatrixMatchesLlamaImatrix runs inferno imatrix as the reference was made (in the
// text's folder, -c 128) and compares every entry with llama-imatrix's file.
func TestImatrixMatchesLlamaImatrix(t *testing.T) {
	model := refdata.Path(t, "models", "qmini", "qmini-F32.gguf")
	ref, err := imatrix.ReadFile(refdata.Path(t, "quant-research", "qmini-story.imatrix"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(refdata.Path(t, "reference", "story.txt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "story.txt"), text, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	out, err := runCLI(t, "imatrix", "-m", model, "-f", "story.txt", "-o", "q.imatrix", "--ctx", "128", "-t", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// llama-imatrix's log, to every digit (imatrix computes in llama.cpp's batch order)
	if !strings.Contains(out, "Final estimate: PPL = 636.2469 +/- 18.44507") {
		t.Errorf("perplexity line: %s", out)
	}
	got, err := imatrix.ReadFile("q.imatrix")
	if err != nil {
		t.Fatal(err)
	}
	if got.Chunks != ref.Chunks || got.Dataset != ref.Dataset || len(got.Entries) != len(ref.Entries) {
		t.Fatalf("chunks %d dataset %q entries %d; llama-imatrix: %d %q %d",
			got.Chunks, got.Dataset, len(got.Entries), ref.Chunks, ref.Dataset, len(ref.Entries))
	}
	var worst, sum float64
	n := 0
	for _, r := range ref.Entries {
		e, ok := got.Lookup(r.Name)
		if !ok {
			t.Errorf("%s missing", r.Name)
			continue
		}
		if e.NCall != r.NCall || len(e.Values) != len(r.Values) {
			t.Errorf("%s: ncall %d, %d values; llama-imatrix %d, %d", r.Name, e.NCall, len(e.Values), r.NCall, len(r.Values))
			continue
		}
		for i, v := range r.Values {
			rel := math.Abs(float64(e.Values[i]-v)) / math.Abs(float64(v))
			worst = max(worst, rel)
			sum += rel
			n++
		}
	}
	// The bound: every value within 1e-5 relative of llama-imatrix's.
	t.Logf("relative difference: worst %.3g, mean %.3g over %d values", worst, sum/float64(n), n)
	if worst > 1e-5 || sum/float64(n) > 1e-6 {
		t.Errorf("relative difference: worst %.3g (limit 1e-5), mean %.3g (limit 1e-6)", worst, sum/float64(n))
	}
	if q, _ := got.Lookup("blk.0.attn_q.weight"); true {
		r, _ := ref.Lookup("blk.0.attn_q.weight")
		for i := range r.Values {
			if q.Values[i] != r.Values[i] {
				t.Errorf("blk.0.attn_q.weight[%d] = %v, llama-imatrix %v (its input is computed exactly)", i, q.Values[i], r.Values[i])
				break
			}
		}
	}
}

func TestImatrixErrors(t *testing.T) {
	model := refdata.Path(t, "models", "qmini", "qmini-F32.gguf")
	story := refdata.Path(t, "reference", "story.txt")
	dir := t.TempDir()
	short := filepath.Join(dir, "short.txt")
	os.WriteFile(short, []byte("Once upon a time"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-m", filepath.Join(dir, "none.gguf"), "-f", story}, "none.gguf"},
		{[]string{"-m", model, "-f", filepath.Join(dir, "none.txt")}, "none.txt"},
		{[]string{"-m", model, "-f", short, "--ctx", "128"}, "needs at least 256"},
		{[]string{"-m", model, "-f", story, "-o", story}, "refusing to overwrite an input"},
		{[]string{"-m", model, "-f", story, "--chunks", "-1"}, "--chunks -1"},
	} {
		args := append([]string{"imatrix", "-o", filepath.Join(dir, "x.imatrix")}, c.args...)
		_, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.imatrix")); err == nil {
		t.Error("a failed run left an output file")
	}
}
