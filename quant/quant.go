// Package quant converts a model to another weight type or llama.cpp mix (Q4_K_M and
// friends) the way llama-quantize does, with or without an importance matrix: the
// same per-tensor type rules, the same fallbacks, the same tensor order, the same
// metadata and (through package tensor) the same bytes. `inferno quantize` and
// `inferno gen` use it.
package quant

import (
	"fmt"
	"sort"
	"strings"

	"github.com/inferno-go/inferno/tensor"
)

// FType is a llama.cpp file type (general.file_type, LLAMA_FTYPE_*).
type FType struct {
	Name string
	ID   uint32
	Base tensor.DType
}

// FTypes are the mixes llama-quantize accepts, in id order: a file of one type for
// every codec with a tensor.Codec.FileType, and the mixes, whose rules are in
// tensorType. A mix whose tensors need a type without a codec is listed (its rules
// are known) but Quantize refuses it, naming the type.
var FTypes = fileTypes()

// mixes are llama.cpp's file types whose default tensor type is not the type of their
// name, or whose name is no type, or whose type's codec may be missing.
var mixes = []FType{
	{"Q2_K", 10, tensor.Q2_K},
	{"Q3_K_S", 11, tensor.Q3_K}, {"Q3_K_M", 12, tensor.Q3_K}, {"Q3_K_L", 13, tensor.Q3_K},
	{"Q4_K_S", 14, tensor.Q4_K}, {"Q4_K_M", 15, tensor.Q4_K}, {"Q5_K_S", 16, tensor.Q5_K},
	{"Q5_K_M", 17, tensor.Q5_K},
	{"IQ2_XXS", 19, tensor.IQ2_XXS}, {"IQ2_XS", 20, tensor.IQ2_XS}, {"Q2_K_S", 21, tensor.Q2_K},
	{"IQ3_XS", 22, tensor.IQ3_S}, {"IQ3_XXS", 23, tensor.IQ3_XXS}, {"IQ1_S", 24, tensor.IQ1_S},
	{"IQ3_S", 26, tensor.IQ3_S}, {"IQ3_M", 27, tensor.IQ3_S}, {"IQ2_S", 28, tensor.IQ2_XS},
	{"IQ2_M", 29, tensor.IQ2_S}, {"IQ1_M", 31, tensor.IQ1_M},
	{"TQ1_0", 36, tensor.TQ1_0}, {"TQ2_0", 37, tensor.TQ2_0},
}

func fileTypes() []FType {
	fts := append([]FType(nil), mixes...)
	have := map[uint32]bool{}
	for _, f := range fts {
		have[f.ID] = true
	}
	for _, t := range tensor.Codecs() {
		if c, _ := tensor.CodecOf(t); c.FileType >= 0 && !have[uint32(c.FileType)] {
			fts = append(fts, FType{t.String(), uint32(c.FileType), t})
		}
	}
	sort.Slice(fts, func(i, j int) bool { return fts[i].ID < fts[j].ID })
	return fts
}

// RequiresImatrix: llama-quantize refuses these file types without an importance matrix.
func (f FType) RequiresImatrix() bool {
	switch f.Name {
	case "IQ2_XS", "IQ2_XXS", "IQ2_S", "Q2_K_S", "IQ1_S", "IQ1_M":
		return true
	}
	return false
}

// errNeedsImatrix is llama-quantize's refusal (quantize.cpp), in one line.
func errNeedsImatrix(f FType) error {
	return fmt.Errorf("%s needs an importance matrix (--imatrix FILE): llama-quantize says \"Please do not use IQ1_S, IQ1_M, IQ2_S, IQ2_XXS, IQ2_XS or Q2_K_S quantization without an importance matrix\"", f.Name)
}

// needsImatrix reports whether llama-quantize refuses to write tensor name as type t
// without importance weights for it ("Missing importance matrix for tensor ... in a
// very low-bit quantization", llama-quant.cpp).
func needsImatrix(t tensor.DType, name string, f FType) bool {
	switch t {
	case tensor.IQ2_XXS, tensor.IQ2_XS, tensor.IQ2_S, tensor.IQ1_S:
		return true
	case tensor.IQ1_M:
		return name != "token_embd.weight" && name != "output.weight"
	case tensor.Q2_K:
		return f.Name == "Q2_K_S" && name != "token_embd.weight"
	}
	return false
}

