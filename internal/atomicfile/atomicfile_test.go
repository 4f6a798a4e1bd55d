package atomicfile

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// dirNames lists dir, so a test can see that no temporary file was left behind.
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

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func TestCheckNotInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.gguf")
	other := filepath.Join(dir, "other.gguf")
	os.WriteFile(in, []byte("in"), 0o644)
	os.WriteFile(other, []byte("other"), 0o644)
	symToIn := filepath.Join(dir, "sym-to-in.gguf")
	hardToIn := filepath.Join(dir, "hard-to-in.gguf")
	if err := os.Symlink(in, symToIn); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(in, hardToIn); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, c := range []struct{ out, in string }{
		{in, in},                       // the same path
		{in, "./" + filepath.Base(in)}, // another spelling, relative to the working directory below
		{symToIn, in},                  // OUT is a symlink to IN
		{in, symToIn},                  // IN is a symlink to OUT
		{hardToIn, in},                 // a hard link
	} {
		if err := CheckNotInput(c.out, other, c.in); err == nil || !strings.Contains(err.Error(), "same file") {
			t.Errorf("out %s, in %s: %v", c.out, c.in, err)
		}
	}
	if err := CheckNotInput(other, in); err != nil {
		t.Errorf("different files: %v", err)
	}
	if err := CheckNotInput(filepath.Join(dir, "new.gguf"), in); err != nil {
		t.Errorf("new output: %v", err)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.gguf")
	if err := Write(context.Background(), path, writeString("model"), nil); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "model" {
		t.Errorf("content %q", got)
	}
	if st, _ := os.Stat(path); runtime.GOOS != "windows" && st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v", names)
	}
}

// A failed write, a failed verification or a cancelled context leave the old file
// under its name and no temporary file.
func TestWriteFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.gguf")
	os.WriteFile(path, []byte("old"), 0o644)
	boom := errors.New("boom")
	ctx, cancel := context.WithCancel(context.Background())
	cases := map[string]error{}
	cases["write"] = Write(context.Background(), path, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	}, nil)
	cases["verify"] = Write(context.Background(), path, writeString("new"), func(tmp string) error {
		if b, _ := os.ReadFile(tmp); string(b) != "new" {
			t.Errorf("verify sees %q", b)
		}
		return boom
	})
	cases["cancel"] = Write(ctx, path, func(w io.Writer) error {
		io.WriteString(w, "partial")
		cancel() // as SIGINT does mid-conversion
		_, err := io.WriteString(w, "rest")
		return err
	}, nil)
	cases["cancel after the last write"] = Write(ctx, path, writeString("all"), nil)
	for name, err := range cases {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if !errors.Is(cases["cancel"], context.Canceled) || !strings.Contains(cases["cancel"].Error(), "interrupted") {
		t.Errorf("cancel: %v", cases["cancel"])
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("old file now holds %q", got)
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("temporary files left: %v", names)
	}
}

// Two writers of the same path at once (the second runs inside the first) each write
// their own temporary file; the last to finish wins, whole.
func TestWriteConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.gguf")
	err := Write(context.Background(), path, func(w io.Writer) error {
		io.WriteString(w, "first, ")
		if err := Write(context.Background(), path, writeString("second, the longer one"), nil); err != nil {
			t.Errorf("second: %v", err)
		}
		_, err := io.WriteString(w, "done")
		return err
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "first, done" {
		t.Errorf("file holds %q", got)
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v", names)
	}
}

// An output that cannot be written is reported before the work is done.
func TestWriteUnwritableOutput(t *testing.T) {
	for _, path := range []string{filepath.Join(t.TempDir(), "no", "such", "out.gguf"), t.TempDir()} {
		called := false
		err := Write(context.Background(), path, func(io.Writer) error { called = true; return nil }, nil)
		if err == nil || called || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: write called %v, %v", path, called, err)
		}
	}
}
