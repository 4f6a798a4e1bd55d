// Package inferno runs GGUF Llama-family language models in pure Go.
//
// Load a model once and open a Session per conversation; a Session owns its KV cache,
// the Model's weights are shared. Generation streams tokens to a callback and stops at
// an end-of-generation token, a token budget, a stop string, or when the context is
// cancelled. Running past the context length is an error, never a silent truncation.
package inferno

import (
	"fmt"
	"time"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/model/llama"
	"github.com/inferno-go/inferno/tokenizer"
)

// Options configure loading.
type Options struct {
	Threads     int  // CPU worker threads; 0: all cores
	ContextSize int  // tokens per session; 0: the model's training context, at most 4096
	BatchSize   int  // prompt tokens per forward pass; 0: 512
	F32KVCache  bool // store K/V in float32 instead of llama.cpp's default float16
}

// Model is a loaded model. It is safe for concurrent use by several sessions.
type Model struct {
	Path      string
	File      *gguf.File
	LLM       *llama.Model
	Tokenizer *tokenizer.Tokenizer
	Backend   backend.Backend
	opts      Options
	LoadTime  time.Duration
	cpu       *cpu.Backend
}

// Load opens a GGUF model.
func Load(path string, opts Options) (*Model, error) {
	start := time.Now()
	if opts.BatchSize <= 0 {
		opts.BatchSize = 512
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	tk, err := tokenizer.FromGGUF(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b := cpu.New(opts.Threads)
	m, err := llama.Load(b, f)
	if err != nil {
		b.Close()
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if tk.Len() != m.NVocab {
		b.Close()
		f.Close()
		return nil, fmt.Errorf("%s: tokenizer has %d tokens, model %d", path, tk.Len(), m.NVocab)
	}
	if opts.ContextSize <= 0 {
		opts.ContextSize = min(m.NCtxTrain, 4096)
	}
	return &Model{Path: path, File: f, LLM: m, Tokenizer: tk, Backend: b, cpu: b, opts: opts, LoadTime: time.Since(start)}, nil
}

// BackendName names the backend running the model ("cpu").
func (m *Model) BackendName() string { return m.Backend.Name() }

// Threads is the number of CPU threads.
func (m *Model) Threads() int { return m.cpu.Threads() }

// ContextSize is the per-session context length.
func (m *Model) ContextSize() int { return m.opts.ContextSize }

// Close releases the model; sessions must not be used afterwards.
func (m *Model) Close() error {
	m.cpu.Close()
	return m.File.Close()
}

// Tokenize encodes text with the model's default BOS handling and special tokens parsed.
func (m *Model) Tokenize(text string) []int32 { return m.Tokenizer.Encode(text, true, true) }