// ParseFType finds a mix by name (case-insensitive).
func ParseFType(name string) (FType, error) {
	for _, f := range FTypes {
		if strings.EqualFold(f.Name, name) {
			return f, nil
		}
	}
	var names []string
	for _, f := range FTypes {
		names = append(names, f.Name)
	}
	return FType{}, fmt.Errorf("unknown quantization type %q (supported: %s)", name, strings.Join(names, ", "))
}

// Tensor is what the type rules look at.
type Tensor struct {
	Name string
	Dims []uint64
}

// Model is what the rules need to know about the model.
type Model struct {
	NLayer  int
	NHead   int
	NKVHead int
}

// layerOf is the block number of a tensor name, -1 for non-block tensors.
func layerOf(name string) int {
	var l int
	if _, err := fmt.Sscanf(name, "blk.%d.", &l); err == nil {
		return l
	}
	return -1
}

// Order sorts tensor names as llama.cpp's loader does (weight_name_comparer): tensors
// outside blocks first, then by block number, by name within each.
func Order(names []string) {
	sort.SliceStable(names, func(i, j int) bool {
		a, b := layerOf(names[i]), layerOf(names[j])
		if a != b {
			return a < b
		}
		return names[i] < names[j]
	})
}

// ShouldQuantize reports whether llama-quantize converts this tensor at all (2-D
// weights that are not norms).
func ShouldQuantize(t Tensor) bool {
	return strings.HasSuffix(t.Name, "weight") && len(t.Dims) >= 2 && !strings.Contains(t.Name, "_norm.weight") &&
		!strings.Contains(t.Name, "ffn_gate_inp.weight") && t.Name != "position_embd.weight" && t.Name != "token_types.weight"
}

// Types returns the type of every tensor for ftype without an importance matrix.
// tensors must be in Order.
func Types(tensors []Tensor, ft FType, m Model, original map[string]tensor.DType) (map[string]tensor.DType, error) {
	return TypesImatrix(tensors, ft, m, original, nil)
}

// TypesImatrix returns the type of every tensor for ftype as llama-quantize chooses it
// given the importance matrix im (nil: none; some mixes choose differently with one),
// and refuses what llama-quantize refuses: a mix that needs an imatrix without one, a
// very low-bit tensor without weights, an entry whose length does not match its tensor.
// tensors must be in Order.
func TypesImatrix(tensors []Tensor, ft FType, m Model, original map[string]tensor.DType, im *Imatrix) (map[string]tensor.DType, error) {
	hasImatrix := im != nil && len(im.Weights) > 0
	if ft.RequiresImatrix() && !hasImatrix {
		return nil, errNeedsImatrix(ft)
	}
	out := map[string]tensor.DType{}
	hasOutput := false
	nAttnV := 0
	for _, t := range tensors {
		if t.Name == "output.weight" {
			hasOutput = true
		}
		if strings.Contains(t.Name, "attn_v.weight") || strings.Contains(t.Name, "attn_qkv.weight") || strings.Contains(t.Name, "attn_kv_b.weight") {
			nAttnV++
		}
	}
	st := &state{m: m, ft: ft, hasImatrix: hasImatrix, hasOutput: hasOutput, nAttnV: nAttnV,
		nFFNDown: m.NLayer, nFFNGate: m.NLayer, nFFNUp: m.NLayer}
	for _, t := range tensors {
		if !ShouldQuantize(t) {
			out[t.Name] = original[t.Name]
			continue
		}
		nt := ft.Base
		if nt.Quantized() {
			var err error
			if nt, err = st.tensorType(nt, t); err != nil {
				return nil, err
			}
		} else if int(t.Dims[0])%nt.BlockSize() != 0 {
			return nil, fmt.Errorf("tensor %s: row length %d is not a multiple of %s's block size", t.Name, t.Dims[0], nt)
		}
		out[t.Name] = nt
		if nt == original[t.Name] {
			continue // copied as it is: no quantizer runs, no weights are needed
		}
		w, err := im.weightsFor(t)
		if err != nil {
			return nil, err
		}
		if w == nil && needsImatrix(nt, t.Name, ft) {
			return nil, fmt.Errorf("tensor %s: %s needs importance weights and the imatrix has none for it (llama-quantize: \"Missing importance matrix for tensor %s in a very low-bit quantization\")", t.Name, nt, t.Name)
		}
	}
	return out, nil
}

