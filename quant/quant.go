// Package quant converts a model to another weight type or llama.cpp mix (Q4_K_M and
// friends) the way llama-quantize does without an importance matrix: the same
// per-tensor type rules, the same fallbacks, the same tensor order, and (through
// package tensor) the same bytes. `inferno quantize` and `inferno gen` use it.
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

// FTypes are the mixes llama-quantize accepts without an importance matrix that our
// quantizers cover, in id order: a file of one type for every codec with a
// tensor.Codec.FileType, and the K-quant mixes, whose rules are in tensorType.
var FTypes = fileTypes()

func fileTypes() []FType {
	fts := []FType{
		{"Q3_K_S", 11, tensor.Q3_K}, {"Q3_K_M", 12, tensor.Q3_K}, {"Q3_K_L", 13, tensor.Q3_K},
		{"Q4_K_S", 14, tensor.Q4_K}, {"Q4_K_M", 15, tensor.Q4_K}, {"Q5_K_S", 16, tensor.Q5_K},
		{"Q5_K_M", 17, tensor.Q5_K},
	}
	for _, t := range tensor.Codecs() {
		if c, _ := tensor.CodecOf(t); c.FileType >= 0 {
			fts = append(fts, FType{t.String(), uint32(c.FileType), t})
		}
	}
	sort.Slice(fts, func(i, j int) bool { return fts[i].ID < fts[j].ID })
	return fts
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

// Types returns the type of every tensor for ftype. tensors must be in Order.
func Types(tensors []Tensor, ft FType, m Model, original map[string]tensor.DType) (map[string]tensor.DType, error) {
	out := map[string]tensor.DType{}
	hasOutput := false
	nAttnV := 0
	for _, t := range tensors {
		if t.Name == "output.weight" {
			hasOutput = true
		}
		if strings.Contains(t.Name, "attn_v.weight") {
			nAttnV++
		}
	}
	st := &state{m: m, ft: ft, hasOutput: hasOutput, nAttnV: nAttnV, nFFNDown: m.NLayer}
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
	}
	return out, nil
}

type state struct {
	m                  Model
	ft                 FType
	hasOutput          bool
	nAttnV, iAttnV     int
	nFFNDown, iFFNDown int
}

func useMoreBits(i, n int) bool { return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }

// tensorType is llama_tensor_get_type for the llama architecture without an imatrix.
func (s *state) tensorType(nt tensor.DType, t Tensor) (tensor.DType, error) {
	name, ft := t.Name, s.ft.Name
	gqa := 1
	if s.m.NKVHead > 0 {
		gqa = s.m.NHead / s.m.NKVHead
	}
	switch {
	case name == "output.weight" || (!s.hasOutput && name == "token_embd.weight"):
		if int(t.Dims[0])%nt.BlockSize() != 0 {
			nt = tensor.Q8_0
		} else if nt != tensor.Q8_0 {
			nt = tensor.Q6_K
		}
	case name == "token_embd.weight":
	case strings.Contains(name, "attn_v.weight"):
		switch {
		case ft == "Q2_K":
			nt = tensor.Q3_K
			if gqa >= 4 {
				nt = tensor.Q4_K
			}
		case ft == "Q3_K_M":
			if s.iAttnV < 2 {
				nt = tensor.Q5_K
			} else {
				nt = tensor.Q4_K
			}
		case ft == "Q3_K_L":
			nt = tensor.Q5_K
		case (ft == "IQ4_NL" || ft == "IQ4_XS") && gqa >= 4:
			nt = tensor.Q5_K
		case (ft == "Q4_K_M" || ft == "Q5_K_M") && useMoreBits(s.iAttnV, s.nAttnV):
			nt = tensor.Q6_K
		case ft == "Q4_K_S" && s.iAttnV < 4:
			nt = tensor.Q5_K
		}
		s.iAttnV++
	case strings.Contains(name, "ffn_down"):
		i, n := s.iFFNDown, s.nFFNDown
		switch {
		case ft == "Q2_K":
			nt = tensor.Q3_K
		case ft == "Q3_K_M":
			if i < n/16 {
				nt = tensor.Q5_K
			} else {
				nt = tensor.Q4_K
			}
		case ft == "Q3_K_L":
			nt = tensor.Q5_K
		case ft == "Q4_K_M":
			if useMoreBits(i, n) {
				nt = tensor.Q6_K
			}
		case i < n/8 && (ft == "IQ4_NL" || ft == "IQ4_XS"):
			nt = tensor.Q5_K
		case ft == "Q5_K_M" && useMoreBits(i, n):
			nt = tensor.Q6_K
		case ft == "Q4_K_S" && i < n/8:
			nt = tensor.Q5_K
		}
		s.iFFNDown++
	case strings.Contains(name, "attn_output.weight"):
		switch ft {
		case "Q2_K":
			nt = tensor.Q3_K
		case "Q3_K_M":
			nt = tensor.Q4_K
		case "Q3_K_L":
			nt = tensor.Q5_K
		}
	}
	// rows whose length the block size does not divide fall back
	if int(t.Dims[0])%nt.BlockSize() != 0 {
		c, _ := tensor.CodecOf(nt)
		if c.Fallback == 0 {
			return 0, fmt.Errorf("tensor %s: row length %d is not a multiple of %s's block size %d, and %s has no fallback type (llama-quantize refuses this too)",
				t.Name, t.Dims[0], nt, nt.BlockSize(), nt)
		}
		nt = c.Fallback
		if int(t.Dims[0])%nt.BlockSize() != 0 {
			nt = tensor.F16
		}
	}
	return nt, nil
}
