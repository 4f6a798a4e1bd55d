package metal

import (
	"fmt"

	"github.com/inferno-go/inferno/backend"
)

// The fused decode ops (backend.Backend's NormMatMul, NormAttention, NormSwiGLU,
// MatMulAdd). On CUDA a single token runs matvec_fused (kernels/matvec_fused.metal):
// RMSNorm inside the products, q/k/v (or gate/up with SwiGLU) in one launch, RoPE and the
// KV-cache store in the q/k/v launch's epilogue, the residual added in the product's;
// with NeoX RoPE, rope_kv (kernels/rope_kv.metal) rotates and stores after the
// products. Elsewhere — Metal, batches of several tokens, INFERNO_CUDA_FUSE=0 — they
// record the dispatches of their composition, as before.

// fusable says whether products with x run as matvec_fused: one token on CUDA (or
// rows marked Singles, each computed as one token), fusion on, and rows it can read in
// aligned chunks (FusedMaxUnalignedCols).
func (b *Backend) fusable(x backend.Tensor) bool {
	return b.fuse && (x.Rows() == 1 || singles(x)) && (x.Cols()%4 == 0 || x.Cols() <= FusedMaxUnalignedCols)
}

// plainQKV says whether the q/k/v projection is Llama's own, which matvec_fused's
// epilogues do: no biases, no q scale, no RoPE factors or attention factor.
func plainQKV(p backend.QKV, rope backend.RopeParams) bool {
	return p.Bias == [3]backend.Tensor{} && p.QScale == 0 && rope.Factors == nil && (rope.AttnFactor == 0 || rope.AttnFactor == 1)
}

// singles says whether x is marked Singles.
func singles(x backend.Tensor) bool { return x.(*Tensor).singles }

// Singles implements backend.RowExact: x marked so that MatMul and the fused ops run
// the one-token kernels (matvec, matvec_fused) over all its rows, one grid row per
// token: each row gets the sums it gets alone, the weights read once.
func (b *Backend) Singles(x backend.Tensor) backend.Tensor {
	c := *x.(*Tensor)
	c.singles = true
	return &c
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
		f.Type, f.X, f.Norm, f.Eps, f.Cols, f.Tokens = w[i].DType(), arg(x), arg(norm), eps, x.Cols(), x.Rows()
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
	plain := plainQKV(p, rope)
	if x.Rows() != 1 || !b.fusable(x) || !plain || b.failed() || !b.headDimOK(ap) {
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
			X: arg(x), Norm: arg(norm), Eps: eps, Y: [3]Arg{arg(dst)}, Cols: x.Cols(), Tokens: x.Rows(), Flags: FusedNorm | FusedSwiGLU}))
	}
}

func (b *Backend) MatMulAdd(dst, w, x, tmp backend.Tensor) {
	if !b.fusable(x) {
		backend.MatMulAdd(b, dst, w, x, tmp)
		return
	}
	b.run(LaunchMatVecFused(MatVecFused{Type: w.DType(), W: [3]Arg{arg(w)}, Rows: [3]int{w.Rows()}, X: arg(x),
		Res: arg(dst), Y: [3]Arg{arg(dst)}, Cols: x.Cols(), Tokens: x.Rows(), Flags: FusedResidual}))
}

// NormAttentionSingles implements backend.RowExact: each row of x is one token of its
// own sequence. On CUDA the q/k/v products of all rows are one matvec_fused launch with
// the RoPE epilogue (k's rows rotated as q's, not stored: the caches differ by row), then
// per row kv_store and attn_decode (NeoX: rope_kv per row, as a lone token's); the
// stored halves and the attention's inputs are those of the row's NormAttention alone.
// Elsewhere the composition, its products over Singles rows.
func (b *Backend) NormAttentionSingles(dst, x, norm backend.Tensor, eps float32, p backend.QKV, xn backend.Tensor,
	caches []backend.KVCache, pos []int32, rope backend.RopeParams, ap backend.AttentionParams) {
	n := x.Rows()
	if len(caches) != n || len(pos) != n {
		b.fail(fmt.Errorf("metal: attention of %d single rows with %d caches and %d positions", n, len(caches), len(pos)))
		return
	}
	x, xn = b.Singles(x), b.Singles(xn) // the composition's products read xn
	row := func(t backend.Tensor, i int) backend.Tensor { return b.View(t, i, i+1) }
	q, k, v := p.Out[0], p.Out[1], p.Out[2]
	plain := plainQKV(p, rope)
	if !b.fusable(x) || !plain || b.failed() || !b.headDimOK(ap) {
		backend.NormQKV(b, x, norm, eps, p, xn, pos, rope, ap)
		for i := range n {
			b.Attention(row(dst, i), row(q, i), row(k, i), row(v, i), caches[i], pos[i:i+1], ap)
		}
		return
	}
	if rope.NeoX {
		b.normMatMul(p.Out, p.W, x, norm, eps, [3]int{}, MatVecFused{})
		for i := range n {
			c := caches[i].(*KVCache)
			layerOff := int64(ap.Layer) * int64(c.nCtx) * int64(ap.NKVHead*ap.HeadDim)
			kc, vc, pa := Arg{Buf: c.k}, Arg{Buf: c.v}, b.upload(&b.pos, pos[i:i+1])
			b.run(LaunchRopeKV(arg(row(q, i)), arg(row(k, i)), arg(row(v, i)), kc, vc, pa, 1, rope, ap, layerOff))
			b.attendOne(row(dst, i), row(q, i), c, kc, vc, pa, ap, layerOff)
		}
		return
	}
	rope.HeadDim = ap.HeadDim
	b.normMatMul(p.Out, p.W, x, norm, eps, [3]int{FusedRoleQ, FusedRoleQ},
		MatVecFused{Flags: FusedRopeKV, Rope: rope, Pos: b.upload(&b.pos, pos)})
	for i := range n {
		b.Attention(row(dst, i), row(q, i), row(k, i), row(v, i), caches[i], pos[i:i+1], ap)
	}
}
