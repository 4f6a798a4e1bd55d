// Package backend defines the small set of operations a transformer forward step is
// made of. The model (package model/llama) is written once against this interface;
// package cpu implements it in Go and package metal on Apple GPUs, and every backend
// op is tested against the CPU implementation.
package backend

import "github.com/inferno-go/inferno/tensor"

// Tensor is a backend-owned matrix of Rows rows of Cols elements. Weights keep their
// GGUF type; activations are F32.
type Tensor interface {
	Rows() int
	Cols() int
	DType() tensor.DType
}

// KVCache holds keys and values of every layer for up to Len() positions.
// Backend.FreeKVCache releases it.
type KVCache interface {
	Len() int
}

// AttentionParams describe one attention call.
type AttentionParams struct {
	Layer   int
	NHead   int
	NKVHead int
	HeadDim int
	Scale   float32 // usually 1/sqrt(HeadDim)
	// Only a backend with ArchOps implements these two (zero: off).
	SoftCap float32 // scores s become SoftCap*tanh(s/SoftCap) after Scale, before the mask (Gemma 2)
	Window  int     // sliding window: query at p sees keys at p-Window < pos <= p
}

// RopeParams describe rotary position embedding.
type RopeParams struct {
	NHead   int
	HeadDim int
	Dims    int     // rotated dimensions per head (<= HeadDim)
	Base    float32 // frequency base, e.g. 10000
	NeoX    bool    // rotate (i, i+Dims/2) pairs instead of adjacent (2i, 2i+1)
	// Factors, when set (Dims/2 values), divide pair i's angle: Llama-3.x rope_freqs,
	// Phi-3 rope_factors_long/short. Only a backend with ArchOps implements them.
	Factors    []float32
	AttnFactor float32 // multiplies cos and sin (rope.scaling.attn_factor); 0 means 1, other values are ArchOps'
}

// Backend runs the ops. Destination first; an op works on the first x.Rows() rows, so a
// batch of n tokens is a view of n rows (View) of larger scratch tensors.
//
// Ops have no error results: a failed op (a GPU dispatch, an allocation) poisons the
// backend, later ops do nothing, and Err reports the first failure. A GPU backend may
// only record ops and run them later; Read, Argmax and Sync wait for them. A Backend is
// not safe for concurrent use (ops share scratch state): its user makes one call at a
// time.
type Backend interface {
	Name() string
	// Weight wraps (or uploads) a GGUF tensor of rows x cols elements.
	Weight(name string, t tensor.DType, rows, cols int, data []byte) (Tensor, error)
	// Activation allocates an F32 rows x cols tensor.
	Activation(rows, cols int) Tensor
	// Free releases an Activation (not a view of one); neither it nor its views may be
	// used afterwards.
	Free(t Tensor)
	// View is rows [lo, hi) of t.
	View(t Tensor, lo, hi int) Tensor
	Write(dst Tensor, src []float32)
	Read(src Tensor, dst []float32)

	// GetRows: dst[i] = table[ids[i]] as float32.
	GetRows(dst, table Tensor, ids []int32)
	// RMSNorm: dst[i] = x[i] / sqrt(mean(x[i]^2) + eps) * w.
	RMSNorm(dst, x, w Tensor, eps float32)
	// MatMul: dst[i] = W x[i] for a weight W of W.Rows() outputs, W.Cols() inputs.
	MatMul(dst, w, x Tensor)
	// Rope rotates x (rows of NHead*HeadDim) in place; pos[i] is row i's position.
	Rope(x Tensor, pos []int32, p RopeParams)
	// Add: dst = a + b.
	Add(dst, a, b Tensor)
	// SwiGLU: dst = silu(gate) * up.
	SwiGLU(dst, gate, up Tensor)

	// The decode step's fused ops: each is exactly the composition of the ops above
	// that its comment names (the CPU runs that), which a GPU backend may run as fewer
	// kernels. Scratch tensors (xn, u, tmp) are the composition's intermediates; their
	// contents are unspecified afterwards.

	// NormMatMul: RMSNorm(xn, x, norm, eps), then MatMul(dst[i], w[i], xn) for each
	// non-nil w[i] (q, k and v; or one projection).
	NormMatMul(dst, w [3]Tensor, x, norm Tensor, eps float32, xn Tensor)
	// NormSwiGLU: RMSNorm(xn, x, norm, eps), MatMul(dst, gate, xn), MatMul(u, up, xn),
	// SwiGLU(dst, dst, u).
	NormSwiGLU(dst, gate, up, x, norm Tensor, eps float32, xn, u Tensor)
	// MatMulAdd: MatMul(tmp, w, x), then Add(dst, dst, tmp): dst += W x.
	MatMulAdd(dst, w, x, tmp Tensor)
	// NormAttention: NormMatMul(p.Out, p.W, x, norm, eps, xn) with q, k, v weights; the
	// biases added (AddRow) where p.Bias has them; Rope of q (p.Out[0]) with ap.NHead
	// heads and of k (p.Out[1]) with ap.NKVHead heads (rope.NHead is not read); q scaled
	// by p.QScale if not 0; then Attention(dst, q, k, v, cache, pos, ap). p.Out and xn are
	// scratch. Biases and QScale need ArchOps.
	NormAttention(dst, x, norm Tensor, eps float32, p QKV, xn Tensor,
		cache KVCache, pos []int32, rope RopeParams, ap AttentionParams)

	// NewKVCache allocates a cache for nLayer layers and nCtx positions.
	NewKVCache(nLayer, nCtx, kvDim int, f16 bool) KVCache
	// FreeKVCache releases a cache; it may not be used afterwards.
	FreeKVCache(c KVCache)
	// Attention stores k and v (rows of NKVHead*HeadDim) at positions pos in the cache,
	// then dst[i] = causal attention of q[i] over cache positions 0..pos[i].
	Attention(dst, q, k, v Tensor, cache KVCache, pos []int32, p AttentionParams)
	// Argmax is the index of the largest value in the first row of t (on the device, so
	// a greedy step reads back one id instead of the vocabulary's logits).
	Argmax(t Tensor) (int32, error)

	// Sync waits until every op issued so far has finished, then returns Err.
	Sync() error
	// Err is the first error of an op since the backend was made (nil: none).
	Err() error
}

