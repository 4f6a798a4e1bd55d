//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// The gridsx8 layout (dotiqgridx8.go; IQ1_S, IQ1_M): as gridx8 without sign bytes, rows
// of 80 bytes (sc[16], idx[32]) whose indices name signed table entries (8·g ± 1). Per
// 32 values the four entries in Y1; VPSIGNB moves their signs onto the activations and
// VPMADDUBSW multiplies by their magnitudes (at most 2·9·127); then as dotGridX8.

// func dotGridSX8(nsb int, w, a, vals *byte, sums *int32, out *float32)
TEXT ·dotGridSX8(SB), NOSPLIT, $0-48
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ vals+24(FP), R8
	MOVQ sums+32(FP), R14
	MOVQ out+40(FP), DX
	VMOVDQU ·gridScaleShuf(SB), Y6
	VXORPS Y0, Y0, Y0
gridssb:
	TESTQ CX, CX
	JZ gridsdone
	LEAQ 32(SI), R10             // row 0
	XORQ R11, R11                // row index
gridsrow:
	PREFETCHT0 PFDIST(R10)
	PREFETCHT0 PFDIST+64(R10)
	LEAQ 4(DI), R12              // activation quants
	XORQ R13, R13                // 32-value chunk j
	VPXOR Y8, Y8, Y8
gridschunk:
	MOVWLZX 16(R10)(R13*8), AX
	MOVWLZX 18(R10)(R13*8), BX
	VMOVQ (R8)(AX*8), X1
	VPINSRQ $1, (R8)(BX*8), X1, X1
	MOVWLZX 20(R10)(R13*8), AX
	MOVWLZX 22(R10)(R13*8), BX
	VMOVQ (R8)(AX*8), X2
	VPINSRQ $1, (R8)(BX*8), X2, X2
	VINSERTI128 $1, X2, Y1, Y1
	VMOVDQU (R12), Y3
	VPSIGNB Y1, Y3, Y3
	VPABSB Y1, Y1
	VPMADDUBSW Y3, Y1, Y3
	VPBROADCASTW (R10)(R13*2), Y4
	VPSHUFB Y6, Y4, Y4
	VPMADDWD Y4, Y3, Y3
	VPADDD Y3, Y8, Y8
	ADDQ $32, R12
	INCQ R13
	CMPQ R13, $8
	JLT gridschunk
	VEXTRACTI128 $1, Y8, X3
	VPADDD X3, X8, X3
	VPSHUFD $0x4E, X3, X4
	VPADDD X4, X3, X3
	VPSHUFD $0xB1, X3, X4
	VPADDD X4, X3, X3
	VMOVD X3, (R14)(R11*4)
	ADDQ $80, R10
	INCQ R11
	CMPQ R11, $8
	JLT gridsrow
	VMOVDQU (R14), Y3
	VCVTDQ2PS Y3, Y3
	VBROADCASTSS (DI), Y4
	VMULPS (SI), Y4, Y5
	VFMADD231PS Y3, Y5, Y0
	ADDQ $672, SI
	ADDQ $292, DI
	DECQ CX
	JMP gridssb
gridsdone:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET
