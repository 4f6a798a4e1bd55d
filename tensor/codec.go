package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

type dequantFunc func(src []byte, dst []float32)
type quantFunc func(src []float32, dst []byte)

var dequantizers = map[DType]dequantFunc{
	F32: DequantizeF32, F16: DequantizeF16, BF16: DequantizeBF16,
	Q4_0: DequantizeQ4_0, Q4_1: DequantizeQ4_1, Q5_0: DequantizeQ5_0, Q5_1: DequantizeQ5_1,
	Q8_0: DequantizeQ8_0, Q8_1: DequantizeQ8_1,
	Q2_K: DequantizeQ2_K, Q3_K: DequantizeQ3_K, Q4_K: DequantizeQ4_K, Q5_K: DequantizeQ5_K,
	Q6_K: DequantizeQ6_K, Q8_K: DequantizeQ8_K,
	IQ4_NL: DequantizeIQ4_NL, IQ4_XS: DequantizeIQ4_XS,
}

// quantizers are the bytes ggml_quantize_chunk writes without an importance matrix,
// i.e. what llama-quantize produces (Q8_1 and Q8_K, activation-only types, use their
// reference quantizers).
var quantizers = map[DType]quantFunc{
	F32: QuantizeF32, F16: QuantizeF16, BF16: QuantizeBF16,
	Q4_0: QuantizeQ4_0, Q4_1: QuantizeQ4_1, Q5_0: QuantizeQ5_0, Q5_1: QuantizeQ5_1,
	Q8_0: QuantizeQ8_0, Q8_1: QuantizeQ8_1,
	Q2_K: QuantizeQ2_K, Q3_K: QuantizeQ3_K, Q4_K: QuantizeQ4_K, Q5_K: QuantizeQ5_K,
	Q6_K: QuantizeQ6_K, Q8_K: QuantizeQ8_K,
	IQ4_NL: QuantizeIQ4_NL, IQ4_XS: QuantizeIQ4_XS,
}

// Dequantize decodes len(dst) elements of type t from src.
func Dequantize(t DType, src []byte, dst []float32) error {
	f, ok := dequantizers[t]
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
	f(src[:need], dst)
	return nil
}

// Quantize encodes src as type t into dst, which must hold RowSize(len(src)) bytes.
// The bytes are those llama-quantize writes without an importance matrix.
func Quantize(t DType, src []float32, dst []byte) error {
	f, ok := quantizers[t]
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
	f(src, dst[:need])
	return nil
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
