package conformance

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/tensor"
)

// fusedCases check matvec_fused_<type> (CUDA's decode fusion) against the CPU
// backend's composition of the ops it fuses (backend.NormMatMul, NormSwiGLU,
// MatMulAdd), for every weight type: rows that are not multiples of the 8 SIMD groups,
// two tokens (grid.y), TinyLlama's FFN rows (5632), rows longer than the 6144-float x
// chunk (6400: two chunks), and the residual added in place. With SwiGLU the outputs with a negative gate are
// nearly 0, so a case needs enough rows for positive gates to set the NMSE's scale.
func fusedCases() []Case {
	var cs []Case
	type shape struct {
		mode string
		rows [3]int
		cols int
		ntok int
	}
	for _, t := range metal.WeightTypes() {
		shapes := []shape{
			{"qkv", [3]int{37, 9, 11}, 768, 2},
			{"qkv", [3]int{5, 3, 0}, 6400, 1},
			{"residual", [3]int{33}, 768, 2},
			{"residual", [3]int{6}, 5632, 1},
			{"swiglu", [3]int{19, 19}, 768, 2},
			{"swiglu", [3]int{17, 17}, 6400, 1},
		}
		if t.BlockSize() == 1 { // float rows that are not a multiple of 4 long
			shapes = append(shapes, shape{"qkv", [3]int{9, 3, 2}, 170, 2}, shape{"swiglu", [3]int{7, 7}, 170, 1})
		}
		for _, s := range shapes {
			t, s := t, s
			name := fmt.Sprintf("%s %s %v x %d x %d tokens", metal.KernelName("matvec_fused", t), s.mode, s.rows, s.cols, s.ntok)
			limit := 5e-4
			if s.mode == "swiglu" { // a product of two products: their errors add
				limit = 1e-3
				if t.BitsPerWeight() < 3 {
					// few, coarse weight levels: the CPU reference's own 8-bit activation
					// error (against exact products) alone comes near 1e-3 here
					limit = 2e-3
				}
			}
			cs = append(cs, Case{"matvec_fused", name, limit, func(d metal.Device) (float64, error) {
				return matvecFused(d, t, s.mode, s.rows, s.cols, s.ntok)
			}})
		}
	}
	return cs
}

// matvecFused runs one fused launch on random data. qkv: y[m] = W[m] rmsnorm(x)·nw;
// residual: y = r + W[0] x in place (y's buffer holds r first); swiglu: y =
// silu(W[0] x') · (W[1] x') with x' normalized. It returns the NMSE of all outputs
// against the CPU composition.
func matvecFused(d metal.Device, t tensor.DType, mode string, rows [3]int, cols, ntok int) (float64, error) {
	r := rand.New(rand.NewPCG(11, uint64(t)*1000+uint64(rows[0]*7+cols)))
	var raws [3][]byte
	var ws [3]backend.Tensor
	for m, n := range rows {
		if n == 0 {
			continue
		}
		raw, _, err := quantized(r, t, n, cols)
		if err != nil {
			return 0, err
		}
		raws[m] = raw
		w, err := ref.Weight("w", t, n, cols, raw)
		if err != nil {
			return 0, err
		}
		ws[m] = w
	}
	// norm weights near 1, as models have: x · N(0,1) would be heavy-tailed, and the
	// CPU's 8-bit activations, not the kernel, would set the error (F32 cases: ~1e-13)
	x, nw := randVec(r, ntok*cols), randVec(r, cols)
	for i := range nw {
		nw[i] = 1 + nw[i]/4
	}
	for i := range x { // an RMS far from 1, so a lost norm scale shows
		x[i] *= 4
	}
	res := randVec(r, ntok*rows[0])
	for i := range res { // as large as the products (~√cols), so a lost residual shows
		res[i] *= float32(math.Sqrt(float64(cols)))
	}
	b := &bufs{d: d}
	defer b.release()
	var wa, ya [3]metal.Arg
	outRows := rows
	for m, n := range rows {
		if n > 0 {
			wa[m] = b.raw(raws[m])
			ya[m] = b.zeros(4 * ntok * n)
		}
	}
	flags, resArg := metal.FusedNorm, metal.Arg{}
	switch mode {
	case "residual":
		flags = metal.FusedResidual
		ya[0] = b.f32(res)
		resArg = ya[0] // in place
	case "swiglu":
		flags |= metal.FusedSwiGLU
		ya[1], outRows[1] = metal.Arg{}, 0 // only y[0] is written
	}
	f := metal.MatVecFused{Type: t, W: wa, Rows: rows, X: b.f32(x), Norm: b.f32(nw), Eps: 1e-5, Res: resArg, Y: ya,
		Cols: cols, Tokens: ntok, Flags: flags}
	if err := b.exec(metal.LaunchMatVecFused(f)); err != nil {
		return 0, err
	}
	var got []float32
	for m, n := range outRows {
		if n > 0 {
			got = append(got, b.floats(ya[m], ntok*n)...)
		}
	}
	// the CPU composition
	xa, na := ref.Activation(ntok, cols), ref.Activation(1, cols)
	ref.Write(xa, x)
	ref.Write(na, nw)
	xn := ref.Activation(ntok, cols)
	var dst [3]backend.Tensor
	for m, n := range rows {
		if n > 0 {
			dst[m] = ref.Activation(ntok, n)
		}
	}
	switch mode {
	case "qkv":
		ref.NormMatMul(dst, ws, xa, na, 1e-5, xn)
	case "residual":
		ref.Write(dst[0], res)
		ref.MatMulAdd(dst[0], ws[0], xa, ref.Activation(ntok, rows[0]))
	case "swiglu":
		ref.NormSwiGLU(dst[0], ws[0], ws[1], xa, na, 1e-5, xn, dst[1])
	}
	var want []float32
	for m, n := range outRows {
		if n > 0 {
			v := make([]float32, ntok*n)
			ref.Read(dst[m], v)
			want = append(want, v...)
		}
	}
	return b.result(nmse(got, want))
}

