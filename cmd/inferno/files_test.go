package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/inferno-go/inferno/internal/refdata"
)

// runCLIContext runs the CLI under ctx with its own stderr (runCLI shares one buffer).
func runCLIContext(ctx context.Context, stderr io.Writer, args ...string) error {
	cmd := newRootCmd()
	cmd.SetOut(io.Discard)
	cmd.SetErr(stderr)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctx)
}

// onFirstWrite is a stderr that runs fn at the first progress line: by then the output
// is being written.
type onFirstWrite struct {
	fn   func()
	done bool
}

func (w *onFirstWrite) Write(p []byte) (int, error) {
	if !w.done {
		w.done = true
		w.fn()
	}
	return len(p), nil
}

// copyModel puts a copy of a reference model in a new directory, as model.gguf.
func copyModel(t *testing.T, elem ...string) (dir, path string) {
	t.Helper()
	b, err := os.ReadFile(refdata.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	path = filepath.Join(dir, "model.gguf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// quantize and gen refuse to write over one of their inputs, however it is named.
// stories260K has the token count the gen preset needs, so without the check gen would
// succeed; qmini's rows suit Q8_0.
func TestOutputIsInputRefused(t *testing.T) {
	for _, c := range []struct {
		model []string
		cmd   func(in, out string) []string
	}{
		{[]string{"models", "qmini", "qmini-F32.gguf"}, func(in, out string) []string { return []string{"quantize", in, out, "Q8_0"} }},
		{[]string{"models", "stories260K.gguf"}, func(in, out string) []string {
			return []string{"gen", "--preset", "stories-260k", "--type", "F32", "--vocab-from", in, "-o", out}
		}},
	} {
		testOutputIsInputRefused(t, c.model, c.cmd)
	}
}

func testOutputIsInputRefused(t *testing.T, modelPath []string, command func(in, out string) []string) {
	dir, model := copyModel(t, modelPath...)
	orig, _ := os.ReadFile(model)
	symlink := filepath.Join(dir, "symlink.gguf")
	hardlink := filepath.Join(dir, "hardlink.gguf")
	if err := os.Symlink(model, symlink); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(model, hardlink); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		command(model, model),
		command(symlink, model),
		command(model, symlink),
		command(hardlink, model),
	} {
		out, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), "same file") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
		if got, _ := os.ReadFile(model); !bytes.Equal(got, orig) {
			t.Fatalf("%v changed the input", args)
		}
		if names := dirNames(t, dir); !slices.Equal(names, []string{"hardlink.gguf", "model.gguf", "symlink.gguf"}) {
			t.Fatalf("%v left %v", args, names)
		}
	}
}

// A second quantize to the same output, run while the first is writing, does not
// corrupt the first's file: each writes its own temporary file, the last rename wins.
func TestQuantizeConcurrentSameOutput(t *testing.T) {
	dir, model := copyModel(t, "models", "qmini", "qmini-F32.gguf")
	want := filepath.Join(dir, "want-Q4_0.gguf")
	if _, err := runCLI(t, "quantize", model, want, "Q4_0"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.gguf")
	second := &onFirstWrite{fn: func() {
		if err := runCLIContext(context.Background(), io.Discard, "quantize", model, out, "Q8_0"); err != nil {
			t.Errorf("second quantize: %v", err)
		}
	}}
	if err := runCLIContext(context.Background(), second, "quantize", model, out, "Q4_0"); err != nil {
		t.Errorf("first quantize: %v", err)
	}
	got, _ := os.ReadFile(out)
	wantBytes, _ := os.ReadFile(want)
	if !second.done || !bytes.Equal(got, wantBytes) {
		t.Errorf("%s is not the last writer's file (%d bytes, want %d)", out, len(got), len(wantBytes))
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"model.gguf", "out.gguf", "want-Q4_0.gguf"}) {
		t.Errorf("left %v", names)
	}
}

// An interrupted quantize or gen (SIGINT and SIGTERM cancel the context) leaves neither
// the output nor a temporary file.
func TestInterruptedWriteLeavesNothing(t *testing.T) {
	dir, model := copyModel(t, "models", "qmini", "qmini-F32.gguf")
	out := filepath.Join(dir, "out.gguf")
	for _, args := range [][]string{
		{"quantize", model, out, "Q8_0"},
		{"gen", "--preset", "stories-260k", "--type", "F32", "-o", out},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		stderr := &onFirstWrite{fn: cancel}
		err := runCLIContext(ctx, stderr, args...)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("%v: %v", args, err)
		}
		if names := dirNames(t, dir); !slices.Equal(names, []string{"model.gguf"}) {
			t.Errorf("%v left %v", args, names)
		}
	}
}

func TestInterruptContextSignals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a process cannot send itself SIGINT or SIGTERM on windows")
	}
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		ctx, stop := interruptContext(context.Background())
		if err := self.Signal(sig); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Minute): // a safety net, not a measurement
			t.Errorf("%v did not cancel the context", sig)
		}
		stop()
	}
}

func TestFileCommandsRejectNegativeThreads(t *testing.T) {
	dir, model := copyModel(t, "models", "qmini", "qmini-F32.gguf")
	out := filepath.Join(dir, "out.gguf")
	for _, args := range [][]string{
		{"quantize", model, out, "Q8_0", "--threads", "-1"},
		{"gen", "--preset", "stories-260k", "--type", "F32", "-o", out, "--threads", "-1"},
	} {
		if _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), "--threads -1") {
			t.Errorf("%v: %v", args, err)
		}
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"model.gguf"}) {
		t.Errorf("left %v", names)
	}
}

func TestPullChecksFlagsFirst(t *testing.T) {
	t.Setenv("INFERNO_MODELS_DIR", filepath.Join(t.TempDir(), "models"))
	// nothing listens on port 1: were the digest not checked first, the error would be "cannot reach"
	if _, err := runCLI(t, "pull", "http://127.0.0.1:1/m/model.gguf", "--sha256", "not-hex"); err == nil || !strings.Contains(err.Error(), "--sha256") {
		t.Errorf("--sha256 not-hex: %v", err)
	}
}
