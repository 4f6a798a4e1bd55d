package quant

import (
	"testing"

	"github.com/inferno-go/inferno/tensor"
)

// llamaFTypes is llama.h's enum llama_ftype (LLAMA_FTYPE_MOSTLY_*), by name.
var llamaFTypes = map[string]uint32{
	"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10,
	"Q3_K_S": 11, "Q3_K_M": 12, "Q3_K_L": 13, "Q4_K_S": 14, "Q4_K_M": 15, "Q5_K_S": 16,
	"Q5_K_M": 17, "Q6_K": 18, "IQ2_XXS": 19, "IQ2_XS": 20, "Q2_K_S": 21, "IQ3_XS": 22,
	"IQ3_XXS": 23, "IQ1_S": 24, "IQ4_NL": 25, "IQ3_S": 26, "IQ3_M": 27, "IQ2_S": 28,
	"IQ2_M": 29, "IQ4_XS": 30, "IQ1_M": 31, "BF16": 32, "TQ1_0": 36, "TQ2_0": 37,
}

// llamaFallbacks is what llama_tensor_get_type writes when a row's length is not a
// multiple of the type's block size (llama-quant.cpp), for the types it has one for.
var llamaFallbacks = map[string]string{
	"IQ2_XXS": "IQ4_NL", "IQ2_XS": "IQ4_NL", "IQ3_XXS": "IQ4_NL", "IQ1_S": "IQ4_NL", "IQ3_S": "IQ4_NL",
	"IQ2_S": "IQ4_NL", "IQ1_M": "IQ4_NL", "Q2_K": "IQ4_NL", "Q3_K": "IQ4_NL", "IQ4_XS": "IQ4_NL",
	"Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0", "TQ1_0": "Q4_0", "TQ2_0": "Q4_0",
}

// TestFTypes: the file types (from the codecs' FileType and the K mixes) carry
// llama.cpp's ids, in id order, and every codec's fallback is llama-quantize's.
func TestFTypes(t *testing.T) {
	for i, ft := range FTypes {
		if id, ok := llamaFTypes[ft.Name]; !ok || id != ft.ID {
			t.Errorf("file type %s has id %d, llama.cpp %d (known: %v)", ft.Name, ft.ID, id, ok)
		}
		if i > 0 && FTypes[i-1].ID >= ft.ID {
			t.Errorf("file types out of id order at %s", ft.Name)
		}
		if !ft.Base.Valid() {
			t.Errorf("file type %s: base type %s", ft.Name, ft.Base)
		}
	}
	for _, dt := range tensor.Codecs() {
		c, _ := tensor.CodecOf(dt)
		want := llamaFallbacks[dt.String()]
		if got := c.Fallback; (want == "") != (got == 0) || want != "" && got.String() != want {
			t.Errorf("%s: fallback %s, llama-quantize %q", dt, got, want)
		}
		f, err := ParseFType(dt.String())
		switch {
		case c.FileType >= 0 && (err != nil || f.ID != uint32(c.FileType)):
			t.Errorf("%s: file type %d, ParseFType: %v %v", dt, c.FileType, f, err)
		case c.FileType < 0 && err == nil && !isMix(dt.String()):
			t.Errorf("%s: no file type, but ParseFType accepts it", dt)
		}
	}
	// the fallbacks of types whose codec is not registered are llama-quantize's too
	for dt, fb := range lowBitFallbacks {
		if want := llamaFallbacks[dt.String()]; fb.String() != want {
			t.Errorf("%s: fallback %s, llama-quantize %q", dt, fb, want)
		}
	}
}

func isMix(name string) bool {
	for _, m := range mixes {
		if m.Name == name {
			return true
		}
	}
	return false
}
