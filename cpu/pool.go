// Package cpu is the CPU backend: the backend ops in Go over a persistent worker pool.
// It is the reference the other backends are checked against, and the fast path on
// every machine without a GPU.
package cpu

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
)

// Pool is a persistent set of workers that split loops into chunks. One For runs at a
// time per pool.
//
// A decode step is some two hundred short parallel loops, so handing work over must
// cost far less than a goroutine wake-up: idle workers spin on a generation counter
// for a while (spinFor checks) before they park on their channel, and chunks are taken
// from an atomic counter, so a worker whose core the VM takes away for a moment delays
// the loop by one chunk, not by its whole share.
type Pool struct {
	n     int
	spin  bool          // workers spin before parking (only when each has a core)
	gen   atomic.Uint64 // bumped once per For
	next  atomic.Int64  // next unclaimed index of the loop in flight
	left  atomic.Int32  // helpers still working on the loop in flight
	fn    func(w, lo, hi int)
	count int
	chunk int

	sleeping []atomic.Bool
	wake     []chan struct{}
	quit     atomic.Bool
	panicked atomic.Pointer[WorkerPanic] // the first panic in the loop in flight
}

// WorkerPanic is a panic in a loop of For, raised again in For's caller once every
// worker is done, so that the pool stays usable and the caller can recover it (a
// fault reading a model file truncated under its mapping becomes an error there).
type WorkerPanic struct {
	Value any
	Stack []byte // of the goroutine that panicked
}

func (e *WorkerPanic) Error() string { return fmt.Sprintf("%v\n\npool worker:\n%s", e.Value, e.Stack) }

// Unwrap returns the panic value when it is an error (a runtime.Error, say).
func (e *WorkerPanic) Unwrap() error { err, _ := e.Value.(error); return err }

// chunksPer is how many chunks each worker's share of a loop is cut into (16 made
// decode 6% slower than 4 in an A/B of four pairs: every chunk restarts the weight
// stream's prefetch).
const chunksPer = 4

// spinFor is how many generation checks an idle worker makes before parking: a few
// hundred microseconds, longer than the gap between two ops or two decode steps.
const spinFor = 200000

// NewPool starts n workers (n <= 0: one per CPU).
func NewPool(n int) *Pool {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{n: n, spin: n <= runtime.GOMAXPROCS(0)}
	p.sleeping = make([]atomic.Bool, n)
	p.wake = make([]chan struct{}, n)
	// The caller's goroutine is worker 0; n-1 helpers do the rest.
	for i := 1; i < n; i++ {
		p.wake[i] = make(chan struct{}, 1)
		go p.worker(i)
	}
	return p
}

func (p *Pool) worker(w int) {
	debug.SetPanicOnFault(true) // a fault on a mapped file panics, for For's caller to handle
	var seen uint64
	for {
		g := p.gen.Load()
		for i := 0; g == seen && p.spin && i < spinFor; i++ {
			g = p.gen.Load()
		}
		if g == seen { // park until For or Close wakes us
			p.sleeping[w].Store(true)
			if g = p.gen.Load(); g != seen || p.quit.Load() {
				if !p.sleeping[w].CompareAndSwap(true, false) {
					<-p.wake[w] // a waker claimed us: take its token
				}
			} else {
				<-p.wake[w]
			}
			if p.quit.Load() {
				return
			}
			continue
		}
		seen = g
		if p.quit.Load() {
			return
		}
		p.runGuarded(w)
		p.left.Add(-1)
	}
}

// run takes chunks of the loop in flight until none are left.
func (p *Pool) run(w int) {
	n, chunk, fn := int64(p.count), int64(p.chunk), p.fn
	for {
		lo := p.next.Add(chunk) - chunk
		if lo >= n {
			return
		}
		fn(w, int(lo), int(min(lo+chunk, n)))
	}
}

// runGuarded is run, keeping the first panic for For to raise in its caller.
func (p *Pool) runGuarded(w int) {
	defer func() {
		if r := recover(); r != nil {
			p.panicked.CompareAndSwap(nil, &WorkerPanic{Value: r, Stack: debug.Stack()})
		}
	}()
	p.run(w)
}

// Threads is the number of workers.
func (p *Pool) Threads() int { return p.n }

// For calls fn(w, lo, hi) over [0, n) in contiguous chunks of at least grain indices,
// w being the calling worker (0 <= w < Threads()), and waits for all of them. fn
// should be a long-lived func value (not a fresh closure) so that a call allocates
// nothing.
func (p *Pool) For(n, grain int, fn func(w, lo, hi int)) {
	grain = max(1, grain)
	if n <= 0 {
		return
	}
	if p.n == 1 || n <= grain {
		fn(0, 0, n)
		return
	}
	// chunksPer chunks per worker: enough to even out uneven work (causal attention)
	// and stolen cores, few enough that a chunk is a long run of rows.
	chunk := max(grain, (n+chunksPer*p.n-1)/(chunksPer*p.n))
	p.fn, p.count, p.chunk = fn, n, chunk
	p.next.Store(0)
	p.left.Store(int32(p.n - 1))
	p.gen.Add(1)
	for w := 1; w < p.n; w++ {
		if p.sleeping[w].CompareAndSwap(true, false) {
			p.wake[w] <- struct{}{}
		}
	}
	p.runGuarded(0)
	for i := 0; p.left.Load() != 0; i++ {
		if i > 1000 {
			runtime.Gosched()
		}
	}
	p.fn = nil
	if e := p.panicked.Swap(nil); e != nil {
		panic(e)
	}
}

// Close stops the workers.
func (p *Pool) Close() {
	if p.quit.Swap(true) {
		return
	}
	p.gen.Add(1)
	for w := 1; w < p.n; w++ {
		if p.sleeping[w].CompareAndSwap(true, false) {
			p.wake[w] <- struct{}{}
		}
	}
}
