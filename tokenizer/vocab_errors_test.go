package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
)

// TestVocabLengthMismatch: scores or token types of the wrong count are reported with
// both counts, and no "(<nil>)" for the error that did not happen.
func TestVocabLengthMismatch(t *testing.T) {
	src, err := gguf.Open(refdata.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, c := range []struct {
		key  string
		val  any
		want string
	}{
		{"tokenizer.ggml.scores", []float32{0, 0, 0}, "tokenizer.ggml.scores: 3 scores for 512 tokens"},
		{"tokenizer.ggml.token_type", []int32{1, 1}, "tokenizer.ggml.token_type: 2 types for 512 tokens"},
		{"tokenizer.ggml.scores", "not an array", "tokenizer.ggml.scores"},
	} {
		w := gguf.NewWriter()
		for _, kv := range src.KVs {
			if err := w.Set(kv.Key, kv.Value); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.SetAny(c.key, c.val); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "vocab.gguf")
		out, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteTo(out); err != nil {
			t.Fatal(err)
		}
		out.Close()
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = FromGGUF(f)
		f.Close()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "<nil>") {
			t.Errorf("%s = %v: %v, want %q", c.key, c.val, err, c.want)
		}
	}
}