type state struct {
	m                  Model
	ft                 FType
	hasImatrix         bool
	hasOutput          bool
	nAttnV, iAttnV     int
	nFFNDown, iFFNDown int
	nFFNGate, iFFNGate int
	nFFNUp, iFFNUp     int
}

func useMoreBits(i, n int) bool { return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }

// lowBitFallbacks are llama_tensor_get_type's fallbacks for types whose codec (which
// owns its tensor.Codec.Fallback once registered) this build may lack.
var lowBitFallbacks = map[tensor.DType]tensor.DType{
	tensor.TQ1_0: tensor.Q4_0, tensor.TQ2_0: tensor.Q4_0,
	tensor.IQ2_XXS: tensor.IQ4_NL, tensor.IQ2_XS: tensor.IQ4_NL, tensor.IQ2_S: tensor.IQ4_NL, tensor.IQ3_XXS: tensor.IQ4_NL,
	tensor.IQ3_S: tensor.IQ4_NL, tensor.IQ1_S: tensor.IQ4_NL, tensor.IQ1_M: tensor.IQ4_NL,
}

func fallbackOf(t tensor.DType) tensor.DType {
	if c, ok := tensor.CodecOf(t); ok {
		return c.Fallback
	}
	return lowBitFallbacks[t]
}

// tensorType is llama_tensor_get_type for the llama architecture (dense, not Falcon).
func (s *state) tensorType(nt tensor.DType, t Tensor) (tensor.DType, error) {
	name, ft := t.Name, s.ft.Name
	gqa := 1
	if s.m.NKVHead > 0 {
		gqa = s.m.NHead / s.m.NKVHead
	}
	is := func(names ...string) bool {
		for _, n := range names {
			if ft == n {
				return true
			}
		}
		return false
	}
	switch {
	case name == "output.weight" || (!s.hasOutput && name == "token_embd.weight"):
		switch {
		case int(t.Dims[0])%nt.BlockSize() != 0:
			nt = tensor.Q8_0
		case is("IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"):
			nt = tensor.Q5_K
		case nt != tensor.Q8_0:
			nt = tensor.Q6_K
		}
	case name == "token_embd.weight":
		switch {
		case is("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
			nt = tensor.Q2_K
		case is("IQ2_S", "IQ2_M", "IQ3_XXS"):
			nt = tensor.IQ3_S
		case is("TQ1_0", "TQ2_0"):
			nt = tensor.Q4_K
		}
	case is("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"):
		iq3s := is("IQ2_S", "IQ2_M")
		switch {
		case strings.Contains(name, "attn_v.weight"):
			switch {
			case gqa >= 4:
				nt = tensor.Q4_K
			case iq3s:
				nt = tensor.IQ3_S
			default:
				nt = tensor.Q2_K
			}
			s.iAttnV++
		case strings.Contains(name, "ffn_down"):
			if s.iFFNDown < s.nFFNDown/8 {
				nt = tensor.Q2_K
				if iq3s {
					nt = tensor.IQ3_S
				}
			}
			s.iFFNDown++
		case strings.Contains(name, "attn_output.weight"):
			if is("IQ1_S", "IQ1_M") {
				nt = tensor.IQ2_XXS
			} else if iq3s {
				nt = tensor.IQ3_S
			}
		}
	case strings.Contains(name, "attn_v.weight"):
		switch {
		case ft == "Q2_K":
			nt = tensor.Q3_K
			if gqa >= 4 {
				nt = tensor.Q4_K
			}
		case ft == "Q2_K_S" && gqa >= 4:
			nt = tensor.Q4_K
		case ft == "IQ3_XXS":
			switch {
			case gqa >= 4:
				nt = tensor.Q4_K
			case !s.hasImatrix:
				nt = tensor.IQ3_S
			default:
				nt = tensor.IQ3_XXS
			}
		case is("IQ3_XS", "IQ3_S") && gqa >= 4:
			nt = tensor.Q4_K
		case ft == "IQ3_M":
			nt = tensor.Q4_K
		case ft == "Q3_K_M":
			if s.iAttnV < 2 {
				nt = tensor.Q5_K
			} else {
				nt = tensor.Q4_K
			}
		case ft == "Q3_K_L":
			nt = tensor.Q5_K
		case is("IQ4_NL", "IQ4_XS") && gqa >= 4:
			nt = tensor.Q5_K
		case is("Q4_K_M", "Q5_K_M") && useMoreBits(s.iAttnV, s.nAttnV):
			nt = tensor.Q6_K
		case ft == "Q4_K_S" && s.iAttnV < 4:
			nt = tensor.Q5_K
		}
		s.iAttnV++
	case strings.Contains(name, "attn_k.weight"), strings.Contains(name, "attn_q.weight"):
		switch ft {
		case "IQ3_XS":
			nt = tensor.IQ3_XXS
		case "IQ3_XXS":
			nt = tensor.IQ2_S
		}
	case strings.Contains(name, "ffn_down"):
		i, n := s.iFFNDown, s.nFFNDown
		switch {
		case ft == "Q2_K":
			nt = tensor.Q3_K
		case ft == "Q2_K_S":
			if i < n/8 {
				nt = tensor.Q4_K
			}
		case ft == "IQ3_XXS" && !s.hasImatrix:
			if i < n/8 {
				nt = tensor.Q4_K
			} else {
				nt = tensor.Q3_K
			}
		case ft == "Q3_K_M":
			if i < n/16 {
				nt = tensor.Q5_K
			} else {
				nt = tensor.Q4_K
			}
		case ft == "IQ3_M" && i < n/8:
			nt = tensor.Q4_K
		case ft == "Q3_K_L":
			nt = tensor.Q5_K
		case ft == "Q4_K_M":
			if useMoreBits(i, n) {
				nt = tensor.Q6_K
			}
		case i < n/8 && is("IQ4_NL", "IQ4_XS") && !s.hasImatrix:
			nt = tensor.Q5_K
		case ft == "Q5_K_M" && useMoreBits(i, n):
			nt = tensor.Q6_K
		case ft == "Q4_K_S" && i < n/8:
			nt = tensor.Q5_K
		case is("Q4_0", "Q5_0") && s.hasImatrix && i < n/8:
			// llama.cpp guards the first ffn_down layers, with an imatrix only
			nt = tensor.Q4_1
			if ft == "Q5_0" {
				nt = tensor.Q5_1
			}
		}
		s.iFFNDown++
	case strings.Contains(name, "attn_output.weight"):
		switch ft {
		case "Q2_K":
			nt = tensor.Q3_K
		case "IQ3_XXS":
			nt = tensor.IQ3_S
		case "Q3_K_M", "IQ3_M":
			nt = tensor.Q4_K
		case "Q3_K_L":
			nt = tensor.Q5_K
		}
	case strings.Contains(name, "attn_qkv.weight"):
		switch ft {
		case "Q3_K_M", "Q3_K_L", "IQ3_M":
			nt = tensor.Q4_K
		case "Q4_K_M":
			nt = tensor.Q5_K
		case "Q5_K_M":
			nt = tensor.Q6_K
		}
	case strings.Contains(name, "ffn_gate"):
		if i, n := s.iFFNGate, s.nFFNGate; ft == "IQ3_XS" && i >= n/8 && i < 7*n/8 {
			nt = tensor.IQ3_XXS
		}
		s.iFFNGate++
	case strings.Contains(name, "ffn_up"):
		if i, n := s.iFFNUp, s.nFFNUp; ft == "IQ3_XS" && i >= n/8 && i < 7*n/8 {
			nt = tensor.IQ3_XXS
		}
		s.iFFNUp++
	}
	// rows whose length the block size does not divide fall back
	if int(t.Dims[0])%nt.BlockSize() != 0 {
		fb := fallbackOf(nt)
		if fb == 0 {
			return 0, fmt.Errorf("tensor %s: row length %d is not a multiple of %s's block size %d, and %s has no fallback type (llama-quantize refuses this too)",
				t.Name, t.Dims[0], nt, nt.BlockSize(), nt)
		}
		nt = fb
		if int(t.Dims[0])%nt.BlockSize() != 0 {
			nt = tensor.F16
		}
	}
	return nt, nil
}
