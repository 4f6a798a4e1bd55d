//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// avx512vnni kernels of the q8x8 layout (repackQ8_0x8Rows): vector v of a block holds
// quants 4v..4v+3 of rows 0..7, so one VPDPBUSD (YMM, AVX512VL) against four broadcast
// activation bytes adds four products into each row's int32 lane: what VPMADDUBSW,
// VPMADDWD and VPADDD do on AVX2, without the int16 step. VPDPBUSD takes its first
// operand unsigned: the weights, XORed with 0x80 (w+128); 128·Σa is taken off.

// Q8VNNIOFF: the block at SI, +128, into Y8..Y15 (Y6 holds 0x80 bytes).
#define Q8VNNIOFF \
	VPXOR 16(SI), Y6, Y8 \
	VPXOR 48(SI), Y6, Y9 \
	VPXOR 80(SI), Y6, Y10 \
	VPXOR 112(SI), Y6, Y11 \
	VPXOR 144(SI), Y6, Y12 \
	VPXOR 176(SI), Y6, Y13 \
	VPXOR 208(SI), Y6, Y14 \
	VPXOR 240(SI), Y6, Y15

// Q8VNNITOK: one token's block (Q8_0 at ap, its float32 scale at sp and −128·Σa at cp)
// against the offset block in Y8..Y15 with the rows' scales in Y7, into acc. Two
// integer chains, one started from −128·Σa, so that each VPDPBUSD waits on the one
// before last.
#define Q8VNNITOK(ap, sp, cp, acc) \
	VPBROADCASTD cp, Y16 \
	VPXORD Y17, Y17, Y17 \
	VPDPBUSD.BCST 2(ap), Y8, Y16 \
	VPDPBUSD.BCST 6(ap), Y9, Y17 \
	VPDPBUSD.BCST 10(ap), Y10, Y16 \
	VPDPBUSD.BCST 14(ap), Y11, Y17 \
	VPDPBUSD.BCST 18(ap), Y12, Y16 \
	VPDPBUSD.BCST 22(ap), Y13, Y17 \
	VPDPBUSD.BCST 26(ap), Y14, Y16 \
	VPDPBUSD.BCST 30(ap), Y15, Y17 \
	VPADDD Y17, Y16, Y16 \
	VCVTDQ2PS Y16, Y16 \
	VMULPS.BCST sp, Y7, Y17 \
	VFMADD231PS Y16, Y17, acc

// func dotQ8_0x8VNNI(nb int, w *byte, sa *float32, a *byte, out *float32)
TEXT ·dotQ8_0x8VNNI(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ sa+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ out+32(FP), DX
	VMOVDQU ·signbit8(SB), Y6
	VXORPS Y0, Y0, Y0
q8vloop:
	TESTQ CX, CX
	JZ q8vdone
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	PREFETCHT0 PFDIST+192(SI)
	PREFETCHT0 PFDIST+256(SI)
	Q8VNNIOFF
	VCVTPH2PS (SI), Y7
	Q8VNNITOK(DI, 0(R8), 4(R8), Y0)
	ADDQ $272, SI
	ADDQ $34, DI
	ADDQ $8, R8
	DECQ CX
	JMP q8vloop
q8vdone:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ8_0x8x4VNNI(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int)
TEXT ·dotQ8_0x8x4VNNI(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ sa+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ astride+32(FP), AX
	MOVQ out+40(FP), DX
	MOVQ ostride+48(FP), BX
	LEAQ (DI)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	LEAQ (R11)(AX*1), R12
	LEAQ (CX*8), R13         // sa: 2·nb words per token
	LEAQ (R8)(R13*2), R14
	VMOVDQU ·signbit8(SB), Y6
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
q8vx4loop:
	TESTQ CX, CX
	JZ q8vx4done
	Q8VNNIOFF
	VCVTPH2PS (SI), Y7           // the rows' scales, once for the four tokens
	Q8VNNITOK(DI, 0(R8), 4(R8), Y0)
	Q8VNNITOK(R10, 0(R8)(R13*1), 4(R8)(R13*1), Y1)
	Q8VNNITOK(R11, 0(R14), 4(R14), Y2)
	Q8VNNITOK(R12, 0(R14)(R13*1), 4(R14)(R13*1), Y3)
	ADDQ $272, SI
	ADDQ $34, DI
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $34, R12
	ADDQ $8, R8
	ADDQ $8, R14
	DECQ CX
	JMP q8vx4loop
q8vx4done:
	VMOVUPS Y0, (DX)
	ADDQ BX, DX
	VMOVUPS Y1, (DX)
	ADDQ BX, DX
	VMOVUPS Y2, (DX)
	ADDQ BX, DX
	VMOVUPS Y3, (DX)
	VZEROUPPER
	RET
