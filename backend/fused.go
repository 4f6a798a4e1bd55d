package backend

// Compositions of the fused ops from the basic ones, as Backend's comments define
// them: the CPU backend's implementation, and a GPU backend's where it has no fused
// kernel (another target, or a batch of several tokens).

// NormMatMul is Backend.NormMatMul composed of RMSNorm and MatMul.
func NormMatMul(b Backend, dst, w [3]Tensor, x, norm Tensor, eps float32, xn Tensor) {
	b.RMSNorm(xn, x, norm, eps)
	for i := range w {
		if w[i] != nil {
			b.MatMul(dst[i], w[i], xn)
		}
	}
}

// NormSwiGLU is Backend.NormSwiGLU composed of RMSNorm, MatMul and SwiGLU.
func NormSwiGLU(b Backend, dst, gate, up, x, norm Tensor, eps float32, xn, u Tensor) {
	b.RMSNorm(xn, x, norm, eps)
	b.MatMul(dst, gate, xn)
	b.MatMul(u, up, xn)
	b.SwiGLU(dst, dst, u)
}

// MatMulAdd is Backend.MatMulAdd composed of MatMul and Add.
func MatMulAdd(b Backend, dst, w, x, tmp Tensor) {
	b.MatMul(tmp, w, x)
	b.Add(dst, dst, tmp)
}

// NormAttention is Backend.NormAttention composed of NormMatMul, Rope and Attention.
func NormAttention(b Backend, dst, x, norm Tensor, eps float32, w, qkv [3]Tensor, xn Tensor,
	cache KVCache, pos []int32, rope RopeParams, ap AttentionParams) {
	b.NormMatMul(qkv, w, x, norm, eps, xn)
	rope.NHead = ap.NHead
	b.Rope(qkv[0], pos, rope)
	rope.NHead = ap.NKVHead
	b.Rope(qkv[1], pos, rope)
	b.Attention(dst, qkv[0], qkv[1], qkv[2], cache, pos, ap)
}
