package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// Codec is everything this package does with one type, registered (register) from the
// type's own file. Block size and bytes per block are ggml's, in dtype.go's table of
// every ggml type (the GGUF reader needs them for types without a codec too).
type Codec struct {
	Type DType

	Dequantize func(src []byte, dst []float32)
	// Quantize writes what ggml_quantize_chunk (llama-quantize) writes without an
	// importance matrix (Q8_1 and Q8_K, activation-only types: their reference quantizers);
	// nil exactly when RequiresImatrix.
	Quantize func(src []float32, dst []byte)
	// QuantizeWeighted is ggml_quantize_chunk with an importance matrix: src holds rows of
	// nPerRow values and weights[j] (nPerRow of them) weighs column j of every row; the
	// caller has checked the lengths (QuantizeWeighted). nil: the type takes no weights.
	QuantizeWeighted func(src []float32, dst []byte, nPerRow int, weights []float32)
	// RequiresImatrix: ggml_quantize_requires_imatrix, ggml refuses to quantize without.
	RequiresImatrix bool
	// QuantizeAct is llama.cpp's x86 CPU backend's run-time quantizer of activations of
	// this type (from_float) where it differs from Quantize; nil: Quantize.
	QuantizeAct func(src []float32, dst []byte)

	// Activation is the type llama.cpp's CPU backend quantizes activations to before a
	// matrix product with weights of this type (vec_dot_type), and Dot the reference
	// dot product of n weights w with n such activations a; nil Dot: not a weight type.
	Activation DType
	Dot        func(n int, w, a []byte) float32

	// KLevels, for super-block types, unpacks one block into its 256 signed integer
	// levels, the integer scale and min of each 16-element group (sub-blocks of 32 repeat
	// theirs; mins are 0 for symmetric types) and the float d and dmin:
	// value = d·sc·q − dmin·mn. For repacking into other layouts.
	KLevels func(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32)

	// FileType is llama.cpp's LLAMA_FTYPE id of a file quantized to this type (the
	// `inferno quantize NAME` of the type's own name); -1: llama-quantize has none.
	FileType int
	// Fallback is what llama-quantize writes instead when a row's length is not a
	// multiple of the block size (F16 when that does not divide it either); 0: none.
	Fallback DType
}

var codecs = map[DType]*Codec{}

// register adds c to the table; each codec file calls it from init.
func register(c Codec) {
	if !c.Type.Valid() || codecs[c.Type] != nil || c.Dequantize == nil || (c.Quantize == nil) != c.RequiresImatrix ||
		c.RequiresImatrix && c.QuantizeWeighted == nil || c.FileType == 0 && c.Type != F32 {
		panic(fmt.Sprintf("tensor: bad or duplicate codec for %s", c.Type))
	}
	codecs[c.Type] = &c
}

// CodecOf returns t's codec, and false when this package cannot encode t.
func CodecOf(t DType) (Codec, bool) {
	c, ok := codecs[t]
	if !ok {
		return Codec{}, false
	}
	return *c, true
}

