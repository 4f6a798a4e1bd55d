// Package tensor defines ggml's data types and their block codecs: dequantization,
// llama.cpp's quantizers (with importance weights for the types that take them), and
// reference dot products.
//
// Everything here is plain, scalar Go written to be bit-exact with llama.cpp
// (commit c392e50). It is the oracle the fast kernels in package cpu and the Metal
// kernels are tested against, so clarity wins over speed.
package tensor

import "fmt"

// DType is a ggml tensor type, numbered exactly as enum ggml_type.
type DType uint32

// ggml type ids. Gaps (4, 5, 31-33, 36-38) are ids ggml has retired.
const (
	F32     DType = 0
	F16     DType = 1
	Q4_0    DType = 2
	Q4_1    DType = 3
	Q5_0    DType = 6
	Q5_1    DType = 7
	Q8_0    DType = 8
	Q8_1    DType = 9
	Q2_K    DType = 10
	Q3_K    DType = 11
	Q4_K    DType = 12
	Q5_K    DType = 13
	Q6_K    DType = 14
	Q8_K    DType = 15
	IQ2_XXS DType = 16
	IQ2_XS  DType = 17
	IQ3_XXS DType = 18
	IQ1_S   DType = 19
	IQ4_NL  DType = 20
	IQ3_S   DType = 21
	IQ2_S   DType = 22
	IQ4_XS  DType = 23
	I8      DType = 24
	I16     DType = 25
	I32     DType = 26
	I64     DType = 27
	F64     DType = 28
	IQ1_M   DType = 29
	BF16    DType = 30
	TQ1_0   DType = 34
	TQ2_0   DType = 35
)

// QK_K is the super-block size of the K-quants and the IQ types.
const QK_K = 256

type traits struct {
	name      string
	blockSize int // elements per block
	typeSize  int // bytes per block
	quantized bool
}

var typeTraits = map[DType]traits{
	F32:     {"F32", 1, 4, false},
	F16:     {"F16", 1, 2, false},
	Q4_0:    {"Q4_0", 32, 18, true},
	Q4_1:    {"Q4_1", 32, 20, true},
	Q5_0:    {"Q5_0", 32, 22, true},
	Q5_1:    {"Q5_1", 32, 24, true},
	Q8_0:    {"Q8_0", 32, 34, true},
	Q8_1:    {"Q8_1", 32, 36, true},
	Q2_K:    {"Q2_K", QK_K, 84, true},
	Q3_K:    {"Q3_K", QK_K, 110, true},
	Q4_K:    {"Q4_K", QK_K, 144, true},
	Q5_K:    {"Q5_K", QK_K, 176, true},
	Q6_K:    {"Q6_K", QK_K, 210, true},
	Q8_K:    {"Q8_K", QK_K, 292, true},
	IQ2_XXS: {"IQ2_XXS", QK_K, 66, true},
	IQ2_XS:  {"IQ2_XS", QK_K, 74, true},
	IQ3_XXS: {"IQ3_XXS", QK_K, 98, true},
	IQ1_S:   {"IQ1_S", QK_K, 50, true},
	IQ4_NL:  {"IQ4_NL", 32, 18, true},
	IQ3_S:   {"IQ3_S", QK_K, 110, true},
	IQ2_S:   {"IQ2_S", QK_K, 82, true},
	IQ4_XS:  {"IQ4_XS", QK_K, 136, true},
	I8:      {"I8", 1, 1, false},
	I16:     {"I16", 1, 2, false},
	I32:     {"I32", 1, 4, false},
	I64:     {"I64", 1, 8, false},
	F64:     {"F64", 1, 8, false},
	IQ1_M:   {"IQ1_M", QK_K, 56, true},
	BF16:    {"BF16", 1, 2, false},
	TQ1_0:   {"TQ1_0", QK_K, 54, true},
	TQ2_0:   {"TQ2_0", QK_K, 66, true},
}

// Valid reports whether t is a type id ggml currently defines.
func (t DType) Valid() bool { _, ok := typeTraits[t]; return ok }

// String returns ggml's upper-case name of the type ("Q4_K"), or "type(N)" for an unknown id.
func (t DType) String() string {
	if tr, ok := typeTraits[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of elements one block encodes (1 for plain types).
func (t DType) BlockSize() int { return typeTraits[t].blockSize }

// TypeSize is the number of bytes of one block.
func (t DType) TypeSize() int { return typeTraits[t].typeSize }

// Quantized reports whether t is a block-quantized type.
func (t DType) Quantized() bool { return typeTraits[t].quantized }

// RowSize is the number of bytes of n elements of type t; n must be a multiple of the block size.
func (t DType) RowSize(n int) (int, error) {
	tr, ok := typeTraits[t]
	if !ok {
		return 0, fmt.Errorf("unknown ggml type %d", uint32(t))
	}
	if n%tr.blockSize != 0 {
		return 0, fmt.Errorf("%s: %d elements is not a multiple of the block size %d", tr.name, n, tr.blockSize)
	}
	return n / tr.blockSize * tr.typeSize, nil
}

// BitsPerWeight is 8 * bytes per block / elements per block.
func (t DType) BitsPerWeight() float64 {
	tr := typeTraits[t]
	if tr.blockSize == 0 {
		return 0
	}
	return float64(8*tr.typeSize) / float64(tr.blockSize)
}

// AllTypes lists every defined type in id order.
func AllTypes() []DType {
	var ts []DType
	for id := DType(0); id < 64; id++ {
		if id.Valid() {
			ts = append(ts, id)
		}
	}
	return ts
}

// ParseDType maps a type name (case-insensitive, "q4_k" or "Q4_K") to its DType.
func ParseDType(name string) (DType, error) {
	for t, tr := range typeTraits {
		if equalFold(tr.name, name) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown ggml type name %q", name)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'a' <= ca && ca <= 'z' {
			ca -= 32
		}
		if 'a' <= cb && cb <= 'z' {
			cb -= 32
		}
		if ca != cb {
			return false
		}
	}
	return true
}
