package machine

import (
	"runtime"
	"testing"
)

func TestMemory(t *testing.T) {
	m := Memory()
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Logf("SKIP the size check: %s reports no memory size (Memory() = %d)", runtime.GOOS, m)
		return
	}
	if m < 256<<20 || m > 1<<50 {
		t.Errorf("Memory() = %d bytes, not a plausible machine", m)
	}
}
