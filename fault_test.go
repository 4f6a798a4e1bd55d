//go:build linux || darwin

package inferno

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
)

// normsFirst rewrites src with the token embedding and the norm weights first, and
// returns the new file and the page-aligned offset where the matrices begin: cut
// there, the first read past the end is a matrix product on the CPU pool's workers.
func normsFirst(t *testing.T, src, dst string) int64 {
	t.Helper()
	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := gguf.NewWriter()
	for _, kv := range f.KVs {
		w.Set(kv.Key, kv.Value)
	}
	first := func(ti *gguf.TensorInfo) bool {
		return ti.Name == "token_embd.weight" || strings.HasSuffix(ti.Name, "_norm.weight")
	}
	for _, pass := range []bool{true, false} {
		for i := range f.Tensors {
			ti := &f.Tensors[i]
			if first(ti) == pass {
				w.AddTensor(ti.Name, ti.Type, ti.Dims, f.TensorData(ti))
			}
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var end int64
	for i := range g.Tensors {
		if ti := &g.Tensors[i]; first(ti) {
			end = max(end, g.DataOffset+int64(ti.Offset+ti.Size))
		}
	}
	page := int64(os.Getpagesize())
	return (end + page - 1) / page * page
}

// TestTruncatedModelIsAnError: a model file truncated while a session uses it (cp over
// it, a download rewriting it) made the next evaluation die of SIGBUS; now it is an
// error wrapping gguf.ErrChanged that names the file — whether the fault is in GetRows
// of the token embedding (caller's goroutine) or in a matrix product over weights read
// from the file (the CPU pool's workers).
func TestTruncatedModelIsAnError(t *testing.T) {
	dir := t.TempDir()
	copyTo := func(name string) string {
		b, err := os.ReadFile(refdata.Path(t, "models", name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Base(name))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	type tc struct {
		name string
		path string
		cut  int64
	}
	reordered := filepath.Join(dir, "norms-first.gguf")
	cases := []tc{
		{"F32 cut to nothing", copyTo("stories260K.gguf"), 0},
		{"Q4_0 cut to nothing", copyTo("qmini/qmini-Q4_0.gguf"), 0},
		{"F32 cut after the norms", reordered, normsFirst(t, refdata.Path(t, "models", "stories260K.gguf"), reordered)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load(c.path, Options{Threads: 2, ContextSize: 64, Backend: "cpu"})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			s, err := m.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := s.Eval(ctx, []int32{1, 2}); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(c.path, c.cut); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ { // and again: the pool still works
				_, err = s.Eval(ctx, []int32{3, 4, 5})
				if !errors.Is(err, gguf.ErrChanged) || !strings.Contains(err.Error(), c.path) {
					t.Fatalf("eval %d after truncating to %d bytes: %v, want %v naming the file", i, c.cut, err, gguf.ErrChanged)
				}
			}
		})
	}
}
