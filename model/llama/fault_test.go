//go:build linux || darwin

package llama_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/model/llama"
)

// TestLoadOfTruncatedFile: a file truncated between gguf.Open and Load is an error
// naming the file, not SIGBUS. The CPU backend repacks K-quant weights, reading the
// mapping: on its pool with assembly kernels, on the caller's goroutine without.
func TestLoadOfTruncatedFile(t *testing.T) {
	b, err := os.ReadFile(refdata.Path(t, "models", "qmini", "qmini-Q4_K_M.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "qmini-Q4_K_M.gguf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	be := cpu.New(2)
	defer be.Close()
	if _, err := llama.Load(be, f); !errors.Is(err, gguf.ErrChanged) || !strings.Contains(err.Error(), path) {
		t.Errorf("load of a truncated file: %v, want %v naming it", err, gguf.ErrChanged)
	}
}
