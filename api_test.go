package inferno

import (
	"context"
	"errors"
	"fmt"
	"github.com/inferno-go/inferno/cuda"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/metal/sim"
	"github.com/inferno-go/inferno/sample"
)

// testBackend is a backend configuration of the lifecycle and concurrency tests.
type testBackend struct {
	name      string
	backend   string
	gpuLayers int
}

// testBackends are cpu, metal-sim (and, with split, metal-sim with the first two
// blocks on the GPU and the rest on the CPU) and cuda-sim; the simulator needs clang-19:
// without it the test logs why and runs on cpu alone (CI=true makes that a failure).
func testBackends(t *testing.T, split bool) []testBackend {
	out := []testBackend{{"cpu", "cpu", 0}}
	// cuda where a driver finds a GPU (scripts/gpu-check.sh runs these tests there).
	if l, err := cuda.Devices(); err == nil && len(l) > 0 {
		out = append(out, testBackend{"cuda", "cuda", 0})
		if split {
			out = append(out, testBackend{"cuda+cpu", "cuda", 2})
		}
	} else if err != nil {
		t.Logf("SKIP cuda: %v", err)
	} else {
		t.Log("SKIP cuda: the driver reports no device")
	}
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("metal-sim: %v", err)
		}
		t.Logf("SKIP metal-sim: %v", err)
		return out
	}
	out = append(out, testBackend{"metal-sim", "metal-sim", 0})
	if split {
		out = append(out, testBackend{"metal-sim+cpu", "metal-sim", 2})
	}
	// the CUDA kernels and host path (MetalDevice over cuda.SimDevice) on the simulator
	return append(out, testBackend{"cuda-sim", "cuda-sim", 0})
}

func loadOn(t *testing.T, be testBackend, ctxSize int) *Model {
	t.Helper()
	m, err := Load(refdata.Path(t, "models", "stories260K.gguf"),
		Options{Threads: 2, ContextSize: ctxSize, BatchSize: 16, Backend: be.backend, GPULayers: be.gpuLayers})
	if err != nil {
		t.Fatal(err)
	}
	if m.BackendName() != be.name {
		t.Fatalf("backend %s, want %s", m.BackendName(), be.name)
	}
	return m
}

