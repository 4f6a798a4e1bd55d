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
	// QuantizeWeighted writes what ggml_quantize_chunk writes given importance weights
	// (llama-quantize --imatrix): src is whole rows of nPerRow elements and weights
	// (nPerRow values, one per column, nil: none) weight every row alike. nil: the
	// type's quantizer ignores importance weights (F16, Q8_0, ...), so Quantize's bytes.
	QuantizeWeighted func(dst []byte, src []float32, nPerRow int, weights []float32) error
	// RequiresImatrix: ggml_quantize_requires_imatrix, ggml refuses to quantize without
	// importance weights (Quantize is nil, QuantizeWeighted refuses nil weights).
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

// QuantizeWeighted encodes src, rows of nPerRow elements, as type t with importance
// weights (one per column, as llama-quantize loads an imatrix entry; nil: none) into
// dst, which must hold the rows' RowSize bytes. A type whose quantizer ignores the
// weights writes Quantize's bytes.
func QuantizeWeighted(t DType, src []float32, dst []byte, nPerRow int, weights []float32) error {
	c, ok := codecs[t]
	if !ok {
		return fmt.Errorf("quantize: type %s is not supported", t)
	}
	if c.QuantizeWeighted == nil {
		return Quantize(t, src, dst)
	}
	return c.QuantizeWeighted(dst, src, nPerRow, weights)
}

// weightedRows makes a Codec.QuantizeWeighted from a quantizer of one row: it checks
// the shapes and runs row on each row (nil weights: Quantize, row by row).
func weightedRows(t DType, row func(dst []byte, x, weights []float32)) func(dst []byte, src []float32, nPerRow int, weights []float32) error {
	return func(dst []byte, src []float32, nPerRow int, weights []float32) error {
		if nPerRow <= 0 || len(src)%nPerRow != 0 {
			return fmt.Errorf("quantize: %s: %d elements are not whole rows of %d", t, len(src), nPerRow)
		}
		rowSize, err := t.RowSize(nPerRow)
		if err != nil {
			return fmt.Errorf("quantize: %w", err)
		}
		if weights != nil && len(weights) != nPerRow {
			return fmt.Errorf("quantize: %s: %d importance weights for rows of %d", t, len(weights), nPerRow)
		}
		rows := len(src) / nPerRow
		if len(dst) < rows*rowSize {
			return fmt.Errorf("quantize: %s: %d elements need %d bytes, have %d", t, len(src), rows*rowSize, len(dst))
		}
		quantize := codecs[t].Quantize
		for r := 0; r < rows; r++ {
			x, d := src[r*nPerRow:(r+1)*nPerRow], dst[r*rowSize:(r+1)*rowSize]
			if weights == nil {
				quantize(x, d)
			} else {
				row(d, x, weights)
			}
		}
		return nil
	}
}

// checkedWeighted makes a Codec.QuantizeWeighted of type t from q, a quantizer of whole
// rows that trusts its arguments: the shapes are checked here; nil weights are Quantize's
// path (refused for a type that requires an importance matrix).
func checkedWeighted(t DType, q func(src []float32, dst []byte, nPerRow int, weights []float32)) func(dst []byte, src []float32, nPerRow int, weights []float32) error {
	return func(dst []byte, src []float32, nPerRow int, weights []float32) error {
		if nPerRow <= 0 || len(src)%nPerRow != 0 {
			return fmt.Errorf("quantize: %s: %d values are not whole rows of %d", t, len(src), nPerRow)
		}
		if _, err := t.RowSize(nPerRow); err != nil {
			return fmt.Errorf("quantize: %w", err)
		}
		need, _ := t.RowSize(len(src))
		if len(dst) < need {
			return fmt.Errorf("quantize: %s: %d elements need %d bytes, have %d", t, len(src), need, len(dst))
		}
		if weights == nil {
			return Quantize(t, src, dst)
		}
		if len(weights) != nPerRow {
			return fmt.Errorf("quantize: %s: %d importance weights for rows of %d", t, len(weights), nPerRow)
		}
		q(src, dst[:need], nPerRow, weights)
		return nil
	}
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
