package metal

import "github.com/inferno-go/inferno/backend"

// The fused decode ops (backend.Backend's NormMatMul, NormSwiGLU, MatMulAdd,
// RopeAttention). On CUDA a single token runs matvec_fused (kernels/matvec_fused.metal):
// RMSNorm inside the products, q/k/v (or gate/up with SwiGLU) in one launch, the
// residual added in the product's epilogue; and rope_kv (kernels/rope_kv.metal): RoPE of
// q and k with the KV-cache store. Elsewhere — Metal, batches of several tokens — they
// record the dispatches of their composition, as before.

// fusable says whether products with x run as matvec_fused: one token on CUDA, and
// rows it can read in aligned chunks (FusedMaxUnalignedCols).
func (b *Backend) fusable(x backend.Tensor) bool {
	return b.oneTokenOnCUDA(x) && (x.Cols()%4 == 0 || x.Cols() <= FusedMaxUnalignedCols)
}

// oneTokenOnCUDA says whether x is one token's row on the CUDA target, fusion on: a
// decode step.
func (b *Backend) oneTokenOnCUDA(x backend.Tensor) bool {
	return b.fuse && x.Rows() == 1
}

func (b *Backend) NormMatMul(dst, w [3]backend.Tensor, x, norm backend.Tensor, eps float32, xn backend.Tensor) {
	if !b.fusable(x) {
		backend.NormMatMul(b, dst, w, x, norm, eps, xn)
		return
	}
	// one launch per weight type (Q4_K_M's attn_v is Q6_K), each normalizing x itself
	var done [3]bool
	for i := range w {
		if w[i] == nil || done[i] {
			continue
		}
		t := w[i].DType()
		var wa, ya [3]Arg
		var rows [3]int
		n := 0
		for j := i; j < len(w); j++ {
			if w[j] != nil && !done[j] && w[j].DType() == t {
				wa[n], ya[n], rows[n] = arg(w[j]), arg(dst[j]), w[j].Rows()
				done[j] = true
				n++
			}
		}
		b.run(LaunchMatVecFused(t, wa, rows, arg(x), arg(norm), Arg{}, ya, x.Cols(), 1, FusedNorm, eps))
	}
}

func (b *Backend) NormSwiGLU(dst, gate, up, x, norm backend.Tensor, eps float32, xn, u backend.Tensor) {
	switch {
	case !b.fusable(x):
		backend.NormSwiGLU(b, dst, gate, up, x, norm, eps, xn, u)
	case gate.DType() != up.DType() || gate.Rows() != up.Rows():
		b.NormMatMul([3]backend.Tensor{dst, u}, [3]backend.Tensor{gate, up}, x, norm, eps, xn)
		b.SwiGLU(dst, dst, u)
	default:
		b.run(LaunchMatVecFused(gate.DType(), [3]Arg{arg(gate), arg(up)}, [3]int{gate.Rows(), up.Rows()},
			arg(x), arg(norm), Arg{}, [3]Arg{arg(dst)}, x.Cols(), 1, FusedNorm|FusedSwiGLU, eps))
	}
}

func (b *Backend) MatMulAdd(dst, w, x, tmp backend.Tensor) {
	if !b.fusable(x) {
		backend.MatMulAdd(b, dst, w, x, tmp)
		return
	}
	b.run(LaunchMatVecFused(w.DType(), [3]Arg{arg(w)}, [3]int{w.Rows()}, arg(x), Arg{}, arg(dst), [3]Arg{arg(dst)},
		x.Cols(), 1, FusedResidual, 0))
}

func (b *Backend) RopeAttention(dst, q, k, v backend.Tensor, cache backend.KVCache, pos []int32, rope backend.RopeParams, ap backend.AttentionParams) {
	if !b.oneTokenOnCUDA(q) || b.failed() {
		backend.RopeAttention(b, dst, q, k, v, cache, pos, rope, ap)
		return
	}
	c := cache.(*KVCache)
	layerOff := int64(ap.Layer) * int64(c.nCtx) * int64(ap.NKVHead*ap.HeadDim)
	kc, vc, pa := Arg{Buf: c.k}, Arg{Buf: c.v}, b.upload(&b.pos, pos)
	b.run(LaunchRopeKV(arg(q), arg(k), arg(v), kc, vc, pa, 1, rope, ap, layerOff))
	ds := LaunchAttnDecode(arg(q), kc, vc, b.partial(c, ap), arg(dst), pa, ap, c.nCtx, layerOff)
	b.run(ds[:]...)
}
