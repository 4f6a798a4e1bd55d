package gguf

import (
	"fmt"
	"os"
	"runtime/debug"
)

// Open memory-maps path read-only (where the platform allows; elsewhere it reads the
// file) and parses it. Only the header pages are touched; tensor data is paged in
// when used.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("gguf: %s is not a regular file", path)
	}
	data, unmap, err := mapFile(fh, st.Size())
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: %w", path, err)
	}
	f, err := parseMapped(data, path)
	if err != nil {
		unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.closer, f.path = unmap, path
	return f, nil
}

// parseMapped is Parse, with a fault on the mapping (the file shrank since Stat) an
// error instead of a crash.
func parseMapped(data []byte, path string) (f *File, err error) {
	defer (&File{data: data, path: path}).CatchFault(&err, debug.SetPanicOnFault(true))
	return Parse(data)
}
