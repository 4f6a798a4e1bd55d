//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// Y8/Y9: |w| of rows 0/1, Y10/Y11: their scales, Y12: activation quants, Y13: the
// activation scale, Y15: ones. One token against both rows:
#define Q8TILETOK(qa, sa, acc0, acc1) \
	VMOVDQU 2(qa), Y12 \
	VBROADCASTSS sa, Y13 \
	VPSIGNB (R9), Y12, Y14 \
	VPMADDUBSW Y14, Y8, Y14 \
	VPMADDWD Y15, Y14, Y14 \
	VCVTDQ2PS Y14, Y14 \
	VMULPS Y13, Y14, Y14 \
	VFMADD231PS Y14, Y10, acc0 \
	VPSIGNB (R9)(BX*1), Y12, Y14 \
	VPMADDUBSW Y14, Y9, Y14 \
	VPMADDWD Y15, Y14, Y14 \
	VCVTDQ2PS Y14, Y14 \
	VMULPS Y13, Y14, Y14 \
	VFMADD231PS Y14, Y11, acc1

// func dotQ8_0Tile2x4AVX2(nb int, w *byte, wstride int, as *float32, a *byte, astride int, out *float32)
TEXT ·dotQ8_0Tile2x4AVX2(SB), NOSPLIT, $0-56
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
	VMOVDQU ·ones16(SB), Y15
q8tileloop:
	TESTQ CX, CX
	JZ q8tiledone
	VMOVDQU (R9), Y8
	VPSIGNB Y8, Y8, Y8
	VMOVDQU (R9)(BX*1), Y9
	VPSIGNB Y9, Y9, Y9
	VBROADCASTSS (SI), Y10
	VBROADCASTSS (SI)(BX*1), Y11
	Q8TILETOK(DI, (R8), Y0, Y4)
	Q8TILETOK(R10, (R8)(R13*1), Y1, Y5)
	Q8TILETOK(R11, (R14), Y2, Y6)
	Q8TILETOK(R12, (R14)(R13*1), Y3, Y7)
	ADDQ $4, SI
	ADDQ $32, R9
	ADDQ $4, R8
	ADDQ $4, R14
	ADDQ $34, DI
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $34, R12
	DECQ CX
	JMP q8tileloop
q8tiledone:
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
