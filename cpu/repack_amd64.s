//go:build !noasm

#include "textflag.h"

// func transposeX8(out *byte, outStep int, src *byte, srcStride, srcStep, n int)
// Per chunk: eight rows' 32 bytes in Y0..Y7, transposed as 4-byte units by the usual
// unpack of doublewords, then quadwords, then 128-bit lanes.
TEXT ·transposeX8(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ outStep+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ srcStride+24(FP), R8
	MOVQ srcStep+32(FP), BX
	MOVQ n+40(FP), CX
	LEAQ (R8)(R8*2), R9          // 3·stride
	LEAQ (R8)(R8*4), R10         // 5·stride
	LEAQ (R9)(R9*1), R11         // 6·stride
	LEAQ (R11)(R8*1), R12        // 7·stride
tx8loop:
	TESTQ CX, CX
	JZ tx8done
	VMOVDQU (SI), Y0
	VMOVDQU (SI)(R8*1), Y1
	VMOVDQU (SI)(R8*2), Y2
	VMOVDQU (SI)(R9*1), Y3
	VMOVDQU (SI)(R8*4), Y4
	VMOVDQU (SI)(R10*1), Y5
	VMOVDQU (SI)(R11*1), Y6
	VMOVDQU (SI)(R12*1), Y7
	VPUNPCKLDQ Y1, Y0, Y8        // rows 0,1 units 0,1 | 4,5 interleaved
	VPUNPCKHDQ Y1, Y0, Y9        // units 2,3 | 6,7
	VPUNPCKLDQ Y3, Y2, Y10
	VPUNPCKHDQ Y3, Y2, Y11
	VPUNPCKLDQ Y5, Y4, Y12
	VPUNPCKHDQ Y5, Y4, Y13
	VPUNPCKLDQ Y7, Y6, Y14
	VPUNPCKHDQ Y7, Y6, Y15
	VPUNPCKLQDQ Y10, Y8, Y0      // unit 0 | 4 of rows 0..3
	VPUNPCKHQDQ Y10, Y8, Y1      // unit 1 | 5
	VPUNPCKLQDQ Y11, Y9, Y2      // unit 2 | 6
	VPUNPCKHQDQ Y11, Y9, Y3      // unit 3 | 7
	VPUNPCKLQDQ Y14, Y12, Y4     // the same of rows 4..7
	VPUNPCKHQDQ Y14, Y12, Y5
	VPUNPCKLQDQ Y15, Y13, Y6
	VPUNPCKHQDQ Y15, Y13, Y7
	VPERM2I128 $0x20, Y4, Y0, Y8
	VPERM2I128 $0x20, Y5, Y1, Y9
	VPERM2I128 $0x20, Y6, Y2, Y10
	VPERM2I128 $0x20, Y7, Y3, Y11
	VPERM2I128 $0x31, Y4, Y0, Y12
	VPERM2I128 $0x31, Y5, Y1, Y13
	VPERM2I128 $0x31, Y6, Y2, Y14
	VPERM2I128 $0x31, Y7, Y3, Y15
	VMOVDQU Y8, (DI)
	VMOVDQU Y9, 32(DI)
	VMOVDQU Y10, 64(DI)
	VMOVDQU Y11, 96(DI)
	VMOVDQU Y12, 128(DI)
	VMOVDQU Y13, 160(DI)
	VMOVDQU Y14, 192(DI)
	VMOVDQU Y15, 224(DI)
	ADDQ BX, SI
	ADDQ DX, DI
	DECQ CX
	JMP tx8loop
tx8done:
	VZEROUPPER
	RET

// func transposeX8Half(out *byte, outStep int, src *byte, srcStride, srcStep, n int)
// Per chunk: rows r and r+4's 16 bytes in the lanes of Y0..Y3, then the 4 × 4 transpose
// of 4-byte units within the lanes.
TEXT ·transposeX8Half(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ outStep+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ srcStride+24(FP), R8
	MOVQ srcStep+32(FP), BX
	MOVQ n+40(FP), CX
	LEAQ (R8)(R8*2), R9          // 3·stride
	LEAQ (R8)(R8*4), R10         // 5·stride
	LEAQ (R9)(R9*1), R11         // 6·stride
	LEAQ (R11)(R8*1), R12        // 7·stride
tx4loop:
	TESTQ CX, CX
	JZ tx4done
	VMOVDQU (SI), X0
	VMOVDQU (SI)(R8*1), X1
	VMOVDQU (SI)(R8*2), X2
	VMOVDQU (SI)(R9*1), X3
	VINSERTI128 $1, (SI)(R8*4), Y0, Y0
	VINSERTI128 $1, (SI)(R10*1), Y1, Y1
	VINSERTI128 $1, (SI)(R11*1), Y2, Y2
	VINSERTI128 $1, (SI)(R12*1), Y3, Y3
	VPUNPCKLDQ Y1, Y0, Y4        // rows 0,1 | 4,5: units 0, 1
	VPUNPCKHDQ Y1, Y0, Y5        // units 2, 3
	VPUNPCKLDQ Y3, Y2, Y6        // rows 2,3 | 6,7
	VPUNPCKHDQ Y3, Y2, Y7
	VPUNPCKLQDQ Y6, Y4, Y0       // unit 0 of rows 0..3 | 4..7
	VPUNPCKHQDQ Y6, Y4, Y1
	VPUNPCKLQDQ Y7, Y5, Y2
	VPUNPCKHQDQ Y7, Y5, Y3
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	ADDQ BX, SI
	ADDQ DX, DI
	DECQ CX
	JMP tx4loop
tx4done:
	VZEROUPPER
	RET
