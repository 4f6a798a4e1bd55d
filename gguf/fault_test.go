//go:build linux || darwin

package gguf

import (
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
)

// copyModel copies a reference model to a file the test may truncate.
func copyModel(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(refdata.Path(t, "models", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCatchFaultOnTruncatedFile: reading tensor data of a file truncated after Open
// (SIGBUS, which killed the process) is an error wrapping ErrChanged naming the file;
// a panic that is not a fault on the mapping goes on.
func TestCatchFaultOnTruncatedFile(t *testing.T) {
	path := copyModel(t, "stories260K.gguf")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	readAll := func() (sum byte, err error) {
		defer f.CatchFault(&err, debug.SetPanicOnFault(true))
		for i := range f.Tensors {
			for _, b := range f.TensorData(&f.Tensors[i]) {
				sum += b
			}
		}
		return sum, nil
	}
	if _, err := readAll(); !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), path) {
		t.Errorf("read of a truncated mapping: %v, want %v naming %s", err, ErrChanged, path)
	}
	other := func() (err error) {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic to go on", r)
			}
		}()
		defer f.CatchFault(&err, debug.SetPanicOnFault(true))
		panic("boom")
	}
	if err := other(); err != nil {
		t.Errorf("a panic that is no fault became %v", err)
	}
}
