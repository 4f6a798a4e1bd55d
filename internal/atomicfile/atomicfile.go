// Package atomicfile writes model files so that a final name only ever holds a complete,
// verified file, and an output never replaces one of its inputs. Every command that
// writes a model file (quantize, gen, pull) goes through it.
package atomicfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// CheckNotInput returns an error when out is the same file as one of inputs: the same
// path, a symbolic link to it (either way) or a hard link. Commands call it before they
// write anything.
func CheckNotInput(out string, inputs ...string) error {
	outInfo, err := os.Stat(out)
	if err != nil {
		return nil // an output that does not exist yet cannot be an input
	}
	for _, in := range inputs {
		inInfo, err := os.Stat(in)
		if err == nil && os.SameFile(outInfo, inInfo) {
			return fmt.Errorf("output %s is the same file as input %s: refusing to overwrite an input", out, in)
		}
	}
	return nil
}

// Write creates a temporary file of a unique name in path's directory, lets write fill
// it, syncs it, runs verify on it (when not nil), renames it to path and syncs the
// directory. Writes fail once ctx is done (SIGINT, SIGTERM), and a ctx done by the time
// write returns also counts as a failure. On any failure the temporary file is removed
// and path is left as it was.
func Write(ctx context.Context, path string, write func(io.Writer) error, verify func(tmpPath string) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("output %s is a directory", path)
	}
	f, err := os.CreateTemp(dir, base+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(tmp)
		}
	}()
	werr := write(ctxWriter{ctx: ctx, w: f})
	if ctx.Err() != nil {
		return fmt.Errorf("writing %s interrupted, nothing written: %w", path, context.Cause(ctx))
	}
	if werr != nil {
		return werr
	}
	// CreateTemp makes the file private (0600); a model file is as readable as one
	// os.Create would make.
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	closed = true
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if verify != nil {
		if err := verify(tmp); err != nil {
			return fmt.Errorf("%s failed verification after writing: %w", path, err)
		}
	}
	return Rename(tmp, path)
}

// Rename renames a complete, synced file to its final name and syncs the directory, so
// the new name survives a crash.
func Rename(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(to))
}

// SyncDir flushes a directory's entries to disk. File systems that cannot sync a
// directory are not an error: the rename is done, only its durability is weaker.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EINVAL) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// ctxWriter fails every write once ctx is done, which stops a long conversion at its
// next write.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.w.Write(p)
}
