package metal

import "github.com/inferno-go/inferno/backend"

// The fused decode ops (backend.Backend's NormMatMul, NormAttention, NormSwiGLU,
// MatMulAdd). On CUDA a single token runs matvec_fused (kernels/matvec_fused.metal):
// RMSNorm inside the products, q/k/v (or gate/up with SwiGLU) in one launch, RoPE and the
// KV-cache store in the q/k/v launch's epilogue, the residual added in the product's;
// with NeoX RoPE, rope_kv (kernels/rope_kv.metal) rotates and stores after the
// products. Elsewhere — Metal, batches of several tokens, INFERNO_CUDA_FUSE=0 — they
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
	b.normMatMul(dst, w, x, norm, eps, [3]int{}, MatVecFused{})
}

// normMatMul records NormMatMul as one matvec_fused launch per weight type (Q4_K_M's
// attn_v is Q6_K), each normalizing x itself; with roles (FusedRopeKV), rope carries the
// RoPE and cache fields.
func (b *Backend) normMatMul(dst, w [3]backend.Tensor, x, norm backend.Tensor, eps float32, roles [3]int, rope MatVecFused) {
	var done [3]bool
	for i := range w {
		if w[i] == nil || done[i] {
			continue
		}
		f := rope
		f.Type, f.X, f.Norm, f.Eps, f.Cols, f.Tokens = w[i].DType(), arg(x), arg(norm), eps, x.Cols(), 1
		f.Flags |= FusedNorm
		n := 0
		for j := i; j < len(w); j++ {
			if w[j] != nil && !done[j] && w[j].DType() == f.Type {
				f.W[n], f.Y[n], f.Rows[n], f.Roles[n] = arg(w[j]), arg(dst[j]), w[j].Rows(), roles[j]
				done[j] = true
				n++
			}
		}
		b.run(LaunchMatVecFused(f))
	}
}

func (b *Backend) NormAttention(dst, x, norm backend.Tensor, eps float32, p backend.QKV, xn backend.Tensor,
	cache backend.KVCache, pos []int32, rope backend.RopeParams, ap backend.AttentionParams) {
	// the epilogues do Llama's block: biases, a q scale and rope factors take the ops
	plain := p.Bias == [3]backend.Tensor{} && p.QScale == 0 && rope.Factors == nil && (rope.AttnFactor == 0 || rope.AttnFactor == 1)
	if !b.fusable(x) || !plain || b.failed() || !b.headDimOK(ap) {
		backend.NormAttention(b, dst, x, norm, eps, p, xn, cache, pos, rope, ap)
		return
	}
	w, qkv := p.W, p.Out
	c := cache.(*KVCache)
	layerOff := int64(ap.Layer) * int64(c.nCtx) * int64(ap.NKVHead*ap.HeadDim)
	kc, vc, pa := Arg{Buf: c.k}, Arg{Buf: c.v}, b.upload(&b.pos, pos)
	q, k, v := qkv[0], qkv[1], qkv[2]
	if rope.NeoX { // pairs half a head apart: rotated after the products
		b.normMatMul(qkv, w, x, norm, eps, [3]int{}, MatVecFused{})
		b.run(LaunchRopeKV(arg(q), arg(k), arg(v), kc, vc, pa, 1, rope, ap, layerOff))
	} else {
		rope.HeadDim = ap.HeadDim
		b.normMatMul(qkv, w, x, norm, eps, [3]int{FusedRoleQ, FusedRoleK, FusedRoleV},
			MatVecFused{Flags: FusedRopeKV, Rope: rope, KC: kc, VC: vc, Pos: pa, LayerOff: layerOff})
	}
	b.attendOne(dst, q, c, kc, vc, pa, ap, layerOff)
}

func (b *Backend) NormSwiGLU(dst, gate, up, x, norm backend.Tensor, eps float32, xn, u backend.Tensor) {
	switch {
	case !b.fusable(x):
		backend.NormSwiGLU(b, dst, gate, up, x, norm, eps, xn, u)
	case gate.DType() != up.DType() || gate.Rows() != up.Rows():
		b.NormMatMul([3]backend.Tensor{dst, u}, [3]backend.Tensor{gate, up}, x, norm, eps, xn)
		b.SwiGLU(dst, dst, u)
	default:
		b.run(LaunchMatVecFused(MatVecFused{Type: gate.DType(), W: [3]Arg{arg(gate), arg(up)}, Rows: [3]int{gate.Rows(), up.Rows()},
			X: arg(x), Norm: arg(norm), Eps: eps, Y: [3]Arg{arg(dst)}, Cols: x.Cols(), Tokens: 1, Flags: FusedNorm | FusedSwiGLU}))
	}
}

func (b *Backend) MatMulAdd(dst, w, x, tmp backend.Tensor) {
	if !b.fusable(x) {
		backend.MatMulAdd(b, dst, w, x, tmp)
		return
	}
	b.run(LaunchMatVecFused(MatVecFused{Type: w.DType(), W: [3]Arg{arg(w)}, Rows: [3]int{w.Rows()}, X: arg(x),
		Res: arg(dst), Y: [3]Arg{arg(dst)}, Cols: x.Cols(), Tokens: 1, Flags: FusedResidual}))
}
