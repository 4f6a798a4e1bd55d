//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// avx512vnni kernels of the q4x8 layout (repackQ4_0x8Rows; see dotq4_0x8_amd64.s): the
// low nibbles of vector v are elements 4v..4v+3 of rows 0..7, the high ones 16+4v..+3,
// so one VPDPBUSD (YMM, AVX512VL) of unpacked nibbles (unsigned) against four broadcast
// activation bytes (signed) adds four products to each row's int32 lane.

// Q4VNNIUNPACK: the block at SI into Y8..Y11 (low nibbles) and Y12..Y15 (high), Y7
// holding 0x0F bytes.
#define Q4VNNIUNPACK \
	VMOVDQU 16(SI), Y8 \
	VMOVDQU 48(SI), Y9 \
	VMOVDQU 80(SI), Y10 \
	VMOVDQU 112(SI), Y11 \
	VPSRLW $4, Y8, Y12 \
	VPSRLW $4, Y9, Y13 \
	VPSRLW $4, Y10, Y14 \
	VPSRLW $4, Y11, Y15 \
	VPAND Y7, Y8, Y8 \
	VPAND Y7, Y9, Y9 \
	VPAND Y7, Y10, Y10 \
	VPAND Y7, Y11, Y11 \
	VPAND Y7, Y12, Y12 \
	VPAND Y7, Y13, Y13 \
	VPAND Y7, Y14, Y14 \
	VPAND Y7, Y15, Y15

// Q4VNNITOK: one token's block (Q8_0 at ap, its float32 scale at sp and 8·Σa at cp)
// against the unpacked block with the rows' scales in Y6, into acc; two integer chains.
#define Q4VNNITOK(ap, sp, cp, acc) \
	VPXORD Y16, Y16, Y16 \
	VPXORD Y17, Y17, Y17 \
	VPDPBUSD.BCST 2(ap), Y8, Y16 \
	VPDPBUSD.BCST 18(ap), Y12, Y17 \
	VPDPBUSD.BCST 6(ap), Y9, Y16 \
	VPDPBUSD.BCST 22(ap), Y13, Y17 \
	VPDPBUSD.BCST 10(ap), Y10, Y16 \
	VPDPBUSD.BCST 26(ap), Y14, Y17 \
	VPDPBUSD.BCST 14(ap), Y11, Y16 \
	VPDPBUSD.BCST 30(ap), Y15, Y17 \
	VPADDD Y17, Y16, Y16 \
	VPSUBD.BCST cp, Y16, Y16 \
	VCVTDQ2PS Y16, Y16 \
	VMULPS.BCST sp, Y6, Y17 \
	VFMADD231PS Y16, Y17, acc

// func dotQ4_0x8VNNI(nb int, w *byte, sa *float32, a *byte, out *float32)
TEXT ·dotQ4_0x8VNNI(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ sa+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VXORPS Y0, Y0, Y0
q4vloop:
	TESTQ CX, CX
	JZ q4vdone
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	Q4VNNIUNPACK
	VCVTPH2PS (SI), Y6
	Q4VNNITOK(DI, 0(R8), 4(R8), Y0)
	ADDQ $144, SI
	ADDQ $34, DI
	ADDQ $8, R8
	DECQ CX
	JMP q4vloop
q4vdone:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ4_0x8x4VNNI(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int)
TEXT ·dotQ4_0x8x4VNNI(SB), NOSPLIT, $0-56
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
	VMOVDQU ·nibmask(SB), Y7
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
q4vx4loop:
	TESTQ CX, CX
	JZ q4vx4done
	Q4VNNIUNPACK
	VCVTPH2PS (SI), Y6           // the rows' scales, once for the four tokens
	Q4VNNITOK(DI, 0(R8), 4(R8), Y0)
	Q4VNNITOK(R10, 0(R8)(R13*1), 4(R8)(R13*1), Y1)
	Q4VNNITOK(R11, 0(R14), 4(R14), Y2)
	Q4VNNITOK(R12, 0(R14)(R13*1), 4(R14)(R13*1), Y3)
	ADDQ $144, SI
	ADDQ $34, DI
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $34, R12
	ADDQ $8, R8
	ADDQ $8, R14
	DECQ CX
	JMP q4vx4loop
q4vx4done:
	VMOVUPS Y0, (DX)
	ADDQ BX, DX
	VMOVUPS Y1, (DX)
	ADDQ BX, DX
	VMOVUPS Y2, (DX)
	ADDQ BX, DX
	VMOVUPS Y3, (DX)
	VZEROUPPER
	RET