// QKV is NormAttention's projection of x to q, k and v: the weights, the results, and
// what some architectures add — biases (Qwen2; nil: none) and a scale of q after RoPE
// (Phi-3, Gemma 2; 0: none).
type QKV struct {
	W, Out, Bias [3]Tensor
	QScale       float32
}

// ArchOps are the ops of the architectures beyond the base Llama graph (qwen2, phi3,
// gemma2, Llama-3.x rope factors), with the RopeParams and AttentionParams fields marked
// as theirs. A model that needs any of them refuses to load on a backend without them,
// so a backend that lacks a kernel never runs such a model wrong.
type ArchOps interface {
	// Scale: x *= s in place.
	Scale(x Tensor, s float32)
	// AddRow: dst[i] = x[i] + bias, for a one-row F32 bias weight.
	AddRow(dst, x, bias Tensor)
	// GeGLU: dst = gelu(gate) * up, GELU in its tanh form.
	GeGLU(dst, gate, up Tensor)
	// SoftCap: x = c * tanh(x / c) in place.
	SoftCap(x Tensor, c float32)
}

// RowExact is a backend whose products give a row sums that depend on how many rows
// the call has (the GPUs: a tiled or tensor-core kernel from a few rows, a matrix-vector
// kernel, or a fused decode kernel, for one). A batch of several sequences uses it so
// that each sequence gets exactly the bits its own Forward gives it (docs/architecture.md).
type RowExact interface {
	// Singles is t (or a view of it) marked so that every op taking it as the input of a
	// product — MatMul and the fused ops — computes each row bit for bit as the same op
	// called with that row alone, with the weights still read once for all rows.
	Singles(t Tensor) Tensor
	// NormAttentionSingles is NormAttention for rows of x that are each the one token
	// of a different sequence: row i's K/V go to caches[i] at pos[i], and each row gets
	// the bits NormAttention of that row alone gives it. p.Out, xn and dst are views of
	// x's rows, as for NormAttention.
	NormAttentionSingles(dst, x, norm Tensor, eps float32, p QKV, xn Tensor,
		caches []KVCache, pos []int32, rope RopeParams, ap AttentionParams)
}
