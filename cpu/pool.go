// Package cpu is the CPU backend: the backend ops in Go over a persistent worker pool.
// It is the reference the other backends are checked against, and the fast path on
// every machine without a GPU.
package cpu

import (
	"runtime"
	"sync"
)

// Pool is a persistent set of workers that split loops by ranges. One For runs at a
// time per pool.
type Pool struct {
	n    int
	jobs []chan job
	wg   sync.WaitGroup
}

type job struct {
	fn        func(w, lo, hi int)
	w, lo, hi int
}

// NewPool starts n workers (n <= 0: one per CPU).
func NewPool(n int) *Pool {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{n: n}
	// The caller's goroutine does share 0; n-1 helpers do the rest.
	for i := 1; i < n; i++ {
		ch := make(chan job, 1)
		p.jobs = append(p.jobs, ch)
		go func() {
			for j := range ch {
				j.fn(j.w, j.lo, j.hi)
				p.wg.Done()
			}
		}()
	}
	return p
}

// Threads is the number of workers.
func (p *Pool) Threads() int { return p.n }

// For calls fn(w, lo, hi) over [0, n) split into contiguous ranges, one per worker w
// (0 <= w < Threads()), and waits. grain is the smallest range worth handing to
// another worker. fn should be a long-lived func value (not a fresh closure) so that a
// call allocates nothing.
func (p *Pool) For(n, grain int, fn func(w, lo, hi int)) {
	parts := p.n
	if grain > 0 && n/grain < parts {
		parts = max(1, n/grain)
	}
	if parts <= 1 {
		fn(0, 0, n)
		return
	}
	chunk := (n + parts - 1) / parts
	p.wg.Add(parts - 1)
	for i := 1; i < parts; i++ {
		lo, hi := i*chunk, min(n, (i+1)*chunk)
		p.jobs[i-1] <- job{fn, i, lo, hi}
	}
	fn(0, 0, min(n, chunk))
	p.wg.Wait()
}

// Close stops the workers.
func (p *Pool) Close() {
	for _, ch := range p.jobs {
		close(ch)
	}
	p.jobs = nil
}
