package cpu

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolFor: every index of every loop is visited exactly once, by a valid worker,
// whether the helpers are spinning (back-to-back loops) or parked (after a pause longer
// than the spin window), for loop sizes around the chunk boundaries.
func TestPoolFor(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := NewPool(threads)
		for round := 0; round < 3; round++ {
			for _, n := range []int{0, 1, 2, 7, 16, 17, 100, 1000, 4097} {
				for _, grain := range []int{0, 1, 16, 64} {
					hits := make([]atomic.Int32, n)
					var bad atomic.Bool
					p.For(n, grain, func(w, lo, hi int) {
						if w < 0 || w >= threads || lo < 0 || hi > n || lo >= hi || (grain > 1 && hi-lo < grain && hi != n) {
							bad.Store(true)
						}
						for i := lo; i < hi; i++ {
							hits[i].Add(1)
						}
					})
					if bad.Load() {
						t.Fatalf("threads %d n %d grain %d: a call with a bad worker or range", threads, n, grain)
					}
					for i := range hits {
						if c := hits[i].Load(); c != 1 {
							t.Fatalf("threads %d n %d grain %d: index %d visited %d times", threads, n, grain, i, c)
						}
					}
				}
			}
			time.Sleep(20 * time.Millisecond) // let the helpers park
		}
		p.Close()
		p.Close() // idempotent
	}
}

// BenchmarkPoolFor is the cost of handing one short loop to the workers and back, the
// price a decode step pays some two hundred times.
func BenchmarkPoolFor(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	var sink atomic.Int64
	fn := func(_, lo, hi int) { sink.Add(int64(hi - lo)) }
	for b.Loop() {
		p.For(64, 1, fn)
	}
}

// TestStreamSum: the wide read loop adds like a plain one, for lengths around its
// 16-word steps.
func TestStreamSum(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 100, 4096 + 5} {
		p := make([]uint64, n)
		var want uint64
		for i := range p {
			p[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
			want += p[i]
		}
		if got := StreamSum(p); got != want {
			t.Errorf("n=%d: %d, want %d", n, got, want)
		}
	}
}

// TestPoolStalledHelper: a helper that cannot run (here held before it joins, as one
// whose core another process took) does not hold up the loops: the caller does every
// chunk itself, and the helper takes part again once it runs.
func TestPoolStalledHelper(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	held, release := make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	p.beforeJoin = func(w int) {
		if w == 1 && once.CompareAndSwap(false, true) {
			close(held)
			<-release
		}
	}
	const n = 1000
	loops := func(rounds int) chan int {
		done := make(chan int, 1)
		go func() {
			var bad int
			for r := 0; r < rounds; r++ {
				hits := make([]atomic.Int32, n)
				p.For(n, 1, func(_, lo, hi int) {
					for i := lo; i < hi; i++ {
						hits[i].Add(1)
					}
				})
				for i := range hits {
					if hits[i].Load() != 1 {
						bad++
					}
				}
			}
			done <- bad
		}()
		return done
	}
	done := loops(1)
	<-held // helper 1 is stuck before joining the first loop
	// Far more than a scheduling delay: a caller that waits for the stuck helper hangs.
	const hang = 10 * time.Second
	select {
	case bad := <-done:
		if bad != 0 {
			t.Fatalf("%d indices not visited exactly once", bad)
		}
	case <-time.After(hang):
		t.Fatalf("a loop waited %v for a helper that never joined", hang)
	}
	select {
	case bad := <-loops(200):
		if bad != 0 {
			t.Fatalf("%d indices not visited exactly once", bad)
		}
	case <-time.After(hang):
		t.Fatalf("loops waited %v for a helper that never joined", hang)
	}
	close(release)
	if bad := <-loops(200); bad != 0 {
		t.Fatalf("after the helper came back: %d indices not visited exactly once", bad)
	}
}

// BenchmarkPoolForWork is a loop of 64 short pieces of work (about a microsecond
// each), the size of a small model's MatMul chunks.
func BenchmarkPoolForWork(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	sums := make([]float64, 64)
	fn := func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			s := 0.0
			for j := 0; j < 300; j++ {
				s += float64(j) * 1.0001
			}
			sums[i] = s
		}
	}
	for b.Loop() {
		p.For(64, 1, fn)
	}
}
