// Package llama is the Llama-family transformer: hyperparameters and weights read
// from a GGUF file, and the forward pass written once over backend.Backend.
package llama

import (
	"fmt"
	"math"
	"strings"

	"github.com/inferno-go/inferno/gguf"
)

// SupportedArchitectures are the general.architecture values this package runs.
var SupportedArchitectures = []string{"llama"}

// HParams are the model's hyperparameters.
type HParams struct {
	Arch      string
	NLayer    int
	NEmbd     int
	NFF       int
	NHead     int
	NKVHead   int
	HeadDim   int
	RopeDim   int
	RopeBase  float32
	RopeNeoX  bool
	RMSEps    float32
	NCtxTrain int
	NVocab    int
}

// ReadHParams reads and checks the hyperparameters of f.
func ReadHParams(f *gguf.File) (HParams, error) {
	var h HParams
	arch, err := f.Arch()
	if err != nil {
		return h, fmt.Errorf("model: %w", err)
	}
	supported := false
	for _, a := range SupportedArchitectures {
		supported = supported || a == arch
	}
	if !supported {
		return h, fmt.Errorf("model: architecture %q is not supported (supported: %s)", arch, strings.Join(SupportedArchitectures, ", "))
	}
	h.Arch = arch
	req := func(key string) (int, error) {
		v, err := f.Int(arch + "." + key)
		if err != nil {
			return 0, fmt.Errorf("model: %w", err)
		}
		if v <= 0 || v > 1<<24 {
			return 0, fmt.Errorf("model: %s.%s = %d is out of range", arch, key, v)
		}
		return int(v), nil
	}
	if h.NLayer, err = req("block_count"); err != nil {
		return h, err
	}
	if h.NEmbd, err = req("embedding_length"); err != nil {
		return h, err
	}
	if h.NFF, err = req("feed_forward_length"); err != nil {
		return h, err
	}
	if h.NHead, err = req("attention.head_count"); err != nil {
		return h, err
	}
	if h.NCtxTrain, err = req("context_length"); err != nil {
		return h, err
	}
	kv, err := f.IntOr(arch+".attention.head_count_kv", int64(h.NHead))
	if err != nil {
		return h, fmt.Errorf("model: %w", err)
	}
	h.NKVHead = int(kv)
	if h.NKVHead <= 0 || h.NHead%h.NKVHead != 0 {
		return h, fmt.Errorf("model: %s.attention.head_count_kv = %d does not divide head_count %d", arch, h.NKVHead, h.NHead)
	}
	if h.NEmbd%h.NHead != 0 {
		return h, fmt.Errorf("model: embedding_length %d is not a multiple of head_count %d", h.NEmbd, h.NHead)
	}
	h.HeadDim = h.NEmbd / h.NHead
	rd, err := f.IntOr(arch+".rope.dimension_count", int64(h.HeadDim))
	if err != nil {
		return h, fmt.Errorf("model: %w", err)
	}
	h.RopeDim = int(rd)
	if h.RopeDim <= 0 || h.RopeDim > h.HeadDim || h.RopeDim%2 != 0 {
		return h, fmt.Errorf("model: %s.rope.dimension_count = %d must be even and at most the head size %d", arch, h.RopeDim, h.HeadDim)
	}
	if h.RopeBase, err = f.Float32Or(arch+".rope.freq_base", 10000); err != nil {
		return h, fmt.Errorf("model: %w", err)
	}
	if h.RMSEps, err = f.Float32Or(arch+".attention.layer_norm_rms_epsilon", 1e-5); err != nil {
		return h, fmt.Errorf("model: %w", err)
	}
	// Both load fine and then turn every activation into NaN (or every rotation into
	// the identity), so they are refused here rather than discovered as garbage text.
	if !positiveFinite(h.RopeBase) {
		return h, fmt.Errorf("model: %s.rope.freq_base = %v must be a positive number", arch, h.RopeBase)
	}
	if !positiveFinite(h.RMSEps) {
		return h, fmt.Errorf("model: %s.attention.layer_norm_rms_epsilon = %v must be a positive number", arch, h.RMSEps)
	}
	nv, err := f.IntOr(arch+".vocab_size", 0)
	if err != nil {
		return h, fmt.Errorf("model: %w", err)
	}
	if nv == 0 {
		if v, ok := f.Lookup("tokenizer.ggml.tokens"); ok {
			nv = int64(v.Len())
		}
	}
	if nv <= 0 {
		return h, fmt.Errorf("model: no %s.vocab_size and no tokenizer.ggml.tokens to count", arch)
	}
	h.NVocab = int(nv)
	return h, nil
}

// positiveFinite reports whether x is a number in (0, +Inf).
func positiveFinite(x float32) bool { return x > 0 && !math.IsInf(float64(x), 1) }
