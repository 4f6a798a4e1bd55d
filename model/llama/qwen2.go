package llama

import (
	"fmt"

	"github.com/inferno-go/inferno/gguf"
)

// qwen2 (llama.cpp build_qwen2): Llama with q/k/v biases and NeoX RoPE over the whole
// head; output.weight is optional (tied embeddings).
func init() {
	register(&Arch{Name: "qwen2", NeoX: true, QKVBias: true,
		ReadHParams: func(_ *gguf.File, h *HParams) error {
			if h.RopeDim != h.HeadDim {
				return fmt.Errorf("model: qwen2.rope.dimension_count %d differs from the head size %d: not implemented", h.RopeDim, h.HeadDim)
			}
			return nil
		}})
}
