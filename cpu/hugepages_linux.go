package cpu

import (
	"os"
	"strconv"
	"strings"
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

// releasePages drops this process's mapping of the whole pages of b when b lies in a
// read-only mapping of a file (the model file, mmapped by gguf): MADV_DONTNEED there only
// unmaps page-cache pages, which a later read faults back in, so the resident set stops
// counting them while the file stays cached for the next run (MADV_PAGEOUT would evict
// it). Anything else, the Go heap above all, where MADV_DONTNEED zeroes memory, is left
// alone.
func releasePages(b []byte) {
	const page = 4096
	if len(b) < 2*page {
		return
	}
	p := uintptr(unsafe.Pointer(&b[0]))
	lo, hi, ok := readOnlyFileMapping(p)
	if !ok {
		return
	}
	n := min(len(b), int(hi-p))          // within the mapping
	start := int((page - p%page) % page) // b's first whole page
	end := n - int((p+uintptr(n))%page)  // and the end of its last
	if p < lo || end <= start {
		return
	}
	_ = unix.Madvise(b[start:end], unix.MADV_DONTNEED)
}

// readOnlyFileMapping finds the mapping holding address p in /proc/self/maps and reports
// its range, and whether it maps a file without write permission.
func readOnlyFileMapping(p uintptr) (lo, hi uintptr, ok bool) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, 0, false
	}
	for line := range strings.SplitSeq(string(maps), "\n") {
		f := strings.Fields(line) // start-end perms offset dev inode path
		if len(f) < 6 {
			continue
		}
		a, b, found := strings.Cut(f[0], "-")
		s, err1 := strconv.ParseUint(a, 16, 64)
		e, err2 := strconv.ParseUint(b, 16, 64)
		if !found || err1 != nil || err2 != nil || uint64(p) < s || uint64(p) >= e {
			continue
		}
		return uintptr(s), uintptr(e), len(f[1]) == 4 && f[1][1] == '-' && f[4] != "0" && strings.HasPrefix(f[5], "/")
	}
	return 0, 0, false
}
