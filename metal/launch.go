package metal

import (
	"encoding/binary"
	"strings"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/tensor"
)

// The launch geometry of every kernel, in one place: each function returns a kernel's
// Dispatch — its name, the bindings in [[buffer(i)]] order, its argument struct packed
// as the .metal file declares it (inline bytes, no buffer), the grid and the
// threadgroup size. The backend, the conformance cases and the benchmarks use these.

// packArgs lays out an argument struct (C layout: callers add padding fields).
func packArgs(fields ...any) Arg {
	var out []byte
	for _, f := range fields {
		out, _ = binary.Append(out, binary.LittleEndian, f)
	}
	return Arg{Bytes: out}
}

// KernelName is the host name of a per-type kernel: family_type, e.g. matvec_q4_k.
func KernelName(family string, t tensor.DType) string {
	return family + "_" + strings.ToLower(t.String())
}

// LaunchGetRows: dst[i] = dequantized row ids[i] of table (cols elements a row); one
// SIMD group per id.
func LaunchGetRows(t tensor.DType, table, ids, dst Arg, nids, cols int) Dispatch {
	return Dispatch{Kernel: KernelName("get_rows", t), Args: []Arg{table, ids, dst, packArgs(int32(cols))},
		Grid: [3]int{nids, 1, 1}, Threads: [3]int{32, 1, 1}}
}

// LaunchRMSNorm: y = rmsnorm(x) * w over rows of cols; one SIMD group per row.
func LaunchRMSNorm(x, w, y Arg, rows, cols int, eps float32) Dispatch {
	return Dispatch{Kernel: "rms_norm", Args: []Arg{x, w, y, packArgs(int32(cols), eps)},
		Grid: [3]int{rows, 1, 1}, Threads: [3]int{32, 1, 1}}
}

// LaunchMatVec: y[t] = W x[t] for few tokens; 2 SIMD groups of 4 rows per threadgroup.
func LaunchMatVec(t tensor.DType, w, x, y Arg, rows, cols, ntok int) Dispatch {
	return Dispatch{Kernel: KernelName("matvec", t), Args: []Arg{w, x, y, packArgs(int32(cols), int32(rows))},
		Grid: [3]int{(rows + 7) / 8, ntok, 1}, Threads: [3]int{64, 1, 1}}
}

// LaunchMatVecWide: y[t] = W x[t] for few tokens; one SIMD group per row, 8 per
// threadgroup (matvec.metal), for GPUs with many cores (CUDA).
func LaunchMatVecWide(t tensor.DType, w, x, y Arg, rows, cols, ntok int) Dispatch {
	return Dispatch{Kernel: KernelName("matvec_wide", t), Args: []Arg{w, x, y, packArgs(int32(cols), int32(rows))},
		Grid: [3]int{(rows + wideWarps - 1) / wideWarps, ntok, 1}, Threads: [3]int{32 * wideWarps, 1, 1}}
}

// LaunchRMSNormWide: y = rmsnorm(x) * w over rows of cols; a threadgroup of 8 SIMD
// groups per row (norm.metal).
func LaunchRMSNormWide(x, w, y Arg, rows, cols int, eps float32) Dispatch {
	return Dispatch{Kernel: "rms_norm_wide", Args: []Arg{x, w, y, packArgs(int32(cols), eps)},
		Grid: [3]int{rows, 1, 1}, Threads: [3]int{32 * wideWarps, 1, 1}}
}

// wideWarps is matvec.metal's MVW_WARPS and norm.metal's NORM_WARPS: SIMD groups per threadgroup.
const wideWarps = 8

// TargetKernels are the kernel families the backend dispatches only on one target
// (per-type ones without the type suffix); every other family it dispatches on all.
var TargetKernels = map[string]Target{
	"matvec": TargetMetal, "rms_norm": TargetMetal, "matmul": TargetMetal,
	"matvec_wide": TargetCUDA, "rms_norm_wide": TargetCUDA, "matmul_wide": TargetCUDA,
	"matvec_fused": TargetCUDA, "rope_kv": TargetCUDA,
}