// TestUseAfterClose: a Session used after its Close or its Model's Close, and a Model
// used after Close, return ErrClosed (never a crash); Session.Close gives the GPU
// memory of its KV cache and scratch back.
func TestUseAfterClose(t *testing.T) {
	ctx := context.Background()
	prompt := []int32{1, 403, 407}
	for _, be := range testBackends(t, true) {
		t.Run(be.name, func(t *testing.T) {
			m := loadOn(t, be, 64)
			// A first session leaves the backend's own staging buffers (token ids,
			// positions), which later sessions reuse; only what a session owns must go.
			s0 := newSession(t, m)
			if _, err := s0.Eval(ctx, prompt); err != nil {
				t.Fatal(err)
			}
			if err := s0.Close(); err != nil {
				t.Fatal(err)
			}
			before := m.GPUMemory()
			s := newSession(t, m)
			if be.backend != "cpu" {
				if mem := m.GPUMemory(); mem.KVCache <= 0 || mem.Compute <= 0 {
					t.Errorf("GPU memory with a session: %+v", mem)
				}
			}
			if _, err := s.Eval(ctx, prompt); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Eval(ctx, prompt[:1]); err != nil { // a decode step: attention's partials
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if mem := m.GPUMemory(); mem != before {
				t.Errorf("GPU memory after Session.Close %+v, before the session %+v", mem, before)
			}
			checkClosed(t, "after Session.Close", s)

			s2 := newSession(t, m)
			if _, err := s2.EvalAll(ctx, prompt); err != nil {
				t.Fatal(err)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			checkClosed(t, "after Model.Close", s2)
			if _, err := m.NewSession(); !errors.Is(err, ErrClosed) {
				t.Errorf("NewSession after Model.Close: %v", err)
			}
			if err := m.Close(); !errors.Is(err, ErrClosed) {
				t.Errorf("second Model.Close: %v", err)
			}
			if got := m.Tokenize("Once upon a time"); !reflect.DeepEqual(got, []int32{1, 403, 407, 261, 378}) {
				t.Errorf("Tokenize after Close: %v", got)
			}
			if v, ok := m.Metadata("general.architecture"); !ok || v.Any() != "llama" {
				t.Errorf("Metadata after Close: %v %v", v, ok)
			}
		})
	}
}

func checkClosed(t *testing.T, when string, s *Session) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Eval(ctx, []int32{1}); !errors.Is(err, ErrClosed) {
		t.Errorf("Eval %s: %v", when, err)
	}
	if _, err := s.EvalAll(ctx, []int32{1}); !errors.Is(err, ErrClosed) {
		t.Errorf("EvalAll %s: %v", when, err)
	}
	if _, err := s.Generate(ctx, []int32{1}, GenerateOptions{MaxTokens: 2, Sampling: greedyParams()}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Generate %s: %v", when, err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("Close %s: %v", when, err)
	}
	if s.ContextSize() != 64 {
		t.Errorf("ContextSize %s: %d", when, s.ContextSize())
	}
}

// TestCancelPrompt: a cancelled context stops Eval with context.Canceled and leaves
// the session as it was; Generate reports StopCancelled.
func TestCancelPrompt(t *testing.T) {
	m := loadOn(t, testBackend{"cpu", "cpu", 0}, 64)
	defer m.Close()
	s := newSession(t, m)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Eval(ctx, make([]int32, 40)); !errors.Is(err, context.Canceled) || len(s.Tokens()) != 0 {
		t.Errorf("cancelled Eval: %v, %d tokens in the session", err, len(s.Tokens()))
	}
	res, err := s.Generate(ctx, m.Tokenize("Once upon a time"), GenerateOptions{MaxTokens: 5, Sampling: greedyParams()}, nil)
	if err != nil || res.StopReason != StopCancelled || len(res.Tokens) != 0 {
		t.Errorf("cancelled Generate: %v, %v", err, res)
	}
}

// TestConcurrentSessions: sessions sharing one model, made, run and closed from several
// goroutines at once, give the same tokens as alone (run under -race by make test-race).
func TestConcurrentSessions(t *testing.T) {
	prompts := []string{"Once upon a time", "The little dog", "Lily and Tom went"}
	sampled := sample4()
	for _, be := range testBackends(t, false) {
		t.Run(be.name, func(t *testing.T) {
			m := loadOn(t, be, 128)
			defer m.Close()
			run := func(p string, i int) ([]int32, error) {
				s, err := m.NewSession()
				if err != nil {
					return nil, err
				}
				defer s.Close()
				opt := GenerateOptions{MaxTokens: 12, Sampling: greedyParams()}
				if i%2 == 1 {
					opt.Sampling = sampled
				}
				r, err := s.Generate(context.Background(), m.Tokenize(p), opt, nil)
				if err != nil {
					return nil, err
				}
				return r.Tokens, nil
			}
			want := make([][]int32, 2*len(prompts))
			for i := range want {
				toks, err := run(prompts[i%len(prompts)], i)
				if err != nil {
					t.Fatal(err)
				}
				want[i] = toks
			}
			var wg sync.WaitGroup
			errs := make([]error, len(want))
			for i := range want {
				wg.Add(1)
				go func() {
					defer wg.Done()
					toks, err := run(prompts[i%len(prompts)], i)
					if err == nil && !reflect.DeepEqual(toks, want[i]) {
						err = fmt.Errorf("tokens %v, alone %v", toks, want[i])
					}
					errs[i] = err
					_ = m.GPUMemory()
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("session %d (%q): %v", i, prompts[i%len(prompts)], err)
				}
			}
		})
	}
}

// sample4 samples (not greedy) with a fixed seed, so a session's tokens are reproducible.
func sample4() sample.Params {
	p := sample.Defaults()
	p.Seed = 4
	return p
}
