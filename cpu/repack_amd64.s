//go:build !noasm

#include "textflag.h"

// func transposeX8(out *byte, src *byte, srcStride, n int)
// Per chunk: eight rows' 32 bytes in Y0..Y7, transposed as 4-byte units by the usual
// unpack of doublewords, then quadwords, then 128-bit lanes.
TEXT ·transposeX8(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ srcStride+16(FP), R8
	MOVQ n+24(FP), CX
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
	ADDQ $32, SI
	ADDQ $256, DI
	DECQ CX
	JMP tx8loop
tx8done:
	VZEROUPPER
	RET
