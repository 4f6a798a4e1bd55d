package inferno

import (
	"fmt"
	"math"
	"runtime"

	"github.com/inferno-go/inferno/internal/machine"
	"github.com/inferno-go/inferno/model/llama"
)

// OptionError reports an Options value that this machine cannot run with. Load returns
// it before allocating what the value sizes: a context or batch too large for memory
// would otherwise crash the Go runtime ("out of memory") instead of returning an error.
type OptionError struct {
	Option string // the Options field: "Threads", "ContextSize", "BatchSize" or "Sessions"
	Value  int
	Reason string // what the value needs and the limit it passes
}

func (e *OptionError) Error() string { return fmt.Sprintf("%s %d %s", e.Option, e.Value, e.Reason) }

// checkThreads refuses a thread count the pool should not start.
func checkThreads(threads int) error {
	if lim := machine.MaxThreads(); threads > lim {
		return &OptionError{"Threads", threads, fmt.Sprintf("is more than %d, the most threads this machine (%d CPUs) may use", lim, runtime.NumCPU())}
	}
	return nil
}

// checkMemory refuses a context or batch size whose session (KV cache and scratch on
// every backend that holds blocks) does not fit in the machine's memory.
func checkMemory(h llama.HParams, opts Options, threads int, onCPU, onGPU bool) error {
	if opts.ContextSize > math.MaxInt32 {
		return &OptionError{"ContextSize", opts.ContextSize, fmt.Sprintf("is more than the %d positions a session can address", math.MaxInt32)}
	}
	mem := machine.Memory()
	if mem <= 0 {
		return nil // unknown: nothing to check against
	}
	var kv, scratch int64
	if onCPU {
		// The CPU cache keeps float32 values (rounded to F16 unless F32KVCache); each
		// worker keeps a row of attention scores over the context.
		kv = satAdd(kv, h.KVCacheBytes(opts.ContextSize, 4))
		kv = satAdd(kv, 4*int64(threads)*(int64(opts.ContextSize)+32+2*int64(h.HeadDim)))
		scratch = satAdd(scratch, h.ScratchBytes(opts.BatchSize, true))
	}
	if onGPU {
		kv = satAdd(kv, h.KVCacheBytes(opts.ContextSize, 2))
		scratch = satAdd(scratch, h.ScratchBytes(opts.BatchSize, !onCPU))
	}
	n := int64(max(opts.Sessions, 1))
	if total := satMul(satAdd(kv, scratch), n); total > mem {
		e := &OptionError{"ContextSize", opts.ContextSize, ""}
		if scratch > kv {
			e.Option, e.Value = "BatchSize", opts.BatchSize
		}
		e.Reason = fmt.Sprintf("needs %s per session (KV cache %s for %d positions, compute buffers %s for batches of %d), more than this machine's %s of memory",
			memSize(satAdd(kv, scratch)), memSize(kv), opts.ContextSize, memSize(scratch), opts.BatchSize, memSize(mem))
		if n > 1 {
			e.Reason = fmt.Sprintf("needs %s for %d sessions (%s each: KV cache %s for %d positions, compute buffers %s for batches of %d), more than this machine's %s of memory",
				memSize(total), n, memSize(satAdd(kv, scratch)), memSize(kv), opts.ContextSize, memSize(scratch), opts.BatchSize, memSize(mem))
		}
		return e
	}
	return nil
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, n int64) int64 {
	if n > 0 && a > math.MaxInt64/n {
		return math.MaxInt64
	}
	return a * n
}

func memSize(n int64) string {
	if n == math.MaxInt64 {
		return "more than 8 EiB"
	}
	if n < 1<<30 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}
