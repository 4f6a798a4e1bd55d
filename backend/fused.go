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

// NormAttention is Backend.NormAttention composed of NormQKV and Attention.
func NormAttention(b Backend, dst, x, norm Tensor, eps float32, p QKV, xn Tensor,
	cache KVCache, pos []int32, rope RopeParams, ap AttentionParams) {
	NormQKV(b, x, norm, eps, p, xn, pos, rope, ap)
	b.Attention(dst, p.Out[0], p.Out[1], p.Out[2], cache, pos, ap)
}

// NormQKV is NormAttention before its Attention: NormMatMul of x to p.Out (q, k, v),
// AddRow of the biases, Rope of q and k, Scale of q. A batch of several sequences runs
// it over all rows, then Attention over each sequence's rows with its own cache.
func NormQKV(b Backend, x, norm Tensor, eps float32, p QKV, xn Tensor, pos []int32, rope RopeParams, ap AttentionParams) {
	b.NormMatMul(p.Out, p.W, x, norm, eps, xn)
	for i, bias := range p.Bias {
		if bias != nil {
			b.(ArchOps).AddRow(p.Out[i], p.Out[i], bias)
		}
	}
	rope.NHead = ap.NHead
	b.Rope(p.Out[0], pos, rope)
	rope.NHead = ap.NKVHead
	b.Rope(p.Out[1], pos, rope)
	if p.QScale != 0 {
		b.(ArchOps).Scale(p.Out[0], p.QScale)
	}
}
