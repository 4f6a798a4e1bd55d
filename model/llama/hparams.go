// Package llama is the Llama-family transformer: hyperparameters and weights read
// from a GGUF file, and the forward pass written once over backend.Backend.
package llama

import (
	"fmt"
	"math"
	"strings"

	"github.com/inferno-go/inferno/gguf"
)

// HParams are the model's hyperparameters.
type HParams struct {
	Arch      string
	ArchSpec  *Arch // how the graph differs from Llama
	NLayer    int
	NEmbd     int
	NFF       int
	NHead     int
	NKVHead   int
	HeadDim   int
	RopeDim   int
	RopeBase  float32
	RMSEps    float32
	NCtxTrain int
	NVocab    int

	RopeAttnFactor   float32 // multiplies RoPE's cos and sin (rope.scaling.attn_factor; 1 without)
	NCtxOrig         int     // rope.scaling.original_context_length: Phi-3 picks its long factors past it
	HasRopeFreqs     bool    // rope_freqs.weight (Llama 3.x)
	HasRopeLongShort bool    // rope_factors_long/short.weight (Phi-3)
	Tied             bool    // no output.weight: the output head is token_embd
	SlidingWindow    int     // keys at most this far back (0: none), on the layers ArchSpec.SlidingWindow says
	AttnSoftCap      float32 // attention scores soft-capped (0: no)
	FinalSoftCap     float32 // logits soft-capped (0: no)
}

// ReadHParams reads and checks the hyperparameters of f.
func ReadHParams(f *gguf.File) (HParams, error) {
	var h HParams
	arch, err := f.Arch()
	if err != nil {
		return h, fmt.Errorf("model: %w", err)
	}
	spec := archs[arch]
	if spec == nil {
		return h, fmt.Errorf("model: architecture %q is not supported (supported: %s)", arch, strings.Join(SupportedArchitectures(), ", "))
	}
	h.Arch, h.ArchSpec = arch, spec
	if err := checkKeys(f, spec); err != nil {
		return h, err
	}
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
	// key_length is the head size where it is not n_embd/n_head (Gemma 2).
	hd, err := f.IntOr(arch+".attention.key_length", 0)
	if err != nil {
		return h, fmt.Errorf("model: %w", err)
	}
	if hd == 0 {
		if h.NEmbd%h.NHead != 0 {
			return h, fmt.Errorf("model: embedding_length %d is not a multiple of head_count %d", h.NEmbd, h.NHead)
		}
		hd = int64(h.NEmbd / h.NHead)
	}
	if hd < 2 || hd > 1<<12 {
		return h, fmt.Errorf("model: %s.attention.key_length = %d is out of range", arch, hd)
	}
	h.HeadDim = int(hd)
	if hv, err := f.IntOr(arch+".attention.value_length", hd); err != nil {
		return h, fmt.Errorf("model: %w", err)
	} else if hv != hd {
		return h, fmt.Errorf("model: %s.attention.value_length %d differs from key_length %d: not implemented", arch, hv, hd)
	}
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
	if err := readRopeScaling(f, &h); err != nil {
		return h, err
	}
	for _, k := range []string{"expert_count", "expert_used_count"} {
		if n, err := f.IntOr(arch+"."+k, 0); err != nil || n != 0 {
			return h, fmt.Errorf("model: %s.%s = %d: mixture of experts is not implemented", arch, k, n)
		}
	}
	_, err = f.Tensor("rope_freqs.weight")
	h.HasRopeFreqs = err == nil && spec.RopeFreqs
	_, errL := f.Tensor("rope_factors_long.weight")
	_, errS := f.Tensor("rope_factors_short.weight")
	h.HasRopeLongShort = (errL == nil || errS == nil) && spec.RopeLongSh
	_, err = f.Tensor("output.weight")
	h.Tied = err != nil || spec.Tied
	if spec.ReadHParams != nil {
		if err := spec.ReadHParams(f, &h); err != nil {
			return h, err
		}
	}
	return h, nil
}

// QDim is the width of the attention's queries and output: n_head × head size.
func (h *HParams) QDim() int { return h.NHead * h.HeadDim }

// readRopeScaling reads rope.scaling.*: only what changes nothing at run time, or the
// attention factor, is accepted (llama.cpp's default type is linear, factor 1).
func readRopeScaling(f *gguf.File, h *HParams) error {
	arch := h.Arch
	typ, err := f.StringOr(arch+".rope.scaling.type", "linear")
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	factor, err := f.Float32Or(arch+".rope.scaling.factor", 0)
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	switch {
	case typ == "none":
	case (typ == "linear" || typ == "longrope") && (factor == 0 || factor == 1):
	default:
		return fmt.Errorf("model: %s.rope.scaling.type %q with factor %g is not implemented", arch, typ, factor)
	}
	if h.RopeAttnFactor, err = f.Float32Or(arch+".rope.scaling.attn_factor", 1); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if h.RopeAttnFactor != 1 && !h.ArchSpec.RopeLongSh {
		return fmt.Errorf("model: %s.rope.scaling.attn_factor %g is not implemented", arch, h.RopeAttnFactor)
	}
	orig, err := f.IntOr(arch+".rope.scaling.original_context_length", int64(h.NCtxTrain))
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	h.NCtxOrig = int(orig)
	return nil
}

// positiveFinite reports whether x is a number in (0, +Inf).
func positiveFinite(x float32) bool { return x > 0 && !math.IsInf(float64(x), 1) }
