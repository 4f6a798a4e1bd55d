package conformance

import (
	"fmt"
	"math/rand/v2"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/metal"
)

// archCases are the kernels of backend.ArchOps (arch.metal) and attention's soft-cap and
// sliding window, against the CPU backend's ops; lengths not multiples of 256 (the
// group) or 32 (a block of keys), windows that leave whole blocks out.
func archCases() []Case {
	var cs []Case
	for _, op := range []string{"scale", "add_row", "softcap", "geglu"} {
		op := op
		tol := 1e-10
		if op == "geglu" { // the CPU rounds GELU through ggml's fp16 table, the GPU does not
			tol = 1e-6
		}
		cs = append(cs, Case{"arch", fmt.Sprintf("%s 7x149", op), tol,
			func(d metal.Device) (float64, error) { return archElementwise(d, op, 7, 149) }})
	}
	for _, c := range []struct {
		hd, dims int
		neox     bool
		mscale   float32
	}{{64, 64, false, 0}, {128, 128, true, 1.19}, {128, 64, false, 1}} {
		c := c
		cs = append(cs, Case{"arch", fmt.Sprintf("rope_ff hd%d dims%d neox=%v attn_factor=%g", c.hd, c.dims, c.neox, c.mscale), 1e-7,
			func(d metal.Device) (float64, error) { return ropeFF(d, c.hd, c.dims, c.neox, c.mscale) }})
	}
	for _, c := range []struct {
		hd, n   int
		softCap float32
		window  int
	}{{64, 300, 0.5, 40}, {32, 33, 0, 8}, {32, 21, 0.05, 8}, {128, 70, 30, 0}, {64, 100, 0, 2047}} {
		c := c
		for _, prefill := range []bool{false, true} {
			kind := "attn_decode"
			if prefill {
				kind = "attn_prefill"
			}
			cs = append(cs, Case{"attention", fmt.Sprintf("%s hd%d n=%d softcap=%g window=%d", kind, c.hd, c.n, c.softCap, c.window), 5e-4,
				func(d metal.Device) (float64, error) {
					return attentionWith(d, c.hd, c.n, prefill, c.softCap, c.window)
				}})
		}
	}
	return cs
}

func archElementwise(d metal.Device, op string, rows, cols int) (float64, error) {
	r := rand.New(rand.NewPCG(11, uint64(len(op))))
	n := rows * cols
	x, y := randVec(r, n), randVec(r, n)
	for i := range x {
		x[i] *= 3 // tanh's flat parts, GELU's negative tail
	}
	b := &bufs{d: d}
	defer b.release()
	xb, ob := b.f32(x), b.zeros(4*n)
	xa, ya, oa := ref.Activation(rows, cols), ref.Activation(rows, cols), ref.Activation(rows, cols)
	ref.Write(xa, x)
	ref.Write(ya, y)
	out := ob
	var disp metal.Dispatch
	switch op {
	case "scale":
		disp, out, oa = metal.LaunchScale(xb, n, 0.37), xb, xa
		ref.Scale(xa, 0.37)
	case "softcap":
		disp, out, oa = metal.LaunchSoftCap(xb, n, 2.5), xb, xa
		ref.SoftCap(xa, 2.5)
	case "add_row":
		bias := y[:cols]
		ba := ref.Activation(1, cols)
		ref.Write(ba, bias)
		disp = metal.LaunchAddRow(xb, b.f32(bias), ob, n, cols)
		ref.AddRow(oa, xa, ba)
	case "geglu":
		disp = metal.LaunchGeGLU(xb, b.f32(y), ob, n)
		ref.GeGLU(oa, xa, ya)
	}
	if err := b.exec(disp); err != nil {
		return 0, err
	}
	want := make([]float32, n)
	ref.Read(oa, want)
	return b.result(nmse(b.floats(out, n), want))
}

func ropeFF(d metal.Device, hd, dims int, neox bool, mscale float32) (float64, error) {
	r := rand.New(rand.NewPCG(12, uint64(hd)))
	const nhead, rows = 4, 3
	x := randVec(r, rows*nhead*hd)
	ff := make([]float32, dims/2)
	for i := range ff {
		ff[i] = 1 + 7*r.Float32()
	}
	pos := []int32{0, 7, 299}
	p := backend.RopeParams{NHead: nhead, HeadDim: hd, Dims: dims, Base: 500000, NeoX: neox, Factors: ff, AttnFactor: mscale}
	b := &bufs{d: d}
	defer b.release()
	xb := b.f32(x)
	if err := b.exec(metal.LaunchRopeFF(xb, b.i32(pos), b.f32(ff), rows, p)); err != nil {
		return 0, err
	}
	xa := ref.Activation(rows, nhead*hd)
	ref.Write(xa, x)
	ref.Rope(xa, pos, p)
	want := make([]float32, len(x))
	ref.Read(xa, want)
	return b.result(nmse(b.floats(xb, len(x)), want))
}
