package tensor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
)

// lowBitVectors are the vector files of IQ3_XXS, IQ3_S, TQ1_0 and TQ2_0, with whether
// each was quantized with the stored importance matrix.
var lowBitVectors = []struct {
	file    string
	dt      DType
	imatrix bool
}{
	{"iq3_xxs", IQ3_XXS, false}, {"iq3_xxs_imatrix", IQ3_XXS, true},
	{"iq3_s", IQ3_S, false}, {"iq3_s_imatrix", IQ3_S, true},
	{"tq1_0", TQ1_0, false}, {"tq2_0", TQ2_0, false},
}

// TestLowBitVectors checks every case of those files: the quantizer's bytes (with the
// file's imatrix_f32 through QuantizeWeighted where it has one), float32-equal
// dequantization, and the dot product with the stored Q8_K activations bit for bit
// (the reference dots follow the AVX2 kernels' float order).
func TestLowBitVectors(t *testing.T) {
	for _, lv := range lowBitVectors {
		c, ok := CodecOf(lv.dt)
		if !ok {
			t.Errorf("%s: no codec", lv.dt)
			continue
		}
		v := loadVec(t, lv.file)
		if DType(v.GGMLType) != lv.dt {
			t.Fatalf("%s: the file is of type %d", lv.file, v.GGMLType)
		}
		raw, err := os.ReadFile(refdata.Path(t, "quant", lv.file+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var im struct {
			Imatrix string `json:"imatrix_f32"`
		}
		if err := json.Unmarshal(raw, &im); err != nil {
			t.Fatal(err)
		}
		if (im.Imatrix != "") != lv.imatrix {
			t.Fatalf("%s: imatrix_f32 present %v, expected %v", lv.file, im.Imatrix != "", lv.imatrix)
		}
		if len(v.Cases) != 5 {
			t.Errorf("%s: %d cases, want the five kinds", lv.file, len(v.Cases))
		}
		for _, k := range v.Cases {
			name := lv.file + "/" + k.Kind
			x := f32s(t, k.Input)
			want := b64(t, k.QuantBytes)
			got := make([]byte, len(want))
			if lv.imatrix {
				if c.QuantizeWeighted == nil {
					t.Fatalf("%s: no importance-weighted quantizer", lv.dt)
				}
				if err := c.QuantizeWeighted(got, x, v.NPerRow, f32s(t, im.Imatrix)); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			} else if err := Quantize(lv.dt, x, got); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !bytes.Equal(got, want) {
				i := firstDiff(got, want)
				t.Errorf("%s: quantized bytes differ first at byte %d (block %d, offset %d): got %#x want %#x",
					name, i, i/lv.dt.TypeSize(), i%lv.dt.TypeSize(), got[i], want[i])
			}
			wantF := f32s(t, k.Dequant)
			gotF := make([]float32, len(wantF))
			if err := Dequantize(lv.dt, want, gotF); err != nil {
				t.Fatal(err)
			}
			for i := range wantF {
				if math.Float32bits(gotF[i]) != math.Float32bits(wantF[i]) {
					t.Errorf("%s: dequantized element %d: got %v want %v", name, i, gotF[i], wantF[i])
					break
				}
			}
			act := b64(t, *k.ActQuant)
			wantDot := f32s(t, *k.VecDot)
			rowBytes := len(want) / v.NRows
			for r := 0; r < v.NRows; r++ {
				d, err := Dot(lv.dt, v.NPerRow, want[r*rowBytes:], act)
				if err != nil {
					t.Fatal(err)
				}
				if math.Float32bits(d) != math.Float32bits(wantDot[r]) {
					t.Errorf("%s row %d: dot %v, llama.cpp %v (diff %.3g)", name, r, d, wantDot[r], d-wantDot[r])
				}
			}
		}
	}
}

// TestTernaryExact: ternary weights {−d, 0, d} survive TQ1_0 and TQ2_0 exactly (d a
// half-precision value), every position of a super-block taking each level.
func TestTernaryExact(t *testing.T) {
	const d = 0.046875
	x := make([]float32, 3*QK_K)
	for i := range x {
		x[i] = d * float32((i+i/QK_K)%3-1)
	}
	for _, dt := range []DType{TQ1_0, TQ2_0} {
		n, _ := dt.RowSize(len(x))
		q := make([]byte, n)
		y := make([]float32, len(x))
		if err := Quantize(dt, x, q); err != nil {
			t.Fatal(err)
		}
		if err := Dequantize(dt, q, y); err != nil {
			t.Fatal(err)
		}
		for i := range x {
			if y[i] != x[i] {
				t.Fatalf("%s: element %d: %v came back as %v", dt, i, x[i], y[i])
			}
		}
	}
}

// TestQuantizeWeightedArgs: bad shapes are refused with an error naming what is wrong.
func TestQuantizeWeightedArgs(t *testing.T) {
	x, w := make([]float32, 512), make([]float32, 256)
	for _, dt := range []DType{IQ3_XXS, IQ3_S} {
		c, _ := CodecOf(dt)
		dst := make([]byte, 2*dt.TypeSize())
		for _, bad := range []struct {
			dst     []byte
			x       []float32
			n       int
			weights []float32
			want    string
		}{
			{dst, x, 100, w, "row length 100"},
			{dst, x, 0, w, "row length 0"},
			{dst, x[:300], 256, w, "not whole rows"},
			{dst, x, 256, w[:255], "255 importance weights"},
			{dst[:10], x, 256, w, fmt.Sprintf("need %d bytes", 2*dt.TypeSize())},
		} {
			err := c.QuantizeWeighted(bad.dst, bad.x, bad.n, bad.weights)
			if err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Errorf("%s: %v, want an error saying %q", dt, err, bad.want)
			}
		}
		if err := c.QuantizeWeighted(dst, x, 256, w); err != nil {
			t.Errorf("%s: %v", dt, err)
		}
	}
}

// TestLowBitNonFinite: NaN, infinities and huge values quantize without a panic (ggml
// aborts or writes garbage; any bytes will do, but not a crash).
func TestLowBitNonFinite(t *testing.T) {
	x := make([]float32, 4*QK_K)
	for i := range x {
		x[i] = float32(i%17) - 8
	}
	x[3], x[QK_K+40] = float32(math.NaN()), float32(math.Inf(1))
	x[2*QK_K+7], x[3*QK_K+100] = float32(math.Inf(-1)), 3e38
	w := make([]float32, QK_K)
	for i := range w {
		w[i] = 1
	}
	for _, lv := range lowBitVectors {
		n, _ := lv.dt.RowSize(len(x))
		q := make([]byte, n)
		if err := Quantize(lv.dt, x, q); err != nil {
			t.Fatal(err)
		}
		if c, _ := CodecOf(lv.dt); c.QuantizeWeighted != nil {
			if err := c.QuantizeWeighted(q, x, QK_K, w); err != nil {
				t.Fatal(err)
			}
		}
		y := make([]float32, len(x))
		if err := Dequantize(lv.dt, q, y); err != nil {
			t.Fatal(err)
		}
	}
}
