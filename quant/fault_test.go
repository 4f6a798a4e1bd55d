//go:build linux || darwin

package quant

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
)

// TestQuantizeTruncatedSource: a source overwritten in place while it is quantized
// (its pages read by ForRows' goroutines) is an error naming the file, not SIGBUS.
func TestQuantizeTruncatedSource(t *testing.T) {
	b, err := os.ReadFile(refdata.Path(t, "models", "qmini", "qmini-F32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "src.gguf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	ft, err := ParseFType("Q4_0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Quantize(src, ft, io.Discard, Options{Threads: 2}); !errors.Is(err, gguf.ErrChanged) || !strings.Contains(err.Error(), path) {
		t.Errorf("quantize of a truncated source: %v, want %v naming it", err, gguf.ErrChanged)
	}
}
