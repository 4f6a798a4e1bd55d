//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// dotGridX8x4: dotiqgridx8_amd64.s's kernel for four tokens, each table gather and sign
// mask serving all four (Y12 magnitudes, Y13 masks, Y8..Y11 the tokens' row sums).

// GRIDHSUM stores the sum of accumulator Y's int32 lanes (X its low half) as row R11's
// at off(R14). Clobbers X4, X5.
#define GRIDHSUM(Y, X, off) \
	VEXTRACTI128 $1, Y, X4 \
	VPADDD X4, X, X4 \
	VPSHUFD $0x4E, X4, X5 \
	VPADDD X5, X4, X4 \
	VPSHUFD $0xB1, X4, X5 \
	VPADDD X5, X4, X4 \
	VMOVD X4, off(R14)(R11*4)

// GRIDFINISH: ACC += d_a·d·float32(sums) for one token: d_a at DA, its sums at off(R14),
// d[8] in Y5. Clobbers Y4, Y7.
#define GRIDFINISH(DA, off, ACC) \
	VMOVDQU off(R14), Y7 \
	VCVTDQ2PS Y7, Y7 \
	VBROADCASTSS DA, Y4 \
	VMULPS Y5, Y4, Y4 \
	VFMADD231PS Y7, Y4, ACC

// func dotGridX8x4(nsb int, w, a *byte, astride int, mags, signs *byte, sums *int32, out *float32, ostride int)
TEXT ·dotGridX8x4(SB), NOSPLIT, $0-72
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ astride+24(FP), DX
	MOVQ mags+32(FP), R8
	MOVQ signs+40(FP), R9
	MOVQ sums+48(FP), R14
	VMOVDQU ·gridScaleShuf(SB), Y6
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
grid4sb:
	TESTQ CX, CX
	JZ grid4done
	LEAQ 32(SI), R10             // row 0
	XORQ R11, R11                // row index
grid4row:
	PREFETCHT0 PFDIST(R10)
	PREFETCHT0 PFDIST+64(R10)
	LEAQ 4(DI), R12              // token 0's activation quants
	XORQ R13, R13                // 32-value chunk j
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
grid4chunk:
	MOVWLZX 16(R10)(R13*8), AX
	MOVWLZX 18(R10)(R13*8), BX
	VMOVQ (R8)(AX*8), X12
	VPINSRQ $1, (R8)(BX*8), X12, X12
	MOVWLZX 20(R10)(R13*8), AX
	MOVWLZX 22(R10)(R13*8), BX
	VMOVQ (R8)(AX*8), X14
	VPINSRQ $1, (R8)(BX*8), X14, X14
	VINSERTI128 $1, X14, Y12, Y12
	MOVBLZX 80(R10)(R13*4), AX
	MOVBLZX 81(R10)(R13*4), BX
	VMOVQ (R9)(AX*8), X13
	VPINSRQ $1, (R9)(BX*8), X13, X13
	MOVBLZX 82(R10)(R13*4), AX
	MOVBLZX 83(R10)(R13*4), BX
	VMOVQ (R9)(AX*8), X14
	VPINSRQ $1, (R9)(BX*8), X14, X14
	VINSERTI128 $1, X14, Y13, Y13
	VPBROADCASTW (R10)(R13*2), Y4
	VPSHUFB Y6, Y4, Y4
	VPXOR (R12), Y13, Y14
	VPSUBB Y13, Y14, Y14
	VPMADDUBSW Y14, Y12, Y14
	VPMADDWD Y4, Y14, Y14
	VPADDD Y14, Y8, Y8
	VPXOR (R12)(DX*1), Y13, Y14
	VPSUBB Y13, Y14, Y14
	VPMADDUBSW Y14, Y12, Y14
	VPMADDWD Y4, Y14, Y14
	VPADDD Y14, Y9, Y9
	VPXOR (R12)(DX*2), Y13, Y14
	VPSUBB Y13, Y14, Y14
	VPMADDUBSW Y14, Y12, Y14
	VPMADDWD Y4, Y14, Y14
	VPADDD Y14, Y10, Y10
	LEAQ (R12)(DX*2), AX
	VPXOR (AX)(DX*1), Y13, Y14
	VPSUBB Y13, Y14, Y14
	VPMADDUBSW Y14, Y12, Y14
	VPMADDWD Y4, Y14, Y14
	VPADDD Y14, Y11, Y11
	ADDQ $32, R12
	INCQ R13
	CMPQ R13, $8
	JLT grid4chunk
	GRIDHSUM(Y8, X8, 0)
	GRIDHSUM(Y9, X9, 32)
	GRIDHSUM(Y10, X10, 64)
	GRIDHSUM(Y11, X11, 96)
	ADDQ $112, R10
	INCQ R11
	CMPQ R11, $8
	JLT grid4row
	VMOVUPS (SI), Y5             // d[8]
	GRIDFINISH(0(DI), 0, Y0)
	GRIDFINISH(0(DI)(DX*1), 32, Y1)
	GRIDFINISH(0(DI)(DX*2), 64, Y2)
	LEAQ (DI)(DX*2), AX
	GRIDFINISH(0(AX)(DX*1), 96, Y3)
	ADDQ $928, SI
	ADDQ $292, DI
	DECQ CX
	JMP grid4sb
grid4done:
	MOVQ out+56(FP), DX
	MOVQ ostride+64(FP), AX
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, (DX)(AX*1)
	VMOVUPS Y2, (DX)(AX*2)
	LEAQ (DX)(AX*2), DX
	VMOVUPS Y3, (DX)(AX*1)
	VZEROUPPER
	RET