// ropeKVCases check rope_kv (CUDA's decode RoPE with the KV store) against the CPU's
// Rope of q and of k and the values kv_store writes: whole and partial rotation (dims <
// head_dim), NeoX pairs, two tokens at distant positions, the second layer's slice.
func ropeKVCases() []Case {
	var cs []Case
	for _, c := range []struct {
		hd, dims int
		neox     bool
	}{{64, 64, false}, {128, 64, false}, {128, 128, true}, {8, 8, false}} {
		c := c
		cs = append(cs, Case{"rope", fmt.Sprintf("rope_kv hd%d dims%d neox=%v", c.hd, c.dims, c.neox), 1e-7,
			func(d metal.Device) (float64, error) { return ropeKV(d, c.hd, c.dims, c.neox) }})
	}
	return cs
}

func ropeKV(d metal.Device, hd, dims int, neox bool) (float64, error) {
	r := rand.New(rand.NewPCG(12, uint64(hd*1000+dims)))
	const nhead, nkv, ntok, nctx = 8, 2, 2, 400
	kvDim := nkv * hd
	q, k, v := randVec(r, ntok*nhead*hd), randVec(r, ntok*kvDim), randVec(r, ntok*kvDim)
	pos := []int32{7, 399}
	rp := backend.RopeParams{HeadDim: hd, Dims: dims, Base: 10000, NeoX: neox}
	ap := backend.AttentionParams{NHead: nhead, NKVHead: nkv, HeadDim: hd}
	b := &bufs{d: d}
	defer b.release()
	qb, kb := b.f32(q), b.f32(k)
	kc, vc := b.zeros(2*2*nctx*kvDim), b.zeros(2*2*nctx*kvDim) // two layers
	if err := b.exec(metal.LaunchRopeKV(qb, kb, b.f32(v), kc, vc, b.i32(pos), ntok, rp, ap, int64(nctx*kvDim))); err != nil {
		return 0, err
	}
	got := append(b.floats(qb, len(q)), b.floats(kb, len(k))...)
	kraw, vraw := b.bytes(kc, 2*2*nctx*kvDim), b.bytes(vc, 2*2*nctx*kvDim)
	// the CPU: rope q and k, then the F16 values kv_store writes at the positions
	qa, ka := ref.Activation(ntok, nhead*hd), ref.Activation(ntok, kvDim)
	ref.Write(qa, q)
	ref.Write(ka, k)
	rp.NHead = nhead
	ref.Rope(qa, pos, rp)
	rp.NHead = nkv
	ref.Rope(ka, pos, rp)
	want := make([]float32, len(q)+len(k))
	ref.Read(qa, want[:len(q)])
	ref.Read(ka, want[len(q):])
	krot := want[len(q):]
	for t := 0; t < ntok; t++ {
		for e := 0; e < kvDim; e++ {
			off := 2 * (nctx*kvDim + int(pos[t])*kvDim + e)
			kg := tensor.FP16ToFP32(uint16(kraw[off]) | uint16(kraw[off+1])<<8)
			vg := tensor.FP16ToFP32(uint16(vraw[off]) | uint16(vraw[off+1])<<8)
			got = append(got, kg, vg)
			want = append(want, tensor.FP16ToFP32(tensor.FP32ToFP16(krot[t*kvDim+e])), tensor.FP16ToFP32(tensor.FP32ToFP16(v[t*kvDim+e])))
		}
	}
	return b.result(nmse(got, want))
}

