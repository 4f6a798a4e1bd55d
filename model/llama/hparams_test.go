package llama_test

import (
	"math"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/model/llama"
)

// TestHParamsRefuseUnusableFloats: an RMS epsilon or RoPE base that is NaN, infinite,
// zero or negative loads as a number but makes every logit NaN (or no rotation), so
// ReadHParams refuses it, naming the key.
func TestHParamsRefuseUnusableFloats(t *testing.T) {
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, -1e-5}
	for _, key := range []string{"llama.attention.layer_norm_rms_epsilon", "llama.rope.freq_base"} {
		for _, v := range bad {
			// Drop the key where it is and add the bad value (stories260K has no freq_base).
			f := rewrite(t, func(w *gguf.Writer, k string, val gguf.Value) bool {
				switch k {
				case key:
					return true
				case "llama.context_length":
					w.Set(k, val)
					w.SetAny(key, v)
					return true
				}
				return false
			}, nil)
			_, err := llama.ReadHParams(f)
			if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "must be a positive number") {
				t.Errorf("%s = %v: %v, want an error naming the key", key, v, err)
			}
		}
	}
}
