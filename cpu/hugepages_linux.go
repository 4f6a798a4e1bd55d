package cpu

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugeAlign is the size of a transparent huge page on amd64 and arm64 Linux.
const hugeAlign = 2 << 20

// mapWeights returns n bytes outside the Go heap, 2 MiB aligned and advised as
// transparent huge pages, and the whole mapping to unmap later (nil: use the heap).
// Generation streams every weight once per token; with 4 KiB pages each page boundary
// costs a TLB miss and restarts the hardware prefetcher.
func mapWeights(n int) (buf, mapping []byte) {
	if n < hugeAlign {
		return nil, nil
	}
	m, err := unix.Mmap(-1, 0, n+hugeAlign, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, nil
	}
	off := 0
	if r := int(uintptr(unsafe.Pointer(&m[0])) % hugeAlign); r != 0 {
		off = hugeAlign - r
	}
	buf = m[off : off+n : off+n]
	_ = unix.Madvise(buf, unix.MADV_HUGEPAGE) // advice only: 4 KiB pages still work
	return buf, m
}

func unmapWeights(m []byte) { _ = unix.Munmap(m) }
