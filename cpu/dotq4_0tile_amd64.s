//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// Y8/Y9: rows 0/1 as unsigned nibbles 0..15 in element order, Y10/Y11: their scales,
// Y15: eights. Σ (q-8)·a = Σ q·a − Σ 8·a, the second term shared by both rows.
#define Q4TILETOK(qa, sa, acc0, acc1) \
	VBROADCASTSS sa, Y13 \
	VPMADDUBSW 2(qa), Y15, Y12 \
	VPMADDUBSW 2(qa), Y8, Y14 \
	VPSUBW Y12, Y14, Y14 \
	VPMADDWD ·ones16(SB), Y14, Y14 \
	VCVTDQ2PS Y14, Y14 \
	VMULPS Y13, Y14, Y14 \
	VFMADD231PS Y14, Y10, acc0 \
	VPMADDUBSW 2(qa), Y9, Y14 \
	VPSUBW Y12, Y14, Y14 \
	VPMADDWD ·ones16(SB), Y14, Y14 \
	VCVTDQ2PS Y14, Y14 \
	VMULPS Y13, Y14, Y14 \
	VFMADD231PS Y14, Y11, acc1

// func dotQ4_0Tile2x4AVX2(nb int, w *byte, wstride int, as *float32, a *byte, astride int, out *float32)
TEXT ·dotQ4_0Tile2x4AVX2(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ wstride+16(FP), BX
	MOVQ as+24(FP), R8
	MOVQ a+32(FP), DI
	MOVQ astride+40(FP), AX
	MOVQ out+48(FP), DX
	LEAQ (SI)(CX*4), R9      // row 0 quants follow its nb scales
	LEAQ (DI)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	LEAQ (R11)(AX*1), R12
	LEAQ (CX*4), R13         // activation scales: nb float32 per token
	LEAQ (R8)(R13*2), R14
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VMOVDQU ·eights(SB), Y15
q4tileloop:
	TESTQ CX, CX
	JZ q4tiledone
	VMOVDQU (R9), X8
	VPSRLW $4, X8, X12
	VINSERTI128 $1, X12, Y8, Y8
	VPAND ·nibmask(SB), Y8, Y8
	VMOVDQU (R9)(BX*1), X9
	VPSRLW $4, X9, X12
	VINSERTI128 $1, X12, Y9, Y9
	VPAND ·nibmask(SB), Y9, Y9
	VBROADCASTSS (SI), Y10
	VBROADCASTSS (SI)(BX*1), Y11
	Q4TILETOK(DI, (R8), Y0, Y4)
	Q4TILETOK(R10, (R8)(R13*1), Y1, Y5)
	Q4TILETOK(R11, (R14), Y2, Y6)
	Q4TILETOK(R12, (R14)(R13*1), Y3, Y7)
	ADDQ $4, SI
	ADDQ $16, R9
	ADDQ $4, R8
	ADDQ $4, R14
	ADDQ $34, DI
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $34, R12
	DECQ CX
	JMP q4tileloop
q4tiledone:
	HSUMSTORE(Y0, X0, X14, 0(DX))
	HSUMSTORE(Y1, X1, X14, 4(DX))
	HSUMSTORE(Y2, X2, X14, 8(DX))
	HSUMSTORE(Y3, X3, X14, 12(DX))
	HSUMSTORE(Y4, X4, X14, 16(DX))
	HSUMSTORE(Y5, X5, X14, 20(DX))
	HSUMSTORE(Y6, X6, X14, 24(DX))
	HSUMSTORE(Y7, X7, X14, 28(DX))
	VZEROUPPER
	RET
