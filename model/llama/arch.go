package llama

import (
	"fmt"
	"sort"
	"strings"

	"github.com/inferno-go/inferno/gguf"
)

// Arch states how one general.architecture differs from the Llama decoder that
// forwardBatch runs. Each architecture registers one from its own file (llama.go,
// qwen2.go, phi3.go, gemma2.go); llama.cpp's build_* function is the reference.
type Arch struct {
	Name        string
	NeoX        bool // RoPE rotates (i, i+d/2) pairs instead of (2i, 2i+1)
	QKVBias     bool // attn_q/k/v.bias follow the projections
	FusedQKV    bool // one attn_qkv matrix: rows q | k | v
	FusedGateUp bool // no ffn_gate: ffn_up's rows are gate | up
	Tied        bool // the output head is always token_embd (an output.weight is refused)
	NeedOutput  bool // output.weight must be present (no tying)
	PostNorms   bool // post_attention_norm and post_ffw_norm normalise each block's outputs
	GELU        bool // GELU-tanh gated FFN instead of SiLU
	EmbedScale  bool // embeddings scaled by √n_embd
	RopeFreqs   bool // may carry rope_freqs.weight (Llama 3.x)
	RopeLongSh  bool // may carry rope_factors_long/short.weight (Phi-3 128k, Phi-3.5)
	// QueryScale, when set, scales q after RoPE (so before its fp16 rounding) and
	// attention then uses scale 1; nil scales inside the softmax by 1/√head_dim.
	QueryScale func(h *HParams) float32
	// SlidingWindow says whether layer il masks keys outside HParams.SlidingWindow
	// (which is 0 for no window).
	SlidingWindow func(il int) bool
	// Keys are the hyperparameters it reads beyond the common ones (without the
	// "<arch>." prefix); any other key of the architecture is refused.
	Keys []string
	// ReadHParams reads those keys.
	ReadHParams func(f *gguf.File, h *HParams) error
}

var archs = map[string]*Arch{}

func register(a *Arch) { archs[a.Name] = a }

// SupportedArchitectures are the general.architecture values this package runs, sorted.
func SupportedArchitectures() []string {
	var names []string
	for n := range archs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Features lists what the model's graph adds to plain Llama, for `inferno info`.
func (h *HParams) Features() []string {
	a := h.ArchSpec
	var fs []string
	add := func(on bool, s string) {
		if on {
			fs = append(fs, s)
		}
	}
	add(h.NKVHead != h.NHead, fmt.Sprintf("GQA %d:%d", h.NHead, h.NKVHead))
	add(a.NeoX, "NeoX RoPE")
	add(h.HasRopeFreqs, "RoPE frequency factors")
	add(h.HasRopeLongShort, "long/short RoPE factors")
	add(a.QKVBias, "q/k/v biases")
	add(a.FusedQKV, "fused QKV")
	add(a.FusedGateUp, "fused gate|up")
	add(h.Tied, "tied embeddings")
	add(a.EmbedScale, "embeddings ×√n_embd")
	add(h.HeadDim*h.NHead != h.NEmbd, fmt.Sprintf("head size %d", h.HeadDim))
	add(a.QueryScale != nil, "query scaling")
	add(h.AttnSoftCap != 0, fmt.Sprintf("attention soft-cap %g", h.AttnSoftCap))
	add(h.FinalSoftCap != 0, fmt.Sprintf("logit soft-cap %g", h.FinalSoftCap))
	add(h.SlidingWindow != 0, fmt.Sprintf("sliding window %d", h.SlidingWindow))
	add(a.PostNorms, "post-attention/FFN norms")
	add(a.GELU, "GELU-tanh FFN")
	return fs
}

// archOpsFeatures lists the features that need an op or parameter of backend.ArchOps.
func (h *HParams) archOpsFeatures() []string {
	a := h.ArchSpec
	var fs []string
	add := func(on bool, s string) {
		if on {
			fs = append(fs, s)
		}
	}
	add(h.HasRopeFreqs, "RoPE frequency factors")
	add(h.HasRopeLongShort || h.RopeAttnFactor != 1, "long/short RoPE factors")
	add(a.QKVBias, "q/k/v biases")
	add(a.EmbedScale, "embedding scale")
	add(a.QueryScale != nil, "query scaling")
	add(h.AttnSoftCap != 0 || h.FinalSoftCap != 0, "soft-capping")
	add(h.SlidingWindow != 0, "sliding-window attention")
	add(a.PostNorms, "post-norms")
	add(a.GELU, "GELU")
	return fs
}

// commonKeys are the "<arch>." hyperparameters every architecture reads or may carry
// without changing the graph.
var commonKeys = []string{
	"block_count", "embedding_length", "feed_forward_length", "context_length",
	"attention.head_count", "attention.head_count_kv", "attention.layer_norm_rms_epsilon",
	"attention.key_length", "attention.value_length", "rope.dimension_count", "rope.freq_base",
	"vocab_size", "rope.scaling.type", "rope.scaling.factor", "rope.scaling.original_context_length",
	"rope.scaling.finetuned", "tensor_data_layout", "expert_count", "expert_used_count",
}

// checkKeys refuses a hyperparameter of the architecture that neither commonKeys nor
// a.Keys names: it may change the graph in a way this package does not implement.
func checkKeys(f *gguf.File, a *Arch) error {
	known := map[string]bool{}
	for _, k := range commonKeys {
		known[a.Name+"."+k] = true
	}
	for _, k := range a.Keys {
		known[a.Name+"."+k] = true
	}
	for _, kv := range f.KVs {
		if strings.HasPrefix(kv.Key, a.Name+".") && !known[kv.Key] {
			return fmt.Errorf("model: %s is not implemented for %s", kv.Key, a.Name)
		}
	}
	return nil
}
