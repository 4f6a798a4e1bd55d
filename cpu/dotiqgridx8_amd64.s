//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// The gridx8 layout (dotiqgridx8.go): per group of eight rows and super-block d[8]
// float32, then per row 112 bytes: sc[16] uint8, idx[32] uint16, signs[32]. Per row and
// 32 values: the four table entries (magnitudes 8..43) in Y1, their sign masks in Y2,
// the activations negated where the sign is set ((a ^ m) − m; Q8_K has no −128), one
// VPMADDUBSW (at most 2·43·127, no saturation) and one VPMADDWD with the two groups'
// scales (·gridScaleShuf, const_amd64.s, spreads them over the two lanes' words); each
// row's int32 sum goes to sums, then out += d_a·d·float32(sums) per super-block.

// func dotGridX8(nsb int, w, a, mags, signs *byte, sums *int32, out *float32)
TEXT ·dotGridX8(SB), NOSPLIT, $0-56
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ mags+24(FP), R8
	MOVQ signs+32(FP), R9
	MOVQ sums+40(FP), R14
	MOVQ out+48(FP), DX
	VMOVDQU ·gridScaleShuf(SB), Y6
	VXORPS Y0, Y0, Y0
gridsb:
	TESTQ CX, CX
	JZ griddone
	LEAQ 32(SI), R10             // row 0
	XORQ R11, R11                // row index
gridrow:
	PREFETCHT0 PFDIST(R10)
	PREFETCHT0 PFDIST+64(R10)
	LEAQ 4(DI), R12              // activation quants
	XORQ R13, R13                // 32-value chunk j
	VPXOR Y8, Y8, Y8
gridchunk:
	MOVWLZX 16(R10)(R13*8), AX
	MOVWLZX 18(R10)(R13*8), BX
	VMOVQ (R8)(AX*8), X1
	VPINSRQ $1, (R8)(BX*8), X1, X1
	MOVWLZX 20(R10)(R13*8), AX
	MOVWLZX 22(R10)(R13*8), BX
	VMOVQ (R8)(AX*8), X2
	VPINSRQ $1, (R8)(BX*8), X2, X2
	VINSERTI128 $1, X2, Y1, Y1
	MOVBLZX 80(R10)(R13*4), AX
	MOVBLZX 81(R10)(R13*4), BX
	VMOVQ (R9)(AX*8), X2
	VPINSRQ $1, (R9)(BX*8), X2, X2
	MOVBLZX 82(R10)(R13*4), AX
	MOVBLZX 83(R10)(R13*4), BX
	VMOVQ (R9)(AX*8), X3
	VPINSRQ $1, (R9)(BX*8), X3, X3
	VINSERTI128 $1, X3, Y2, Y2
	VPXOR (R12), Y2, Y3
	VPSUBB Y2, Y3, Y3
	VPMADDUBSW Y3, Y1, Y3
	VPBROADCASTW (R10)(R13*2), Y4
	VPSHUFB Y6, Y4, Y4
	VPMADDWD Y4, Y3, Y3
	VPADDD Y3, Y8, Y8
	ADDQ $32, R12
	INCQ R13
	CMPQ R13, $8
	JLT gridchunk
	VEXTRACTI128 $1, Y8, X3
	VPADDD X3, X8, X3
	VPSHUFD $0x4E, X3, X4
	VPADDD X4, X3, X3
	VPSHUFD $0xB1, X3, X4
	VPADDD X4, X3, X3
	VMOVD X3, (R14)(R11*4)
	ADDQ $112, R10
	INCQ R11
	CMPQ R11, $8
	JLT gridrow
	VMOVDQU (R14), Y3
	VCVTDQ2PS Y3, Y3
	VBROADCASTSS (DI), Y4
	VMULPS (SI), Y4, Y5
	VFMADD231PS Y3, Y5, Y0
	ADDQ $928, SI
	ADDQ $292, DI
	DECQ CX
	JMP gridsb
griddone:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET
