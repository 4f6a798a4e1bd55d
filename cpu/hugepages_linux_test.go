package cpu

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mappingRssKiB is the resident size of the mapping holding b, from /proc/self/smaps.
func mappingRssKiB(t *testing.T, b []byte) int {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("SKIP: no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	p := uint64(uintptr(unsafe.Pointer(&b[0])))
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var s, e uint64
		if n, _ := fmt.Sscanf(line, "%x-%x", &s, &e); n == 2 && strings.Contains(line, " ") {
			in = p >= s && p < e
			continue
		}
		var kb int
		if in && strings.HasPrefix(line, "Rss:") {
			fmt.Sscanf(line, "Rss: %d kB", &kb)
			return kb
		}
	}
	t.Fatal("mapping not found in /proc/self/smaps")
	return 0
}

// TestReleasePages: the file's pages of a repacked weight leave the resident set and
// read back unchanged; heap memory (where MADV_DONTNEED would zero it) is not touched.
func TestReleasePages(t *testing.T) {
	const n = 1 << 20
	want := make([]byte, n)
	for i := range want {
		want[i] = byte(i*7 + i>>11)
	}
	path := filepath.Join(t.TempDir(), "w.bin")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	m, err := unix.Mmap(int(fh.Fd()), 0, n, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	var sum byte
	for i := 0; i < n; i += 4096 {
		sum += m[i] // fault every page in
	}
	before := mappingRssKiB(t, m)
	releasePages(m[100 : n-100]) // not page-aligned: the partial pages at either end stay
	after := mappingRssKiB(t, m)
	if before < n/1024-8 || after > 8 {
		t.Errorf("mapping resident %d KiB before, %d KiB after releasePages (want about %d, then at most 8)", before, after, n/1024)
	}
	if !bytes.Equal(m, want) {
		t.Fatal("the file's bytes changed after releasePages")
	}
	heap := append([]byte(nil), want...)
	releasePages(heap)
	if !bytes.Equal(heap, want) {
		t.Fatal("releasePages changed heap memory")
	}
	t.Logf("checksum of the faulted pages %d", sum) // keeps the faulting loads
}
