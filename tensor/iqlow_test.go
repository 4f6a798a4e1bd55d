package tensor

import (
	"bytes"
	"math"
	"testing"
)

// The low-bit i-quants' vector files, each checked here explicitly (a missing codec
// fails): quant_bytes bit-exact with ggml_quantize_chunk, with the file's importance
// weights where it has them (the _imatrix twins too), dequant_f32 bit-exact, and the
// reference dot bit-exact with ggml's vec_dot (its AVX2 summation order).
func TestVectorsLowBitIQ(t *testing.T) {
	files := []string{"iq2_xxs", "iq2_xs", "iq2_s", "iq2_s_imatrix", "iq1_s", "iq1_m", "iq1_m_imatrix"}
	for _, name := range files {
		v := loadVec(t, name)
		dt := DType(v.GGMLType)
		c, ok := CodecOf(dt)
		if !ok {
			t.Errorf("%s: type %s has no codec", name, dt)
			continue
		}
		if c.RequiresImatrix != (v.Imatrix != "" && name == v.TypeName) {
			t.Errorf("%s: RequiresImatrix %v", name, c.RequiresImatrix)
		}
		var weights []float32
		if v.Imatrix != "" {
			weights = f32s(t, v.Imatrix)
		}
		for _, cs := range v.Cases {
			x := f32s(t, cs.Input)
			want := b64(t, cs.QuantBytes)
			got := make([]byte, len(want))
			if err := QuantizeWeighted(dt, x, got, v.NPerRow, weights); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !bytes.Equal(got, want) {
				i := firstDiff(got, want)
				t.Errorf("%s/%s: quantized bytes differ first at byte %d (block %d): got %#x want %#x", name, cs.Kind, i, i/dt.TypeSize(), got[i], want[i])
			}
			wantY := f32s(t, cs.Dequant)
			gotY := make([]float32, len(wantY))
			if err := Dequantize(dt, want, gotY); err != nil {
				t.Fatal(err)
			}
			for i := range wantY {
				if math.Float32bits(gotY[i]) != math.Float32bits(wantY[i]) {
					t.Errorf("%s/%s: dequantized element %d: got %v want %v", name, cs.Kind, i, gotY[i], wantY[i])
					break
				}
			}
			act := b64(t, *cs.ActQuant)
			wantDot := f32s(t, *cs.VecDot)
			rb := len(want) / v.NRows
			for r := 0; r < v.NRows; r++ {
				d, err := Dot(dt, v.NPerRow, want[r*rb:], act)
				if err != nil {
					t.Fatal(err)
				}
				if math.Float32bits(d) != math.Float32bits(wantDot[r]) {
					t.Errorf("%s/%s row %d: dot %v, llama.cpp %v", name, cs.Kind, r, d, wantDot[r])
				}
			}
		}
	}
}

// Without importance weights a type that requires them is refused with an error.
func TestRequiresImatrixRefused(t *testing.T) {
	for _, dt := range []DType{IQ2_XXS, IQ2_XS, IQ1_S} {
		x := make([]float32, QK_K)
		q := make([]byte, dt.TypeSize())
		if err := Quantize(dt, x, q); err == nil {
			t.Errorf("%s: quantized without an importance matrix", dt)
		}
		if err := QuantizeWeighted(dt, x, q, QK_K, make([]float32, 10)); err == nil {
			t.Errorf("%s: accepted 10 weights for rows of %d", dt, QK_K)
		}
	}
}

// The grids expanded from ggml-quants.c's kgrid tables are ggml-common.h's: its first
// and last entries, as written there.
func TestIQGridsMatchGGML(t *testing.T) {
	pack := func(g [8]int8) uint64 {
		var u uint64
		for i := 7; i >= 0; i-- {
			u = u<<8 | uint64(uint8(g[i]))
		}
		return u
	}
	for _, c := range []struct {
		name        string
		grid        [][8]int8
		first, last uint64
	}{
		{"iq2xxs_grid", gridIQ2XXS, 0x0808080808080808, 0x2b2b2b1908081908},
		{"iq2xs_grid", gridIQ2XS, 0x0808080808080808, 0x2b2b2b2b2b2b2b2b},
		{"iq2s_grid", gridIQ2S, 0x0808080808080808, 0x2b2b2b2b2b2b2b2b},
		{"iq1s_grid", gridIQ1S, 0xffffffffffffffff, 0x0101010101010101},
	} {
		if f, l := pack(c.grid[0]), pack(c.grid[len(c.grid)-1]); f != c.first || l != c.last {
			t.Errorf("%s: first %#x last %#x, ggml %#x %#x", c.name, f, l, c.first, c.last)
		}
	}
}

// quantizeAny quantizes to any type, with unit importance weights (one row) for the
// types that require them.
func quantizeAny(dt DType, x []float32, q []byte) error {
	if c, _ := CodecOf(dt); c.RequiresImatrix {
		w := make([]float32, len(x))
		for i := range w {
			w[i] = 1
		}
		return QuantizeWeighted(dt, x, q, len(x), w)
	}
	return Quantize(dt, x, q)
}

// Non-finite input does not crash the quantizers (ggml aborts on it).
func TestIQQuantizeNonFinite(t *testing.T) {
	x := make([]float32, QK_K)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	x[5], x[77] = float32(math.NaN()), float32(math.Inf(1))
	w := make([]float32, QK_K)
	for i := range w {
		w[i] = 1
	}
	for _, dt := range []DType{IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M} {
		q := make([]byte, dt.TypeSize())
		if err := QuantizeWeighted(dt, x, q, QK_K, w); err != nil {
			t.Errorf("%s: %v", dt, err)
		}
	}
}
