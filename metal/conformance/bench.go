package conformance

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/tensor"
)

// BenchResult is the time of one kernel × type × shape.
type BenchResult struct {
	Kernel    string  `json:"kernel"`
	Shape     string  `json:"shape"`
	Calls     int     `json:"calls"`
	USPerCall float64 `json:"us_per_call"` // median
	WeightGBs float64 `json:"weights_gb_per_s,omitempty"`
	GFLOPs    float64 `json:"gflop_per_s,omitempty"`
	Simulated bool    `json:"simulated"`
}

// Bench times the weight kernels (matvec, matvec_wide, matvec_fused with its RMSNorm,
// matmul, matmul_mma) for every type, both RMSNorms and the attention kernels. A
// call is Run and Sync: the time of the GPU executing the dispatch (with one commit),
// not of encoding it. Under the simulator the figures describe the simulator, not a GPU.
func Bench(d metal.Device, filter string, calls int) ([]BenchResult, error) {
	var out []BenchResult
	r := rand.New(rand.NewPCG(11, 11))
	for _, t := range metal.WeightTypes() {
		for _, k := range []string{"matvec", "matvec_wide", "matvec_fused", "matmul", "matmul_mma"} {
			rows, cols, ntok := 256, 4096, 1
			launch := metal.LaunchMatVec
			switch k {
			case "matvec_wide": // CUDA's decode matvec
				launch = metal.LaunchMatVecWide
			case "matvec_fused": // CUDA's decode matvec with the RMSNorm of x (x as its weight)
				launch = normMatVecFused
			case "matmul":
				rows, cols, ntok = 64, 1024, 32
				launch = metal.LaunchMatMul
			case "matmul_mma": // CUDA's prompt matmul: TinyLlama's q projection of a 512-token prompt
				rows, cols, ntok = 2048, 2048, 512
				if d.Simulated() { // one 128 × 64 tile: the simulator runs the stand-in slowly
					rows, cols, ntok = 128, 1024, 64
				}
				launch = metal.LaunchMatMulMMA
			}
			name := launch(t, metal.Arg{}, metal.Arg{}, metal.Arg{}, rows, cols, ntok).Kernel
			if filter != "" && !strings.Contains(name, filter) {
				continue
			}
			raw, _, err := quantized(r, t, rows, cols)
			if err != nil {
				return nil, err
			}
			b := &bufs{d: d}
			x := launch(t, b.raw(raw), b.f32(randVec(r, ntok*cols)), b.zeros(4*ntok*rows), rows, cols, ntok)
			us, err := timeIt(b, calls, x)
			b.release()
			if err != nil {
				return nil, err
			}
			out = append(out, BenchResult{Kernel: name, Shape: fmt.Sprintf("%dx%d x %d tok", rows, cols, ntok), Calls: calls,
				USPerCall: us, WeightGBs: float64(len(raw)) / us / 1e3, GFLOPs: 2 * float64(rows*cols*ntok) / us / 1e3,
				Simulated: d.Simulated()})
		}
	}
	for _, launch := range []func(x, w, y metal.Arg, rows, cols int, eps float32) metal.Dispatch{metal.LaunchRMSNorm, metal.LaunchRMSNormWide} {
		name := launch(metal.Arg{}, metal.Arg{}, metal.Arg{}, 8, 4096, 0).Kernel
		if filter != "" && !strings.Contains(name, filter) {
			continue
		}
		b := &bufs{d: d}
		x := launch(b.f32(randVec(r, 8*4096)), b.f32(randVec(r, 4096)), b.zeros(4*8*4096), 8, 4096, 1e-5)
		us, err := timeIt(b, calls, x)
		b.release()
		if err != nil {
			return nil, err
		}
		out = append(out, BenchResult{Kernel: name, Shape: "8x4096", Calls: calls, USPerCall: us, Simulated: d.Simulated()})
	}
	att, err := benchAttention(d, filter, calls)
	return append(out, att...), err
}

