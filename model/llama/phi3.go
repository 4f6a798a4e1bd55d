package llama

import (
	"fmt"

	"github.com/inferno-go/inferno/gguf"
)

// phi3 (llama.cpp build_phi3): one attn_qkv matrix, ffn_up holding gate | up, NeoX
// RoPE, q scaled by 1/√head_dim after RoPE, a sliding window on every layer, an untied
// output; Phi-3 128k / Phi-3.5 carry long and short RoPE factors and an attention factor.
func init() {
	register(&Arch{Name: "phi3", NeoX: true, FusedQKV: true, FusedGateUp: true, NeedOutput: true, RopeLongSh: true,
		QueryScale:    func(h *HParams) float32 { return 1 / sqrtF32(float32(h.HeadDim)) },
		SlidingWindow: func(int) bool { return true },
		Keys:          []string{"attention.sliding_window", "rope.scaling.attn_factor"},
		ReadHParams:   readPhi3,
	})
}

// readPhi3 reads the sliding window, with llama.cpp's defaults for the Phi-3 files
// written before the key existed.
func readPhi3(f *gguf.File, h *HParams) error {
	switch {
	case (h.NLayer == 32 || h.NLayer == 40) && h.NCtxTrain == 4096:
		h.SlidingWindow = 2047
	case h.NLayer == 32 && h.NKVHead == 32 && h.NCtxTrain == 131072:
		h.SlidingWindow = 262144
	case h.NLayer == 40 && h.NCtxTrain == 131072:
		h.SlidingWindow = 131072
	}
	w, err := f.IntOr("phi3.attention.sliding_window", int64(h.SlidingWindow))
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if w < 0 || w > 1<<30 || (w == 0 && !f.Has("phi3.attention.sliding_window")) {
		return fmt.Errorf("model: phi3.attention.sliding_window = %d is not a valid window", w)
	}
	h.SlidingWindow = int(w) // 0 (Phi-4): no window
	return nil
}