// Codecs lists every type with a codec, in id order.
func Codecs() []DType {
	ts := make([]DType, 0, len(codecs))
	for t := range codecs {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts
}

// WeightTypes lists every type with a matrix product (a Dot), in id order.
func WeightTypes() []DType {
	var ts []DType
	for _, t := range Codecs() {
		if codecs[t].Dot != nil {
			ts = append(ts, t)
		}
	}
	return ts
}

// Dequantize decodes len(dst) elements of type t from src.
func Dequantize(t DType, src []byte, dst []float32) error {
	c, ok := codecs[t]
	if !ok {
		return fmt.Errorf("dequantize: type %s is not supported", t)
	}
	need, err := t.RowSize(len(dst))
	if err != nil {
		return fmt.Errorf("dequantize: %w", err)
	}
	if len(src) < need {
		return fmt.Errorf("dequantize: %s: %d elements need %d bytes, have %d", t, len(dst), need, len(src))
	}
	c.Dequantize(src[:need], dst)
	return nil
}

// Quantize encodes src as type t into dst, which must hold RowSize(len(src)) bytes.
// The bytes are those llama-quantize writes without an importance matrix.
func Quantize(t DType, src []float32, dst []byte) error {
	c, ok := codecs[t]
	if !ok {
		return fmt.Errorf("quantize: type %s is not supported", t)
	}
	need, err := t.RowSize(len(src))
	if err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	if len(dst) < need {
		return fmt.Errorf("quantize: %s: %d elements need %d bytes, have %d", t, len(src), need, len(dst))
	}
	if c.Quantize == nil {
		return fmt.Errorf("quantize: %s requires an importance matrix", t)
	}
	c.Quantize(src, dst[:need])
	return nil
}

// QuantizeWeighted encodes src, rows of nPerRow values, as type t into dst with the
// importance weights of one row (llama-quantize --imatrix); weights nil is Quantize.
// A type that takes no weights is refused.
func QuantizeWeighted(t DType, src []float32, dst []byte, nPerRow int, weights []float32) error {
	if weights == nil {
		return Quantize(t, src, dst)
	}
	c, ok := codecs[t]
	if !ok {
		return fmt.Errorf("quantize: type %s is not supported", t)
	}
	if c.QuantizeWeighted == nil {
		return fmt.Errorf("quantize: %s takes no importance weights", t)
	}
	if nPerRow <= 0 || len(src)%nPerRow != 0 {
		return fmt.Errorf("quantize: %s: %d values are not whole rows of %d", t, len(src), nPerRow)
	}
	if len(weights) != nPerRow {
		return fmt.Errorf("quantize: %s: %d importance weights for rows of %d", t, len(weights), nPerRow)
	}
	if _, err := t.RowSize(nPerRow); err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	need, _ := t.RowSize(len(src))
	if len(dst) < need {
		return fmt.Errorf("quantize: %s: %d elements need %d bytes, have %d", t, len(src), need, len(dst))
	}
	c.QuantizeWeighted(src, dst[:need], nPerRow, weights)
	return nil
}

func init() {
	register(Codec{Type: F32, Dequantize: DequantizeF32, Quantize: QuantizeF32, Activation: F32, Dot: dotF32, FileType: 0})
	register(Codec{Type: F16, Dequantize: DequantizeF16, Quantize: QuantizeF16, Activation: F16, Dot: dotF16, FileType: 1})
	register(Codec{Type: BF16, Dequantize: DequantizeBF16, Quantize: QuantizeBF16, Activation: BF16, Dot: dotBF16, FileType: 32})
}

// DequantizeF32 copies little-endian float32 values.
func DequantizeF32(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// QuantizeF32 writes little-endian float32 values.
func QuantizeF32(src []float32, dst []byte) {
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

// DequantizeF16 widens half-precision values.
func DequantizeF16(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = FP16ToFP32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// QuantizeF16 rounds to half precision (nearest even), as ggml_fp32_to_fp16_row.
func QuantizeF16(src []float32, dst []byte) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], FP32ToFP16(v))
	}
}

// DequantizeBF16 widens bfloat16 values.
func DequantizeBF16(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = BF16ToFP32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// QuantizeBF16 rounds to bfloat16 (nearest even), as ggml_fp32_to_bf16_row_ref.
func QuantizeBF16(src []float32, dst []byte) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], FP32ToBF16(v))
	}
}

// Float dot products accumulate in float64, like ggml's ggml_float leftovers; the SIMD
// kernels add float32 partial sums instead, which differs only in the last bits.
func dotF32(n int, w, a []byte) float32 {
	var s float64
	for i := 0; i < n; i++ {
		x := math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:]))
		y := math.Float32frombits(binary.LittleEndian.Uint32(a[4*i:]))
		s += float64(x * y)
	}
	return float32(s)
}

func dotF16(n int, w, a []byte) float32 {
	var s float64
	for i := 0; i < n; i++ {
		s += float64(f16(w[2*i:]) * f16(a[2*i:]))
	}
	return float32(s)
}

func dotBF16(n int, w, a []byte) float32 {
	var s float64
	for i := 0; i < n; i++ {
		x := BF16ToFP32(binary.LittleEndian.Uint16(w[2*i:]))
		y := BF16ToFP32(binary.LittleEndian.Uint16(a[2*i:]))
		s += float64(x * y)
	}
	return float32(s)
}
