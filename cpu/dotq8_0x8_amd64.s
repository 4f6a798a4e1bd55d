//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// The q8x8 layout (repackQ8_0x8Rows): for each group of eight rows and each block, the
// eight rows' fp16 scales (16 bytes, as in the file), then eight vectors of 32 bytes, vector v
// holding quants 4v..4v+3 of rows 0..7 in turn. As for q4x8, one VPMADDUBSW against
// four broadcast activation bytes works on eight rows at once; the signed weights go
// through the usual |w| × a·sign(w).

// Q8X8VEC: vector v of the block at SI (its |w| in wabs) against the token's quants at
// ap, into the int32 sums Y4. Pair sums of 127² products fill int16, so each VPMADDUBSW
// is widened at once.
#define Q8X8VEC(v, ap, wabs) \
	VBROADCASTSS (2+4*v)(ap), Y5 \
	VPSIGNB (16+32*v)(SI), Y5, Y5 \
	VPMADDUBSW Y5, wabs, Y5 \
	VPMADDWD Y6, Y5, Y5 \
	VPADDD Y5, Y4, Y4

// Q8X8TOK: one token's block (Q8_0 at ap, float32 scale at sp) against the block whose
// |w| are in Y8..Y15 and row scales in Y7, into acc (one float per row).
#define Q8X8TOK(ap, sp, acc) \
	VBROADCASTSS 2(ap), Y5 \
	VPSIGNB 16(SI), Y5, Y5 \
	VPMADDUBSW Y5, Y8, Y5 \
	VPMADDWD Y6, Y5, Y4 \
	Q8X8VEC(1, ap, Y9) \
	Q8X8VEC(2, ap, Y10) \
	Q8X8VEC(3, ap, Y11) \
	Q8X8VEC(4, ap, Y12) \
	Q8X8VEC(5, ap, Y13) \
	Q8X8VEC(6, ap, Y14) \
	Q8X8VEC(7, ap, Y15) \
	VCVTDQ2PS Y4, Y4 \
	VBROADCASTSS sp, Y5 \
	VMULPS Y7, Y5, Y5 \
	VFMADD231PS Y4, Y5, acc

// Q8X8ABS: |w| of the block at SI into Y8..Y15.
#define Q8X8ABS \
	VPABSB 16(SI), Y8 \
	VPABSB 48(SI), Y9 \
	VPABSB 80(SI), Y10 \
	VPABSB 112(SI), Y11 \
	VPABSB 144(SI), Y12 \
	VPABSB 176(SI), Y13 \
	VPABSB 208(SI), Y14 \
	VPABSB 240(SI), Y15

// func dotQ8_0x8(nb int, w *byte, as *float32, a *byte, out *float32)
// One token against a group of eight q8x8 rows: out[r] = Σ_b d_r·d_a·Σ w·a.
TEXT ·dotQ8_0x8(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ as+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ out+32(FP), DX
	VMOVDQU ·ones16(SB), Y6
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
q8x8loop:
	TESTQ CX, CX
	JZ q8x8done
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	PREFETCHT0 PFDIST+192(SI)
	PREFETCHT0 PFDIST+256(SI)
	Q8X8ABS
	VCVTPH2PS (SI), Y7
	Q8X8TOK(DI, (R8), Y0)
	ADDQ $272, SI
	ADDQ $34, DI
	ADDQ $4, R8
	DECQ CX
	JMP q8x8loop
q8x8done:
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ8_0x8x4(nb int, w *byte, as *float32, a *byte, astride int, out *float32, ostride int)
// Four tokens (activations astride bytes apart, their scales nb floats apart) against a
// group of eight q8x8 rows; token t's eight results go to out + t·ostride bytes.
TEXT ·dotQ8_0x8x4(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ as+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ astride+32(FP), AX
	MOVQ out+40(FP), DX
	MOVQ ostride+48(FP), BX
	LEAQ (DI)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	LEAQ (R11)(AX*1), R12
	LEAQ (CX*4), R13         // activation scales: nb float32 per token
	LEAQ (R8)(R13*2), R14
	VMOVDQU ·ones16(SB), Y6
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
q8x8x4loop:
	TESTQ CX, CX
	JZ q8x8x4done
	Q8X8ABS
	VCVTPH2PS (SI), Y7           // the rows' scales, once for the four tokens
	Q8X8TOK(DI, (R8), Y0)
	Q8X8TOK(R10, (R8)(R13*1), Y1)
	Q8X8TOK(R11, (R14), Y2)
	Q8X8TOK(R12, (R14)(R13*1), Y3)
	ADDQ $272, SI
	ADDQ $34, DI
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $34, R12
	ADDQ $4, R8
	ADDQ $4, R14
	DECQ CX
	JMP q8x8x4loop
q8x8x4done:
	VMOVUPS Y0, (DX)
	ADDQ BX, DX
	VMOVUPS Y1, (DX)
	ADDQ BX, DX
	VMOVUPS Y2, (DX)
	ADDQ BX, DX
	VMOVUPS Y3, (DX)
	VZEROUPPER
	RET
