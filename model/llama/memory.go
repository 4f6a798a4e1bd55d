package llama

import "math"

// KVCacheBytes is the size of the K and V caches NewState allocates on one backend for
// nCtx positions, at valueBytes per stored value (the backend's choice: the CPU keeps
// float32, Metal float16). Sizes saturate at math.MaxInt64 instead of overflowing.
func (h HParams) KVCacheBytes(nCtx, valueBytes int) int64 {
	return satMul(2, int64(valueBytes), int64(h.NLayer), int64(nCtx), int64(h.NKVHead*h.HeadDim))
}

// ScratchBytes is the size of the float32 activations NewState allocates on one
// backend for batches of maxBatch tokens, with the logits and host-side buffers of the
// output backend when output is set.
func (h HParams) ScratchBytes(maxBatch int, output bool) int64 {
	kvDim := int64(h.NKVHead * h.HeadDim)
	perToken := 5*int64(h.NEmbd) + 2*int64(h.QDim()) + 2*kvDim + 2*int64(h.NFF) // x xn o ffn hostX, q att, k v, gate up
	if output {
		perToken += int64(h.NVocab)
	}
	return satMul(4, int64(maxBatch), perToken)
}

// satMul multiplies non-negative factors, saturating at math.MaxInt64.
func satMul(xs ...int64) int64 {
	p := int64(1)
	for _, x := range xs {
		if x == 0 {
			return 0
		}
	}
	for _, x := range xs {
		if x < 0 {
			return math.MaxInt64
		}
		if p > math.MaxInt64/x {
			return math.MaxInt64
		}
		p *= x
	}
	return p
}
