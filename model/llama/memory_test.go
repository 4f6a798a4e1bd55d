package llama_test

import (
	"runtime"
	"testing"

	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/model/llama"
)

// TestStateBytesMatchesAllocation: KVCacheBytes and ScratchBytes (what Load checks
// against the machine's memory) are what NewState really allocates on the CPU, within
// the small per-state bookkeeping.
func TestStateBytesMatchesAllocation(t *testing.T) {
	b := cpu.New(1)
	defer b.Close()
	m, f, err := llama.Open(b, refdata.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const nCtx, batch = 4096, 256
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	st, err := m.NewState(nCtx, batch, false)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(st)
	got := int64(after.TotalAlloc - before.TotalAlloc)
	want := m.KVCacheBytes(nCtx, 4) + m.ScratchBytes(batch, true)
	if got < want || got > want+want/50 {
		t.Errorf("NewState allocated %d bytes, KVCacheBytes+ScratchBytes say %d", got, want)
	}
	if m.KVCacheBytes(1<<62, 4) <= 0 || m.ScratchBytes(1<<62, true) <= 0 {
		t.Error("sizes overflow instead of saturating")
	}
}