// LaunchMatVecFor is the decode matvec the backend runs on target tg: the wide kernel
// on CUDA, Metal's otherwise. The wide kernel's word loads need 4-byte aligned weight
// rows and its float4 loads 16-byte aligned x rows: CUDA weights are whole cuMemAlloc
// buffers (256-byte aligned), never host maps, and quantized rows are 32k floats long.
func LaunchMatVecFor(tg Target, t tensor.DType, w, x, y Arg, rows, cols, ntok int) Dispatch {
	if tg == TargetCUDA {
		return LaunchMatVecWide(t, w, x, y, rows, cols, ntok)
	}
	return LaunchMatVec(t, w, x, y, rows, cols, ntok)
}

// LaunchRMSNormFor is the RMSNorm the backend runs on target tg.
func LaunchRMSNormFor(tg Target, x, w, y Arg, rows, cols int, eps float32) Dispatch {
	if tg == TargetCUDA {
		return LaunchRMSNormWide(x, w, y, rows, cols, eps)
	}
	return LaunchRMSNorm(x, w, y, rows, cols, eps)
}

// LaunchMatMul: Y = X Wᵀ with 32-row × 32-token tiles, 4 SIMD groups per threadgroup.
func LaunchMatMul(t tensor.DType, w, x, y Arg, rows, cols, ntok int) Dispatch {
	return Dispatch{Kernel: KernelName("matmul", t), Args: []Arg{w, x, y, packArgs(int32(cols), int32(rows), int32(ntok))},
		Grid: [3]int{(rows + 31) / 32, (ntok + 31) / 32, 1}, Threads: [3]int{128, 1, 1}}
}

// LaunchMatMulWide: Y = X Wᵀ with 64-row × 64-token tiles, 256 threads per threadgroup
// each accumulating a 4 × 4 micro-tile (matmul.metal), for GPUs with many cores (CUDA).
func LaunchMatMulWide(t tensor.DType, w, x, y Arg, rows, cols, ntok int) Dispatch {
	return Dispatch{Kernel: KernelName("matmul_wide", t), Args: []Arg{w, x, y, packArgs(int32(cols), int32(rows), int32(ntok))},
		Grid: [3]int{(rows + 63) / 64, (ntok + 63) / 64, 1}, Threads: [3]int{256, 1, 1}}
}

// LaunchMatMulFor is the prompt matmul the backend runs on target tg: the wide kernel on
// CUDA, Metal's simdgroup-matrix kernel otherwise.
func LaunchMatMulFor(tg Target, t tensor.DType, w, x, y Arg, rows, cols, ntok int) Dispatch {
	if tg == TargetCUDA {
		return LaunchMatMulWide(t, w, x, y, rows, cols, ntok)
	}
	return LaunchMatMul(t, w, x, y, rows, cols, ntok)
}

// LaunchRope rotates rows of p.NHead heads in place at positions pos; one thread per
// (pair, head, row).
func LaunchRope(x, pos Arg, rows int, p backend.RopeParams) Dispatch {
	neox := int32(0)
	if p.NeoX {
		neox = 1
	}
	return Dispatch{Kernel: "rope", Args: []Arg{x, pos, packArgs(int32(p.NHead), int32(p.HeadDim), int32(p.Dims), p.Base, neox)},
		Grid: [3]int{(p.Dims/2 + 31) / 32, p.NHead, rows}, Threads: [3]int{32, 1, 1}}
}

// LaunchAdd: y = a + b over n elements.
func LaunchAdd(a, b, y Arg, n int) Dispatch { return elementwise("add", a, b, y, n) }

// LaunchSwiGLU: y = silu(gate) * up over n elements.
func LaunchSwiGLU(gate, up, y Arg, n int) Dispatch { return elementwise("swiglu", gate, up, y, n) }

func elementwise(kernel string, a, b, y Arg, n int) Dispatch {
	return Dispatch{Kernel: kernel, Args: []Arg{a, b, y, packArgs(int32(n))},
		Grid: [3]int{(n + 255) / 256, 1, 1}, Threads: [3]int{256, 1, 1}}
}

