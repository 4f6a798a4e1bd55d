package cpu

import (
	"errors"
	"sync/atomic"
	"testing"
)

// TestPoolRaisesWorkerPanicInCaller: a panic in any worker's chunk is raised again by
// For in its caller after every worker is done (it used to kill the process from the
// worker's goroutine, where no caller could recover it), and the pool keeps working.
func TestPoolRaisesWorkerPanicInCaller(t *testing.T) {
	p := NewPool(4)
	defer p.Close()
	boom := errors.New("boom")
	for round := 0; round < 20; round++ {
		bad := round * 37 % 1000 // a different chunk, and so often a different worker, each round
		var done atomic.Int64
		func() {
			defer func() {
				r := recover()
				e, ok := r.(*WorkerPanic)
				if !ok || !errors.Is(e, boom) || len(e.Stack) == 0 {
					t.Fatalf("round %d: recovered %v, want a *WorkerPanic wrapping %v", round, r, boom)
				}
			}()
			p.For(1000, 1, func(_, lo, hi int) {
				for i := lo; i < hi; i++ {
					if i == bad {
						panic(boom)
					}
					done.Add(1)
				}
			})
		}()
		var sum atomic.Int64
		p.For(1000, 1, func(_, lo, hi int) { sum.Add(int64(hi - lo)) })
		if sum.Load() != 1000 {
			t.Fatalf("round %d: the pool covered %d of 1000 after a panic", round, sum.Load())
		}
	}
}
