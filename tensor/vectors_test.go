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

// TestVectorsQuantizeImatrix: the bytes of ggml_quantize_chunk given an importance
// matrix (the `<type>_imatrix.json` files), bit for bit, for every type whose codec
// has a QuantizeWeighted; and nil weights give the imatrix-less bytes.
func TestVectorsQuantizeImatrix(t *testing.T) {
	dir := refdata.Path(t, "quant")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[DType]string{}
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), "_imatrix.json")
		if !ok {
			continue
		}
		dt, err := ParseDType(base)
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		files[dt] = base + "_imatrix"
	}
	checked := 0
	for _, dt := range Codecs() {
		c, _ := CodecOf(dt)
		name, ok := files[dt]
		switch {
		case c.QuantizeWeighted == nil && ok:
			t.Errorf("%s: llama.cpp's quantizer uses importance weights (%s.json) but the codec has no QuantizeWeighted", dt, name)
			continue
		case c.QuantizeWeighted == nil:
			continue
		case !ok && c.RequiresImatrix:
			continue // its <type>.json was made with importance weights: TestVectors checks it
		case !ok:
			t.Errorf("%s has a QuantizeWeighted but no vectors %s/<type>_imatrix.json", dt, dir)
			continue
		}
		v := loadVec(t, name)
		plain := loadVec(t, strings.TrimSuffix(name, "_imatrix"))
		if DType(v.GGMLType) != dt || v.Imatrix == "" || len(plain.Cases) != len(v.Cases) {
			t.Fatalf("%s: not an imatrix vector file of %s", name, dt)
		}
		qw := f32s(t, v.Imatrix)
		for k, c := range v.Cases {
			x := f32s(t, c.Input)
			want := b64(t, c.QuantBytes)
			got := make([]byte, len(want))
			if err := QuantizeWeighted(dt, x, got, v.NPerRow, qw); err != nil {
				t.Fatalf("%s: %v", dt, err)
			}
			if !bytes.Equal(got, want) {
				i := firstDiff(got, want)
				t.Errorf("%s/%s with imatrix: quantized bytes differ first at byte %d (block %d): got %#x want %#x",
					dt, c.Kind, i, i/dt.TypeSize(), got[i], want[i])
			}
			checked++
			want = b64(t, plain.Cases[k].QuantBytes)
			if err := QuantizeWeighted(dt, x, got, v.NPerRow, nil); err != nil {
				t.Fatalf("%s: %v", dt, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s/%s without imatrix: QuantizeWeighted(nil) bytes differ from Quantize's at %d", dt, c.Kind, firstDiff(got, want))
			}
		}
		// shapes are checked, not trusted
		x := f32s(t, v.Cases[0].Input)
		buf := make([]byte, len(b64(t, v.Cases[0].QuantBytes)))
		for _, bad := range []struct {
			n  int
			qw []float32
		}{{v.NPerRow, qw[:v.NPerRow-1]}, {v.NPerRow - dt.BlockSize(), qw}, {0, qw}, {3 * v.NPerRow / 2, qw}} {
			if err := QuantizeWeighted(dt, x, buf, bad.n, bad.qw); err == nil {
				t.Errorf("%s: rows of %d with %d weights accepted", dt, bad.n, len(bad.qw))
			}
		}
		if err := QuantizeWeighted(dt, x, buf[:len(buf)-1], v.NPerRow, qw); err == nil {
			t.Errorf("%s: short destination accepted", dt)
		}
	}
	for dt, name := range files {
		if _, ok := CodecOf(dt); !ok {
			t.Logf("%s.json: no codec for %s yet", name, dt)
		}
	}
	if checked == 0 {
		t.Error("no imatrix vectors checked")
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
