package tensor

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
)

// testVec is one file of ../shared/refdata/quant (format ggml-quant-testvec-v1).
type testVec struct {
	TypeName  string `json:"type_name"`
	GGMLType  int    `json:"ggml_type"`
	BlockSize int    `json:"block_size"`
	TypeSize  int    `json:"type_size"`
	NRows     int    `json:"n_rows"`
	NPerRow   int    `json:"n_per_row"`
	Imatrix   string `json:"imatrix_f32"` // the importance weights quant_bytes were made with; "": none
	Cases     []struct {
		Kind        string    `json:"kind"`
		Input       string    `json:"input_f32"`
		QuantBytes  string    `json:"quant_bytes"`
		QuantRef    string    `json:"quant_bytes_from_float_ref"`
		QuantCPU    string    `json:"quant_bytes_cpu_from_float"`
		Dequant     string    `json:"dequant_f32"`
		Act         *string   `json:"act_f32"`
		ActQuant    *string   `json:"act_quant_bytes"`
		ActQuantRef *string   `json:"act_quant_bytes_ref"`
		VecDot      *string   `json:"vec_dot"`
		DotDequant  []float64 `json:"dot_dequant_f64"`
	} `json:"cases"`
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	return b
}

func f32s(t *testing.T, s string) []float32 {
	b := b64(t, s)
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// vectorTypes names the vector file (ggml's type name, "q4_K") of every type with a
// codec; a codec without vectors is an error, but for F32, whose codec is the identity.
func vectorTypes(t *testing.T) []string {
	t.Helper()
	dir := refdata.Path(t, "quant")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, dt := range Codecs() {
		name := ""
		for _, e := range entries {
			if base, ok := strings.CutSuffix(e.Name(), ".json"); ok && strings.EqualFold(base, dt.String()) {
				name = base
			}
		}
		switch {
		case name != "":
			names = append(names, name)
		case dt != F32:
			t.Errorf("%s has a codec but no test vectors in %s", dt, dir)
		}
	}
	return names
}

func loadVec(t *testing.T, name string) *testVec {
	t.Helper()
	raw, err := os.ReadFile(refdata.Path(t, "quant", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var v testVec
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &v
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestVectorsTraits(t *testing.T) {
	for _, name := range vectorTypes(t) {
		v := loadVec(t, name)
		dt := DType(v.GGMLType)
		if dt.BlockSize() != v.BlockSize || dt.TypeSize() != v.TypeSize {
			t.Errorf("%s: block %d/%d bytes, vectors say %d/%d", dt, dt.BlockSize(), dt.TypeSize(), v.BlockSize, v.TypeSize)
		}
		if p, err := ParseDType(v.TypeName); err != nil || p != dt {
			t.Errorf("ParseDType(%q) = %v, %v; want %v", v.TypeName, p, err, dt)
		}
	}
}

// TestVectorsQuantize: the bytes of ggml_quantize_chunk, bit for bit.
func TestVectorsQuantize(t *testing.T) {
	for _, name := range vectorTypes(t) {
		v := loadVec(t, name)
		dt := DType(v.GGMLType)
		for _, c := range v.Cases {
			x := f32s(t, c.Input)
			want := b64(t, c.QuantBytes)
			got := make([]byte, len(want))
			var weights []float32
			if v.Imatrix != "" {
				weights = f32s(t, v.Imatrix)
			}
			if err := QuantizeWeighted(dt, x, got, v.NPerRow, weights); err != nil {
				t.Fatalf("%s: %v", dt, err)
			}
			if dt == Q8_K {
				maskUnsetQ8KBsums(got, want)
			}
			if !bytes.Equal(got, want) {
				i := firstDiff(got, want)
				t.Errorf("%s/%s: quantized bytes differ first at byte %d (block %d): got %#x want %#x",
					dt, c.Kind, i, i/dt.TypeSize(), got[i], want[i])
			}
			if dt == IQ4_NL && c.QuantRef != "" {
				ref := b64(t, c.QuantRef)
				QuantizeIQ4_NLRef(x, got)
				if !bytes.Equal(got, ref) {
					t.Errorf("%s/%s: ref quantizer bytes differ at %d", dt, c.Kind, firstDiff(got, ref))
				}
			}
		}
	}
}

// TestVectorsDequantize: float32 equality with ggml's to_float.
func TestVectorsDequantize(t *testing.T) {
	for _, name := range vectorTypes(t) {
		v := loadVec(t, name)
		dt := DType(v.GGMLType)
		for _, c := range v.Cases {
			want := f32s(t, c.Dequant)
			got := make([]float32, len(want))
			if err := Dequantize(dt, b64(t, c.QuantBytes), got); err != nil {
				t.Fatalf("%s: %v", dt, err)
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Errorf("%s/%s: element %d: got %v want %v", dt, c.Kind, i, got[i], want[i])
					break
				}
			}
		}
	}
}

// TestVectorsDot: activation bytes bit-exact with the CPU from_float, and vec_dot to
// float32 rounding (the SIMD kernels add in another order).
func TestVectorsDot(t *testing.T) {
	for _, name := range vectorTypes(t) {
		v := loadVec(t, name)
		dt := DType(v.GGMLType)
		vt, ok := VecDotType(dt)
		for _, c := range v.Cases {
			if c.VecDot == nil {
				if ok {
					t.Errorf("%s has a dot product but the vectors have none", dt)
				}
				continue
			}
			act := f32s(t, *c.Act)
			wantAct := b64(t, *c.ActQuant)
			gotAct := make([]byte, len(wantAct))
			if err := QuantizeActivation(vt, act, gotAct); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotAct, wantAct) {
				t.Errorf("%s/%s: %s activation bytes differ at %d", dt, c.Kind, vt, firstDiff(gotAct, wantAct))
			}
			w := b64(t, c.QuantBytes)
			want := f32s(t, *c.VecDot)
			rowBytes := len(w) / v.NRows
			for r := 0; r < v.NRows; r++ {
				got, err := Dot(dt, v.NPerRow, w[r*rowBytes:], wantAct)
				if err != nil {
					t.Fatal(err)
				}
				// Tolerance: a few float32 ulps of the magnitude of the terms.
				tol := 4e-6 * math.Max(1, math.Abs(float64(want[r])))
				if d := math.Abs(float64(got) - float64(want[r])); d > tol {
					t.Errorf("%s/%s row %d: dot %v, llama.cpp %v (diff %.3g)", dt, c.Kind, r, got, want[r], d)
				}
			}
		}
	}
}

// maskUnsetQ8KBsums: for an all-zero block ggml sets d and qs but leaves bsums as they
// were (the vectors show the 0xaa fill); we write the correct sums, zero. Compare
// those 32 bytes only where ggml wrote them.
func maskUnsetQ8KBsums(got, want []byte) {
	for b := 0; b+292 <= len(got); b += 292 {
		if binary.LittleEndian.Uint32(want[b:]) == 0 {
			copy(got[b+260:b+292], want[b+260:b+292])
		}
	}
}
