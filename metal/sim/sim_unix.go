//go:build !windows

package sim

import (
	"fmt"
	"os"

	"github.com/ebitengine/purego"
	"golang.org/x/sys/unix"
)

// supported: the simulator runs here (the fiber switch is amd64/arm64 assembly, the
// kernels a shared object loaded with dlopen, buffers mmap'ed with a guard page).
const supported = true

func openLibrary(path string) (uintptr, error) {
	return purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
}

// NewBuffer allocates n bytes (zeroed).
func NewBuffer(n int) (*Buffer, error) {
	if n <= 0 {
		n = 1
	}
	page := os.Getpagesize()
	pages := (n + page - 1) / page
	mem, err := unix.Mmap(-1, 0, (pages+1)*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, fmt.Errorf("metal sim: allocating %d bytes: %w", n, err)
	}
	if err := unix.Mprotect(mem[pages*page:], unix.PROT_NONE); err != nil {
		unix.Munmap(mem)
		return nil, err
	}
	start := pages*page - n
	return &Buffer{mem: mem, Data: mem[start : pages*page : pages*page]}, nil
}

// Free releases the buffer.
func (b *Buffer) Free() {
	if b.mem != nil {
		unix.Munmap(b.mem)
		b.mem, b.Data = nil, nil
	}
}
