// Package cpu is the CPU backend: the backend ops in Go over a persistent worker pool.
// It is the reference the other backends are checked against, and the fast path on
// every machine without a GPU.
package cpu

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Pool is a persistent set of workers that split loops into chunks. One For runs at a
// time per pool.
//
// A decode step is some two hundred short parallel loops, so handing work over must
// cost far less than a goroutine wake-up: idle helpers spin on the loop word for a
// while before they park on their channel, and chunks are taken from an atomic
// counter. A helper takes part in a loop only if it joins while the loop is open; the
// caller works through the chunks itself and then closes the loop, so it waits only
// for helpers that are inside a chunk, never for one that has not woken up yet or has
// lost its core to another process. While it waits it spins briefly, then parks, so
// that a helper which lost its core can have the caller's.
type Pool struct {
	n    int
	spin bool // helpers spin before parking (only when each has a core)

	// loop is the loop in flight: generation<<32 | closed<<31 | helpers inside.
	loop atomic.Uint64
	_    [56]byte     // next on its own cache line: helpers bump it once per chunk
	next atomic.Int64 // next unclaimed index of the loop in flight
	_    [56]byte
	// The loop's work, written by For only while no helper is inside a loop.
	fn    func(w, lo, hi int)
	count int64
	chunk int64

	sleeping []atomic.Bool // helper parked (or about to) on wake[w]
	wake     []chan struct{}
	waiting  atomic.Bool   // the caller parked (or about to) on done
	done     chan struct{} // the last helper out of a closed loop wakes the caller
	quit     atomic.Bool

	panicked atomic.Pointer[WorkerPanic] // the first panic in the loop in flight

	beforeJoin func(w int) // test hook: a helper about to join a loop
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

const (
	loopClosed = 1 << 31
	loopInside = loopClosed - 1 // mask of the count of helpers inside
)

// chunksPer is how many chunks each worker's share of a loop is cut into: enough to
// even out uneven work (causal attention), few enough that a chunk is a long run of
// rows (every chunk restarts the weight stream's prefetch).
const chunksPer = 4

// spinFor is how many checks an idle helper makes before parking: a few hundred
// microseconds, longer than the gap between two ops or two decode steps.
const spinFor = 200000

// waitSpin is how long the caller spins for helpers still inside a chunk before it
// parks: longer than a chunk of a small model's loop takes (parking then costs a
// wake-up), far shorter than the time slice a helper that lost its core waits out.
const waitSpin = 200 * time.Microsecond

// NewPool starts n workers (n <= 0: one per CPU).
func NewPool(n int) *Pool {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{n: n, spin: n <= runtime.GOMAXPROCS(0), done: make(chan struct{}, 1)}
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
	var seen uint64             // generation of the last loop this helper looked at
	for {
		l := p.loop.Load()
		for i := 0; l>>32 == seen && p.spin && i < spinFor; i++ {
			l = p.loop.Load()
		}
		if l>>32 == seen { // park until For or Close wakes us
			p.sleeping[w].Store(true)
			if l = p.loop.Load(); l>>32 != seen || p.quit.Load() {
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
		seen = l >> 32
		if p.quit.Load() {
			return
		}
		if p.beforeJoin != nil {
			p.beforeJoin(w)
		}
		if p.join(l) {
			p.runGuarded(w)
			p.leave()
		}
	}
}

// join enters the open loop l; it fails once the caller has closed it.
func (p *Pool) join(l uint64) bool {
	gen := l >> 32
	for l>>32 == gen && l&loopClosed == 0 {
		if p.loop.CompareAndSwap(l, l+1) {
			return true
		}
		l = p.loop.Load()
	}
	return false
}

// leave exits the loop; the last helper out of a closed loop wakes a parked caller.
func (p *Pool) leave() {
	l := p.loop.Add(^uint64(0))
	if l&loopClosed != 0 && l&loopInside == 0 && p.waiting.Load() && p.waiting.CompareAndSwap(true, false) {
		p.done <- struct{}{}
	}
}

// run takes chunks of the loop in flight until none are left.
func (p *Pool) run(w int) {
	n, chunk, fn := p.count, p.chunk, p.fn
	for {
		lo := p.next.Add(chunk) - chunk
		if lo >= n {
			return
		}
		fn(w, int(lo), int(min(lo+chunk, n)))
	}
}

// runGuarded is run, keeping the first panic for For to raise in its caller. After a
// panic the worker takes no more chunks; the others finish the loop.
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
	p.fn, p.count = fn, int64(n)
	p.chunk = int64(max(grain, (n+chunksPer*p.n-1)/(chunksPer*p.n)))
	p.next.Store(0)
	p.loop.Store((p.loop.Load()>>32 + 1) << 32) // a new generation, open, nobody inside
	for w := 1; w < p.n; w++ {
		if p.sleeping[w].CompareAndSwap(true, false) {
			p.wake[w] <- struct{}{}
		}
	}
	p.runGuarded(0)
	// Every chunk is taken (or the caller panicked): close the loop and wait for the
	// helpers inside one.
	if p.loop.Or(loopClosed)&loopInside != 0 {
		p.wait()
	}
	p.fn = nil
	if p.panicked.Load() != nil {
		panic(p.panicked.Swap(nil))
	}
}

// wait returns once no helper is inside the closed loop.
func (p *Pool) wait() {
	start := time.Now()
	for i := 1; ; i++ {
		if p.loop.Load()&loopInside == 0 {
			return
		}
		if i%64 == 0 && time.Since(start) > waitSpin {
			break
		}
	}
	p.waiting.Store(true)
	if p.loop.Load()&loopInside == 0 && p.waiting.CompareAndSwap(true, false) {
		return
	}
	<-p.done // the last helper out claimed waiting and sends
}

// Close stops the workers.
func (p *Pool) Close() {
	if p.quit.Swap(true) {
		return
	}
	p.loop.Add(1 << 32)
	for w := 1; w < p.n; w++ {
		if p.sleeping[w].CompareAndSwap(true, false) {
			p.wake[w] <- struct{}{}
		}
	}
}