// LaunchArgmax writes the index of each row's largest value to out; one SIMD group a row.
func LaunchArgmax(x, out Arg, rows, cols int) Dispatch {
	return Dispatch{Kernel: "argmax", Args: []Arg{x, out, packArgs(int32(cols))},
		Grid: [3]int{rows, 1, 1}, Threads: [3]int{32, 1, 1}}
}

// LaunchKVStore writes ntok K and V rows of kvDim into the F16 caches kc, vc at their
// positions, layerOff elements into the caches.
func LaunchKVStore(k, v, kc, vc, pos Arg, ntok, kvDim int, layerOff int64) Dispatch {
	return Dispatch{Kernel: "kv_store", Args: []Arg{k, v, kc, vc, pos, packArgs(int32(kvDim), int32(0), layerOff)},
		Grid: [3]int{(kvDim + 31) / 32, ntok, 1}, Threads: [3]int{32, 1, 1}}
}

// attnBlock is the KV positions one attn_partial SIMD group covers (ATT_BLOCK).
const attnBlock = 32

func attnArgs(p backend.AttentionParams, nctx int, layerOff int64) Arg {
	return packArgs(int32(p.NHead), int32(p.NKVHead), int32(p.HeadDim), int32(nctx), int32((nctx+attnBlock-1)/attnBlock), p.Scale, layerOff)
}

// AttnPartialBytes is the size of the partial-results buffer LaunchAttnDecode needs
// for a context of nctx positions.
func AttnPartialBytes(p backend.AttentionParams, nctx int) int {
	return 4 * p.NHead * ((nctx + attnBlock - 1) / attnBlock) * (2 + p.HeadDim)
}

// LaunchAttnDecode is one query row's attention over the cached positions 0..pos[0]
// (pos a device buffer) of a context of nctx: attn_partial (one SIMD group per head
// and 32-position block of the context, those past pos[0] exit at once, into part)
// then attn_merge (one SIMD group per head, into o). Nothing in the dispatches depends
// on the position, so a decode step records the same bytes at every token.
func LaunchAttnDecode(q, kc, vc, part, o, pos Arg, p backend.AttentionParams, nctx int, layerOff int64) [2]Dispatch {
	a := attnArgs(p, nctx, layerOff)
	return [2]Dispatch{
		{Kernel: "attn_partial", Args: []Arg{q, kc, vc, part, pos, a}, Grid: [3]int{p.NHead, (nctx + attnBlock - 1) / attnBlock, 1}, Threads: [3]int{32, 1, 1}},
		{Kernel: "attn_merge", Args: []Arg{part, o, pos, a}, Grid: [3]int{p.NHead, 1, 1}, Threads: [3]int{32, 1, 1}},
	}
}

// LaunchAttnPrefill is causal flash attention for nq query rows at positions pos; one
// SIMD group per (head, row).
func LaunchAttnPrefill(q, kc, vc, o, pos Arg, nq int, p backend.AttentionParams, layerOff int64) Dispatch {
	return Dispatch{Kernel: "attn_prefill", Args: []Arg{q, kc, vc, o, pos, attnArgs(p, 0, layerOff)},
		Grid: [3]int{p.NHead, nq, 1}, Threads: [3]int{32, 1, 1}}
}

// ---- decode fusion (kernels/matvec_fused.metal) ----

// Fused* are matvec_fused's flags (MVF_*): RMSNorm x first, add a residual, write
// silu(W0 x) * (W1 x), rotate q and k and store k and v into the KV cache.
const (
	FusedNorm     = 1
	FusedResidual = 2
	FusedSwiGLU   = 4
	FusedRopeKV   = 8
)

// FusedRole* are the weights' roles with FusedRopeKV (MVF_ROLE_*).
const (
	FusedRoleQ = 1 // rows rotated
	FusedRoleK = 2 // rows rotated and stored into the K cache
	FusedRoleV = 3 // rows stored into the V cache
)

