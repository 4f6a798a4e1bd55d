package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func randomSeed() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:]) >> 1)
}

// checkOutputPath fails before any work is done when path (the value of flag) could not
// be written at the end: an existing path must be a file open for writing, a new one's
// directory must let a file be created there. It leaves nothing behind.
func checkOutputPath(flag, path string) error {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("%s %s: is a directory", flag, path)
	case err == nil:
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
		return f.Close()
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s: %w", flag, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".inferno-check-*")
	if err != nil {
		return fmt.Errorf("%s %s: cannot create the file: %w", flag, path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
