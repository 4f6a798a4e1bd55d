package llama

import (
	"fmt"
	"math"

	"github.com/inferno-go/inferno/gguf"
)

// gemma2 (llama.cpp build_gemma2): embeddings × √n_embd, a head size of its own
// (key_length), NeoX RoPE, q scaled after RoPE, soft-capped attention scores and
// logits, a sliding window on the even layers, RMS norms after attention and FFN too,
// a GELU-tanh gated FFN, and always tied embeddings. The norm weights are stored as
// 1+w by the converter and used as stored.
func init() {
	register(&Arch{Name: "gemma2", NeoX: true, Tied: true, PostNorms: true, GELU: true, EmbedScale: true,
		QueryScale:    gemma2QueryScale,
		SlidingWindow: func(il int) bool { return il%2 == 0 },
		Keys:          []string{"attention.sliding_window", "attn_logit_softcapping", "final_logit_softcapping"},
		ReadHParams:   readGemma2,
	})
}

// gemma2QueryScale is llama.cpp's choice by model type, which it takes from the layer
// count: 46 layers (27B) use 1/√(n_embd/n_head), the others 1/√head_size.
func gemma2QueryScale(h *HParams) float32 {
	if h.NLayer == 46 {
		return 1 / sqrtF32(float32(h.NEmbd/h.NHead))
	}
	return 1 / sqrtF32(float32(h.HeadDim))
}

func readGemma2(f *gguf.File, h *HParams) error {
	w, err := f.IntOr("gemma2.attention.sliding_window", 4096)
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if w <= 0 || w > 1<<30 {
		return fmt.Errorf("model: gemma2.attention.sliding_window = %d is not a valid window", w)
	}
	h.SlidingWindow = int(w)
	for _, c := range []struct {
		dst *float32
		key string
		def float32
	}{{&h.AttnSoftCap, "gemma2.attn_logit_softcapping", 50}, {&h.FinalSoftCap, "gemma2.final_logit_softcapping", 30}} {
		if *c.dst, err = f.Float32Or(c.key, c.def); err != nil {
			return fmt.Errorf("model: %w", err)
		}
		if !positiveFinite(*c.dst) {
			return fmt.Errorf("model: %s = %v must be a positive number", c.key, *c.dst)
		}
	}
	return nil
}

// sqrtF32 is C's sqrtf (a correctly rounded square root, as math.Sqrt's rounded to float32).
func sqrtF32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