// fusedRopeKVCases check matvec_fused's RoPE and KV-store epilogue (the decode step's
// q/k/v) against the CPU's NormMatMul, Rope of q and k, and the F16 values kv_store
// writes: heads of 6 with 4 rotated dims (q's 30 rows end mid-threadgroup, so k's first
// pair is split across its SIMD groups 6 and 7) and of 64, two tokens, the second layer.
func fusedRopeKVCases() []Case {
	var cs []Case
	for _, t := range metal.WeightTypes() {
		for _, c := range [][4]int{{6, 4, 5, 3}, {64, 64, 4, 2}} { // head dim, rotated dims, heads, KV heads
			t, c := t, c
			name := fmt.Sprintf("%s rope+kv hd%d dims%d %d/%d heads x 768 x 2 tokens", metal.KernelName("matvec_fused", t), c[0], c[1], c[2], c[3])
			cs = append(cs, Case{"matvec_fused", name, 5e-4, func(d metal.Device) (float64, error) {
				return matvecFusedRopeKV(d, t, c[0], c[1], c[2], c[3])
			}})
		}
	}
	return cs
}

func matvecFusedRopeKV(d metal.Device, t tensor.DType, hd, dims, nhead, nkv int) (float64, error) {
	const cols, ntok, nctx = 768, 2, 300
	r := rand.New(rand.NewPCG(13, uint64(t)*1000+uint64(hd)))
	kvd := nkv * hd
	rows := [3]int{nhead * hd, kvd, kvd}
	var raws [3][]byte
	var ws, dst [3]backend.Tensor
	for m, n := range rows {
		raw, _, err := quantized(r, t, n, cols)
		if err != nil {
			return 0, err
		}
		if ws[m], err = ref.Weight("w", t, n, cols, raw); err != nil {
			return 0, err
		}
		raws[m], dst[m] = raw, ref.Activation(ntok, n)
	}
	x, nw := randVec(r, ntok*cols), randVec(r, cols)
	for i := range nw {
		nw[i] = 1 + nw[i]/4
	}
	pos := []int32{7, 299}
	rp := backend.RopeParams{HeadDim: hd, Dims: dims, Base: 500} // a small base: large angles in every pair
	b := &bufs{d: d}
	defer b.release()
	var wa, ya [3]metal.Arg
	for m, n := range rows {
		wa[m], ya[m] = b.raw(raws[m]), b.zeros(4*ntok*n)
	}
	kc, vc := b.zeros(2*2*nctx*kvd), b.zeros(2*2*nctx*kvd) // two layers
	f := metal.MatVecFused{Type: t, W: wa, Rows: rows, X: b.f32(x), Norm: b.f32(nw), Eps: 1e-5, Y: ya, Cols: cols, Tokens: ntok,
		Flags: metal.FusedNorm | metal.FusedRopeKV, Roles: [3]int{metal.FusedRoleQ, metal.FusedRoleK, metal.FusedRoleV},
		Rope: rp, KC: kc, VC: vc, Pos: b.i32(pos), LayerOff: int64(nctx * kvd)}
	if err := b.exec(metal.LaunchMatVecFused(f)); err != nil {
		return 0, err
	}
	var got []float32
	for m, n := range rows {
		got = append(got, b.floats(ya[m], ntok*n)...)
	}
	kraw, vraw := b.bytes(kc, 2*2*nctx*kvd), b.bytes(vc, 2*2*nctx*kvd)
	// the CPU: NormMatMul, Rope of q and k, the F16 cache values
	xa, na := ref.Activation(ntok, cols), ref.Activation(1, cols)
	ref.Write(xa, x)
	ref.Write(na, nw)
	ref.NormMatMul(dst, ws, xa, na, 1e-5, ref.Activation(ntok, cols))
	rp.NHead = nhead
	ref.Rope(dst[0], pos, rp)
	rp.NHead = nkv
	ref.Rope(dst[1], pos, rp)
	var want []float32
	for m, n := range rows {
		v := make([]float32, ntok*n)
		ref.Read(dst[m], v)
		want = append(want, v...)
	}
	kw, vw := want[ntok*rows[0]:ntok*(rows[0]+kvd)], want[ntok*(rows[0]+kvd):]
	for tk := 0; tk < ntok; tk++ {
		for e := 0; e < kvd; e++ {
			off := 2 * (nctx*kvd + int(pos[tk])*kvd + e)
			got = append(got, tensor.FP16ToFP32(uint16(kraw[off])|uint16(kraw[off+1])<<8), tensor.FP16ToFP32(uint16(vraw[off])|uint16(vraw[off+1])<<8))
			want = append(want, tensor.FP16ToFP32(tensor.FP32ToFP16(kw[tk*kvd+e])), tensor.FP16ToFP32(tensor.FP32ToFP16(vw[tk*kvd+e])))
		}
	}
	return b.result(nmse(got, want))
}