// FusedMaxUnalignedCols is matvec_fused's x chunk (MVF_CHUNK): rows of float weights
// (F32, F16) longer than this must be a multiple of 4 long (the chunks' vector loads).
const FusedMaxUnalignedCols = 6144

// MatVecFused is one matvec_fused launch: y[m] = W[m] x' for the weights m with Rows[m]
// > 0, all of type Type and Cols long, for Tokens tokens. Flags: FusedNorm, x' =
// rmsnorm(x) * Norm (Eps); FusedResidual, y[0] = Res + W[0] x' (Res may be y[0]);
// FusedSwiGLU, y[0] = silu(W[0] x') * (W[1] x') (Rows[0] = Rows[1]); FusedRopeKV, W[m]'s
// rows as Roles[m] says: rotated by Rope (adjacent pairs; Rope.HeadDim, Rope.Dims, Rope.Base)
// at positions Pos, and stored into the F16 caches KC, VC, LayerOff elements in.
type MatVecFused struct {
	Type         tensor.DType
	W, Y         [3]Arg
	Rows         [3]int
	X            Arg
	Cols, Tokens int
	Flags        int
	Norm         Arg
	Eps          float32
	Res          Arg
	Roles        [3]int
	Rope         backend.RopeParams
	KC, VC, Pos  Arg
	LayerOff     int64
}

// LaunchMatVecFused: one SIMD group per output row, 8 per threadgroup, x staged in
// threadgroup memory (matvec_fused.metal). Unused bindings take X (a live buffer, never
// read or written).
func LaunchMatVecFused(f MatVecFused) Dispatch {
	n := f.Rows[0] + f.Rows[1] + f.Rows[2]
	if f.Flags&FusedSwiGLU != 0 {
		n = f.Rows[0]
	}
	or := func(a Arg) Arg {
		if a.Buf == nil {
			return f.X
		}
		return a
	}
	roles := int32(f.Roles[0] | f.Roles[1]<<4 | f.Roles[2]<<8)
	return Dispatch{Kernel: KernelName("matvec_fused", f.Type),
		Args: []Arg{or(f.W[0]), or(f.W[1]), or(f.W[2]), f.X, or(f.Norm), or(f.Res), or(f.Y[0]), or(f.Y[1]), or(f.Y[2]),
			or(f.KC), or(f.VC), or(f.Pos),
			packArgs(int32(f.Cols), int32(f.Rows[0]), int32(f.Rows[1]), int32(f.Rows[2]), int32(f.Flags), f.Eps,
				roles, int32(f.Rope.HeadDim), int32(f.Rope.Dims), f.Rope.Base, f.LayerOff)},
		Grid: [3]int{(n + wideWarps - 1) / wideWarps, f.Tokens, 1}, Threads: [3]int{32 * wideWarps, 1, 1}}
}

// LaunchRopeKV rotates q (ap.NHead heads) and k (ap.NKVHead heads) in
// place at positions pos and stores k and v into the F16 caches kc, vc, layerOff
// elements in: rope, rope and kv_store in one kernel (rope_kv.metal), for ntok tokens;
// the backend's choice for NeoX RoPE, whose pairs matvec_fused's epilogue cannot rotate.
func LaunchRopeKV(q, k, v, kc, vc, pos Arg, ntok int, rp backend.RopeParams, ap backend.AttentionParams, layerOff int64) Dispatch {
	neox := int32(0)
	if rp.NeoX {
		neox = 1
	}
	n := (ap.NHead+ap.NKVHead)*(rp.Dims/2) + ap.NKVHead*ap.HeadDim
	return Dispatch{Kernel: "rope_kv", Args: []Arg{q, k, v, kc, vc, pos,
		packArgs(int32(ap.NHead), int32(ap.NKVHead), int32(ap.HeadDim), int32(rp.Dims), rp.Base, neox, layerOff)},
		Grid: [3]int{(n + 255) / 256, ntok, 1}, Threads: [3]int{256, 1, 1}}
}
