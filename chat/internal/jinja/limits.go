package jinja

import (
	"fmt"
	"strings"
)

// Limits of one render (changed from upstream, see README.md). A chat template comes
// from a model file: without them a recursive macro overflows the Go stack (a fatal
// error, not a panic), range(10**9) or nested loops run for minutes, and a string that
// doubles in a loop exhausts memory.
const (
	MaxSteps = 2_000_000 // template nodes run, expressions evaluated and loop iterations
	MaxDepth = 100       // nesting of macro and caller calls, of parsed expressions and blocks, of values
	MaxBytes = 16 << 20  // length of any string built, and of the output
	MaxItems = 1 << 20   // length of any list built
	// MaxSource bounds a template's source (real ones are a few KiB): it bounds the
	// depth of chains such as a+a+a+..., which the evaluator walks recursively.
	MaxSource = 256 << 10
)

// LimitError is the error of a template that passes one of the limits.
type LimitError struct{ What string }

func (e *LimitError) Error() string { return "template exceeds a limit: " + e.What }

// budget counts one render's steps and call depth; every evaluator of the render
// shares it.
type budget struct {
	steps int
	depth int
}

func (b *budget) step() error {
	b.steps++
	if b.steps > MaxSteps {
		return &LimitError{fmt.Sprintf("more than %d steps (a loop that runs too long?)", MaxSteps)}
	}
	return nil
}

// enter counts a macro or caller call; leave must follow.
func (b *budget) enter(name string) error {
	b.depth++
	if b.depth > MaxDepth {
		return &LimitError{fmt.Sprintf("%s nested more than %d calls deep (recursion?)", name, MaxDepth)}
	}
	return nil
}

func (b *budget) leave() { b.depth-- }

// The checks below run where no error can be returned (deep in a builtin or value
// method): they panic with a *LimitError, which render recovers.

// fitBytes checks a string of n bytes about to be built.
func fitBytes(n int, what string) {
	if n < 0 || n > MaxBytes {
		panic(&LimitError{fmt.Sprintf("%s would be more than %d bytes", what, MaxBytes)})
	}
}

// fitItems checks a list of n items about to be built.
func fitItems(n int, what string) {
	if n < 0 || n > MaxItems {
		panic(&LimitError{fmt.Sprintf("%s would have more than %d items", what, MaxItems)})
	}
}

// fitDepth checks the nesting of a value being walked (a list that contains itself
// would otherwise recurse forever).
func fitDepth(depth int) {
	if depth > MaxDepth {
		panic(&LimitError{fmt.Sprintf("a value nested more than %d levels deep (or containing itself)", MaxDepth)})
	}
}

// fitReplace checks strings.Replace(s, old, repl, n) before it runs.
func fitReplace(s, old, repl string, n int) {
	m := strings.Count(s, old) // with old == "", the insertion points: as Replace counts them
	if n >= 0 {
		m = min(m, n)
	}
	fitBytes(len(s)+m*(len(repl)-len(old)), "a replaced string")
}
