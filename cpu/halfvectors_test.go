package cpu

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/tensor"
)

// TestHalfDotsLikeLlamaCpp: on llama.cpp's F16 and BF16 vectors (../shared/refdata/quant,
// made by an AVX-512 build on a CPU with AVX512-BF16), every kernel set's row dot takes
// the activations the backend makes (quantizeAct, bit-exact with ggml's from_float) and
// gives ggml_vec_dot_f16/bf16's result: the same bits from the avx512vnni set (whose
// kernels keep ggml's AVX-512 order; BF16 only with AVX512-BF16 here too), within 4e-6
// relative (float32 summation order) from the others.
func TestHalfDotsLikeLlamaCpp(t *testing.T) {
	for _, c := range []struct {
		file string
		dt   tensor.DType
	}{{"f16", tensor.F16}, {"bf16", tensor.BF16}} {
		raw, err := os.ReadFile(refdata.Path(t, "quant", c.file+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			NRows    int             `json:"n_rows"`
			NPerRow  int             `json:"n_per_row"`
			Features map[string]int  `json:"cpu_features"`
			Cases    []halfDotVector `json:"cases"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s.json: %v", c.file, err)
		}
		if v.Features["avx512"] != 1 || v.Features["avx512_bf16"] != 1 {
			t.Fatalf("%s.json: made on a CPU with %v; this test expects AVX-512 with BF16", c.file, v.Features)
		}
		n := v.NPerRow
		for _, set := range KernelSets() {
			b := newBackendSet(1, set)
			exact := set == SetAVX512VNNI && (c.dt == tensor.F16 || hasAVX512BF16)
			var worst float64
			for _, k := range v.Cases {
				w, act, wantAct, want := k.decode(t)
				gotAct := make([]byte, 2*n)
				b.quantizeAct(c.dt, act, gotAct)
				if string(gotAct) != string(wantAct) {
					t.Fatalf("%s %s/%s: activation bytes differ from ggml's from_float", set, c.dt, k.Kind)
				}
				for r := 0; r < v.NRows; r++ {
					got := b.dotFor(c.dt)(n, w[r*2*n:(r+1)*2*n], gotAct)
					d := math.Abs(float64(got) - float64(want[r]))
					worst = max(worst, d/math.Max(1, math.Abs(float64(want[r]))))
					if exact && math.Float32bits(got) != math.Float32bits(want[r]) {
						t.Errorf("%s %s/%s row %d: %v (%#x), llama.cpp %v (%#x): not the same bits", set, c.dt, k.Kind, r, got, math.Float32bits(got), want[r], math.Float32bits(want[r]))
					} else if d > 4e-6*math.Max(1, math.Abs(float64(want[r]))) {
						t.Errorf("%s %s/%s row %d: %v, llama.cpp %v", set, c.dt, k.Kind, r, got, want[r])
					}
				}
			}
			t.Logf("%s %s: largest difference from llama.cpp %.3g relative (bit-exact required: %v)", set, c.dt, worst, exact)
		}
	}
}

// halfDotVector is one case of a vector file: the weight rows, the activation as float32
// and as ggml converted it, and ggml's dot of each row with it.
type halfDotVector struct {
	Kind       string `json:"kind"`
	QuantBytes string `json:"quant_bytes"`
	Act        string `json:"act_f32"`
	ActQuant   string `json:"act_quant_bytes"`
	VecDot     string `json:"vec_dot"`
}

func (k *halfDotVector) decode(t *testing.T) (w []byte, act []float32, actQuant []byte, dot []float32) {
	t.Helper()
	var bs [4][]byte
	for i, s := range []string{k.QuantBytes, k.Act, k.ActQuant, k.VecDot} {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("%s: base64: %v", k.Kind, err)
		}
		bs[i] = b
	}
	f32 := func(b []byte) []float32 {
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out
	}
	return bs[0], f32(bs[1]), bs[2], f32(bs[3])
}