// benchAttention times attention at TinyLlama's shape (32 heads, 4 KV heads, head dim
// 64, F16 cache): a 512-token prompt (attn_prefill, CUDA's attn_flash and attn_flash_mma) and one decode
// token at 128 valid positions of a 640-position context and at 2000 of 4096
// (attn_partial + attn_merge, CUDA's attn_decode). GFLOP/s counts the causal prompt's
// 4·n(n+1)/2·head_dim·heads.
func benchAttention(d metal.Device, filter string, calls int) ([]BenchResult, error) {
	var out []BenchResult
	r := rand.New(rand.NewPCG(12, 12))
	p := backend.AttentionParams{NHead: 32, NKVHead: 4, HeadDim: 64, Scale: 0.125}
	kvDim, qDim := p.NKVHead*p.HeadDim, p.NHead*p.HeadDim
	cache := func(b *bufs, nctx int) metal.Arg {
		h := make([]byte, 2*nctx*kvDim)
		for i := 0; i < len(h); i += 2 {
			binary.LittleEndian.PutUint16(h[i:], tensor.FP32ToFP16(float32(r.NormFloat64())))
		}
		return b.raw(h)
	}
	run := func(name, shape string, flops float64, mk func(b *bufs) []metal.Dispatch) error {
		if filter != "" && !strings.Contains(name, filter) {
			return nil
		}
		b := &bufs{d: d}
		defer b.release()
		us, err := timeIt(b, calls, mk(b)...)
		if err != nil {
			return err
		}
		res := BenchResult{Kernel: name, Shape: shape, Calls: calls, USPerCall: us, Simulated: d.Simulated()}
		if flops > 0 {
			res.GFLOPs = flops / us / 1e3
		}
		out = append(out, res)
		return nil
	}
	const n = 512
	flops := 4 * float64(n*(n+1)/2) * float64(p.HeadDim*p.NHead)
	pos := make([]int32, 4096)
	for i := range pos {
		pos[i] = int32(i)
	}
	for _, launch := range []func(q, kc, vc, o, pos metal.Arg, nq int, p backend.AttentionParams, layerOff int64) metal.Dispatch{
		metal.LaunchAttnPrefill, metal.LaunchAttnFlash, metal.LaunchAttnFlashMMA} {
		name := launch(metal.Arg{}, metal.Arg{}, metal.Arg{}, metal.Arg{}, metal.Arg{}, n, p, 0).Kernel
		if err := run(name, "512 tok 32/4 heads hd64", flops, func(b *bufs) []metal.Dispatch {
			return []metal.Dispatch{launch(b.f32(randVec(r, n*qDim)), cache(b, n), cache(b, n), b.zeros(4*n*qDim), b.i32(pos[:n]), n, p, 0)}
		}); err != nil {
			return nil, err
		}
	}
	for _, sh := range [][2]int{{128, 640}, {2000, 4096}} {
		nkv, nctx := sh[0], sh[1]
		shape := fmt.Sprintf("n_kv %d of %d, 32/4 heads hd64", nkv, nctx)
		if err := run("attn_partial+merge", shape, 0, func(b *bufs) []metal.Dispatch {
			ds := metal.LaunchAttnDecode(b.f32(randVec(r, qDim)), cache(b, nctx), cache(b, nctx), b.zeros(metal.AttnPartialBytes(p, nctx)),
				b.zeros(4*qDim), b.i32(pos[nkv-1:nkv]), p, nctx, 0)
			return ds[:]
		}); err != nil {
			return nil, err
		}
		if err := run("attn_decode", shape, 0, func(b *bufs) []metal.Dispatch {
			return []metal.Dispatch{metal.LaunchAttnDecodeOne(b.f32(randVec(r, qDim)), cache(b, nctx), cache(b, nctx),
				b.zeros(metal.AttnDecodeBytes(p, nctx)), b.zeros(4*qDim), b.i32(pos[nkv-1:nkv]), p, nctx, 0)}
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// normMatVecFused is matvec_fused's RMSNorm-then-product launch for one weight, with x's
// first row as the norm weight, in LaunchMatVec's form.
func normMatVecFused(t tensor.DType, w, x, y metal.Arg, rows, cols, ntok int) metal.Dispatch {
	return metal.LaunchMatVecFused(metal.MatVecFused{Type: t, W: [3]metal.Arg{w}, Rows: [3]int{rows}, X: x, Norm: x, Eps: 1e-5,
		Y: [3]metal.Arg{y}, Cols: cols, Tokens: ntok, Flags: metal.FusedNorm})
}

// timeIt returns the median time of calls executions of xs, each Run then Sync.
func timeIt(b *bufs, calls int, xs ...metal.Dispatch) (float64, error) {
	if err := b.exec(xs...); err != nil { // warm-up
		return 0, err
	}
	ts := make([]float64, calls)
	for i := range ts {
		t0 := time.Now()
		if err := b.exec(xs...); err != nil {
			return 0, err
		}
		ts[i] = float64(time.Since(t0).Nanoseconds()) / 1e3
	}
	sort.Float64s(ts)
	return ts[len(ts)/2], nil
}
