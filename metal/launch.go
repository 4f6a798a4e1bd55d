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
	"matvec_wide": TargetCUDA, "rms_norm_wide": TargetCUDA, "matmul_mma": TargetCUDA,
	"attn_partial": TargetMetal, "attn_merge": TargetMetal,
	"attn_flash": TargetCUDA, "attn_decode": TargetCUDA, "attn_flash_mma": TargetCUDA,
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

// LaunchMatMulMMA: Y = X Wᵀ on tensor cores (matmul_mma.metal): 128-row × 64-token tiles,
// 8 SIMD groups per threadgroup each multiplying 32 rows × 32 tokens by m16n8k16
// bfloat16 products, for NVIDIA GPUs (CUDA; the simulator runs a stand-in).
func LaunchMatMulMMA(t tensor.DType, w, x, y Arg, rows, cols, ntok int) Dispatch {
	return Dispatch{Kernel: KernelName("matmul_mma", t), Args: []Arg{w, x, y, packArgs(int32(cols), int32(rows), int32(ntok))},
		Grid: [3]int{(rows + 127) / 128, (ntok + 63) / 64, 1}, Threads: [3]int{256, 1, 1}}
}

// LaunchMatMulFor is the prompt matmul the backend runs on target tg: the tensor-core
// kernel on CUDA, Metal's simdgroup-matrix kernel otherwise.
func LaunchMatMulFor(tg Target, t tensor.DType, w, x, y Arg, rows, cols, ntok int) Dispatch {
	if tg == TargetCUDA {
		return LaunchMatMulMMA(t, w, x, y, rows, cols, ntok)
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
	return packArgs(int32(p.NHead), int32(p.NKVHead), int32(p.HeadDim), int32(nctx), int32((nctx+attnBlock-1)/attnBlock), p.Scale, layerOff,
		p.SoftCap, int32(p.Window))
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

// ---- the ops of backend.ArchOps (arch.metal); one thread per element, 256 a group ----

func archElt(kernel string, n, cols int, sc float32, bufs ...Arg) Dispatch {
	return Dispatch{Kernel: kernel, Args: append(bufs, packArgs(int32(n), int32(cols), sc)),
		Grid: [3]int{(n + 255) / 256, 1, 1}, Threads: [3]int{256, 1, 1}}
}

// LaunchScale: x *= s over n elements.
func LaunchScale(x Arg, n int, s float32) Dispatch { return archElt("scale", n, 0, s, x) }

// LaunchAddRow: y = x + bias, bias one row of cols, over n elements.
func LaunchAddRow(x, bias, y Arg, n, cols int) Dispatch {
	return archElt("add_row", n, cols, 0, x, bias, y)
}

// LaunchSoftCap: x = c * tanh(x / c) over n elements.
func LaunchSoftCap(x Arg, n int, c float32) Dispatch { return archElt("softcap", n, 0, c, x) }

// LaunchGeGLU: y = gelu_tanh(gate) * up over n elements.
func LaunchGeGLU(gate, up, y Arg, n int) Dispatch { return archElt("geglu", n, 0, 0, gate, up, y) }

// LaunchRopeFF is LaunchRope with each pair's angle divided by ff[i] (a device buffer of
// Dims/2 floats) and cos, sin scaled by p.AttnFactor (0: 1).
func LaunchRopeFF(x, pos, ff Arg, rows int, p backend.RopeParams) Dispatch {
	neox, mscale := int32(0), p.AttnFactor
	if p.NeoX {
		neox = 1
	}
	if mscale == 0 {
		mscale = 1
	}
	return Dispatch{Kernel: "rope_ff", Args: []Arg{x, pos, ff, packArgs(int32(p.NHead), int32(p.HeadDim), int32(p.Dims), p.Base, neox, mscale)},
		Grid: [3]int{(p.Dims/2 + 31) / 32, p.NHead, rows}, Threads: [3]int{32, 1, 1}}
}

// ---- attention_flash.metal: the CUDA target's attention ----

// attnFlashQueries is the query rows of one attn_flash threadgroup (AF_BQ).
const attnFlashQueries = 32

func attnFlashArgs(p backend.AttentionParams, nq, nsplit int, layerOff int64) Arg {
	return packArgs(int32(p.NHead), int32(p.NKVHead), int32(p.HeadDim), int32(nq), int32(nsplit), p.Scale, p.SoftCap, int32(p.Window), layerOff)
}

// AttnFlashHeadDim says whether attn_flash takes head dim hd: multiples of 32 up to 128.
func AttnFlashHeadDim(hd int) bool { return hd > 0 && hd%32 == 0 && hd <= 128 }

// LaunchAttnFlash is causal flash attention for nq query rows at positions pos (any
// positions, each row seeing the cache's 0..pos[row]): a threadgroup of 64 threads per
// 32 query rows of one head, walking the keys in tiles of 32 (attention_flash.metal).
// Head dims: AttnFlashHeadDim.
func LaunchAttnFlash(q, kc, vc, o, pos Arg, nq int, p backend.AttentionParams, layerOff int64) Dispatch {
	return Dispatch{Kernel: "attn_flash", Args: []Arg{q, kc, vc, o, pos, attnFlashArgs(p, nq, 0, layerOff)},
		Grid: [3]int{p.NHead, (nq + attnFlashQueries - 1) / attnFlashQueries, 1}, Threads: [3]int{64, 1, 1}}
}

// attnFlashMMAQueries is the query rows of one attn_flash_mma threadgroup (AFM_BQ).
const attnFlashMMAQueries = 64

// AttnFlashMMAHeadDim says whether attn_flash_mma takes head dim hd: multiples of 16 up
// to 128.
func AttnFlashMMAHeadDim(hd int) bool { return hd > 0 && hd%16 == 0 && hd <= 128 }

// LaunchAttnFlashMMA is LaunchAttnFlash on tensor cores (attention_flash_mma.metal): a
// threadgroup of 4 SIMD groups per 64 query rows of one head, 16 rows a SIMD group,
// m16n8k16 bfloat16 products over KV tiles of 64, for NVIDIA GPUs (CUDA; the simulator
// runs a stand-in). Head dims: AttnFlashMMAHeadDim.
func LaunchAttnFlashMMA(q, kc, vc, o, pos Arg, nq int, p backend.AttentionParams, layerOff int64) Dispatch {
	return Dispatch{Kernel: "attn_flash_mma", Args: []Arg{q, kc, vc, o, pos, attnFlashArgs(p, nq, 0, layerOff)},
		Grid: [3]int{p.NHead, (nq + attnFlashMMAQueries - 1) / attnFlashMMAQueries, 1}, Threads: [3]int{128, 1, 1}}
}

// LaunchAttnPrefillFor is the prompt attention the backend runs on target tg. On CUDA:
// attn_flash_mma for head dims 64 and 128 (the models' usual ones, the fragments'
// widths); attn_flash for the other multiples of 32 up to 128 until the tensor-core
// kernel is measured on them (it passes the conformance cases at 32, 48 and 96 too);
// attn_prefill otherwise, and on Metal.
func LaunchAttnPrefillFor(tg Target, q, kc, vc, o, pos Arg, nq int, p backend.AttentionParams, layerOff int64) Dispatch {
	if tg == TargetCUDA && (p.HeadDim == 64 || p.HeadDim == 128) {
		return LaunchAttnFlashMMA(q, kc, vc, o, pos, nq, p, layerOff)
	}
	if tg == TargetCUDA && AttnFlashHeadDim(p.HeadDim) {
		return LaunchAttnFlash(q, kc, vc, o, pos, nq, p, layerOff)
	}
	return LaunchAttnPrefill(q, kc, vc, o, pos, nq, p, layerOff)
}

// AttnDecodeSplits is attn_decode's splits per head for a context of nctx positions:
// one per 128 positions, 1 to 32. At run time a split takes at least 32 of the valid
// positions, so short contexts use few of them.
func AttnDecodeSplits(nctx int) int { return min(32, max(1, (nctx+127)/128)) }

// AttnDecodeBytes is the size of the buffer LaunchAttnDecodeOne needs for a context of
// nctx positions: the partial results (max, sum, head_dim sums per head and split), then
// one int counter per head, which must be zero before the first launch (each launch
// leaves them zero).
func AttnDecodeBytes(p backend.AttentionParams, nctx int) int {
	return attnDecodeCountOff(p, nctx) + 4*p.NHead
}

func attnDecodeCountOff(p backend.AttentionParams, nctx int) int {
	return 4 * p.NHead * AttnDecodeSplits(nctx) * (2 + p.HeadDim)
}

// LaunchAttnDecodeOne is one query row's attention over the cached positions 0..pos[0]
// (pos a device buffer) of a context of nctx in one dispatch: a threadgroup of 128 threads
// per (head, split); the last split of a head to finish merges into o. part is
// AttnDecodeBytes long, its counters zero. Nothing in the dispatch depends on the
// position (a CUDA graph replays it). Head dims up to 256.
func LaunchAttnDecodeOne(q, kc, vc, part, o, pos Arg, p backend.AttentionParams, nctx int, layerOff int64) Dispatch {
	ns := AttnDecodeSplits(nctx)
	count := Arg{Buf: part.Buf, Off: part.Off + attnDecodeCountOff(p, nctx)}
	return Dispatch{Kernel: "attn_decode", Args: []Arg{q, kc, vc, part, count, o, pos, attnFlashArgs(p, 1, ns, layerOff)},
		Grid: [3]int{p.NHead, ns, 1}, Threads: [3]int{128, 1, 1}}
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
