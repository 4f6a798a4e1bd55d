//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// avx512vnni kernels of the q5x8, q41x8 and q51x8 layouts (putLegacyX8; see
// dotlegacyx8_amd64.s). A block's values go to Y16..Y19 (low nibbles of vectors 0..3,
// elements 4v..) and Y20..Y23 (high nibbles, 16+4v..), the fifth bits ORed in at bit
// 4 (VPTERNLOGD $0xF8: dst | (a & b)); each token's block sum is eight VPDPBUSDs
// against broadcast activation bytes. sa (Q5_0) holds per block the activation's d
// and 8·Σa, ds (Q4_1, Q5_1) its d and s = d·Σa.

DATA lgv5bit<>+0(SB)/8, $0x1010101010101010
DATA lgv5bit<>+8(SB)/8, $0x1010101010101010
DATA lgv5bit<>+16(SB)/8, $0x1010101010101010
DATA lgv5bit<>+24(SB)/8, $0x1010101010101010
GLOBL lgv5bit<>(SB), RODATA|NOPTR, $32

// LGVNIB(nib): the nibble vectors at nib(SI) into Y16..Y23. Y7: 0x0F bytes.
#define LGVNIB(nib) \
	VMOVDQU64 (nib+0)(SI), Y16 \
	VPSRLW $4, Y16, Y20 \
	VPANDD Y7, Y16, Y16 \
	VPANDD Y7, Y20, Y20 \
	VMOVDQU64 (nib+32)(SI), Y17 \
	VPSRLW $4, Y17, Y21 \
	VPANDD Y7, Y17, Y17 \
	VPANDD Y7, Y21, Y21 \
	VMOVDQU64 (nib+64)(SI), Y18 \
	VPSRLW $4, Y18, Y22 \
	VPANDD Y7, Y18, Y18 \
	VPANDD Y7, Y22, Y22 \
	VMOVDQU64 (nib+96)(SI), Y19 \
	VPSRLW $4, Y19, Y23 \
	VPANDD Y7, Y19, Y19 \
	VPANDD Y7, Y23, Y23

// LGV5BITS(hb): bits 2v and 2v+1 of the fifth-bit vector at hb(SI) to bit 4 of vector
// v's low and high values. Y3: 0x10 bytes; clobbers Y24, Y25.
#define LGV5BITS(hb) \
	VMOVDQU64 hb(SI), Y24 \
	VPSLLW $4, Y24, Y25 \
	VPTERNLOGD $0xF8, Y3, Y25, Y16 \
	VPSLLW $3, Y24, Y25 \
	VPTERNLOGD $0xF8, Y3, Y25, Y20 \
	VPSLLW $2, Y24, Y25 \
	VPTERNLOGD $0xF8, Y3, Y25, Y17 \
	VPSLLW $1, Y24, Y25 \
	VPTERNLOGD $0xF8, Y3, Y25, Y21 \
	VPTERNLOGD $0xF8, Y3, Y24, Y18 \
	VPSRLW $1, Y24, Y25 \
	VPTERNLOGD $0xF8, Y3, Y25, Y22 \
	VPSRLW $2, Y24, Y25 \
	VPTERNLOGD $0xF8, Y3, Y25, Y19 \
	VPSRLW $3, Y24, Y25 \
	VPTERNLOGD $0xF8, Y3, Y25, Y23

// LGVSUM(ap, aq): a token's block (its quants at aq(ap)) against Y16..Y23, the int32
// sums per row in Y4 (two chains; clobbers Y5).
#define LGVSUM(ap, aq) \
	VPXORD Y4, Y4, Y4 \
	VPXORD Y5, Y5, Y5 \
	VPDPBUSD.BCST (aq+0)(ap), Y16, Y4 \
	VPDPBUSD.BCST (aq+16)(ap), Y20, Y5 \
	VPDPBUSD.BCST (aq+4)(ap), Y17, Y4 \
	VPDPBUSD.BCST (aq+20)(ap), Y21, Y5 \
	VPDPBUSD.BCST (aq+8)(ap), Y18, Y4 \
	VPDPBUSD.BCST (aq+24)(ap), Y22, Y5 \
	VPDPBUSD.BCST (aq+12)(ap), Y19, Y4 \
	VPDPBUSD.BCST (aq+28)(ap), Y23, Y5 \
	VPADDD Y5, Y4, Y4

// LGVQ50(ap, sp, acc): a Q5_0 token (sp: its d, then 8·Σa), with the rows' d in Y6.
#define LGVQ50(ap, sp, acc) \
	LGVSUM(ap, 2) \
	VPBROADCASTD 4(sp), Y5 \
	VPADDD Y5, Y5, Y5 \
	VPSUBD Y5, Y4, Y4 \
	VCVTDQ2PS Y4, Y4 \
	VMULPS.BCST (sp), Y6, Y5 \
	VFMADD231PS Y4, Y5, acc

// LGVQ1(ap, sp, acc): a Q8_1 token (sp: its d, then s) with the rows' d in Y6, m in Y2.
#define LGVQ1(ap, sp, acc) \
	LGVSUM(ap, 4) \
	VCVTDQ2PS Y4, Y4 \
	VMULPS.BCST (sp), Y6, Y5 \
	VFMADD231PS Y4, Y5, acc \
	VFMADD231PS.BCST 4(sp), Y2, acc

// func dotQ5_0x8VNNI(nb int, w *byte, sa *float32, a *byte, out *float32)
TEXT ·dotQ5_0x8VNNI(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ sa+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU lgv5bit<>(SB), Y3
	VXORPS Y0, Y0, Y0
q50vloop:
	TESTQ CX, CX
	JZ q50vdone
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	LGVNIB(16)
	LGV5BITS(144)
	VCVTPH2PS (SI), Y6
	LGVQ50(DI, R8, Y0)
	ADDQ $176, SI
	ADDQ $34, DI
	ADDQ $8, R8
	DECQ CX
	JMP q50vloop
q50vdone:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ5_0x8x4VNNI(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int)
TEXT ·dotQ5_0x8x4VNNI(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ sa+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ astride+32(FP), AX
	MOVQ out+40(FP), DX
	LEAQ (DI)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	LEAQ (R11)(AX*1), R12
	LEAQ (CX*8), R13         // side data: 8 bytes per block and token
	LEAQ (R8)(R13*1), R9
	LEAQ (R9)(R13*1), R14
	LEAQ (R14)(R13*1), BX
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU lgv5bit<>(SB), Y3
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
q50v4loop:
	TESTQ CX, CX
	JZ q50v4done
	LGVNIB(16)
	LGV5BITS(144)
	VCVTPH2PS (SI), Y6
	LGVQ50(DI, R8, Y8)
	LGVQ50(R10, R9, Y9)
	LGVQ50(R11, R14, Y10)
	LGVQ50(R12, BX, Y11)
	ADDQ $176, SI
	ADDQ $34, DI
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $34, R12
	ADDQ $8, R8
	ADDQ $8, R9
	ADDQ $8, R14
	ADDQ $8, BX
	DECQ CX
	JMP q50v4loop
q50v4done:
	MOVQ ostride+48(FP), BX
	VMOVUPS Y8, (DX)
	ADDQ BX, DX
	VMOVUPS Y9, (DX)
	ADDQ BX, DX
	VMOVUPS Y10, (DX)
	ADDQ BX, DX
	VMOVUPS Y11, (DX)
	VZEROUPPER
	RET

// func dotQ4_1x8VNNI(nb int, w *byte, ds *float32, a *byte, out *float32)
TEXT ·dotQ4_1x8VNNI(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ ds+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VXORPS Y0, Y0, Y0
q41vloop:
	TESTQ CX, CX
	JZ q41vdone
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	LGVNIB(32)
	VCVTPH2PS (SI), Y6
	VCVTPH2PS 16(SI), Y2
	LGVQ1(DI, R8, Y0)
	ADDQ $160, SI
	ADDQ $36, DI
	ADDQ $8, R8
	DECQ CX
	JMP q41vloop
q41vdone:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ4_1x8x4VNNI(nb int, w *byte, ds *float32, a *byte, astride int, out *float32, ostride int)
TEXT ·dotQ4_1x8x4VNNI(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ ds+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ astride+32(FP), AX
	MOVQ out+40(FP), DX
	LEAQ (DI)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	LEAQ (R11)(AX*1), R12
	LEAQ (CX*8), R13         // side data: 8 bytes per block and token
	LEAQ (R8)(R13*1), R9
	LEAQ (R9)(R13*1), R14
	LEAQ (R14)(R13*1), BX
	VMOVDQU ·nibmask(SB), Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
q41v4loop:
	TESTQ CX, CX
	JZ q41v4done
	LGVNIB(32)
	VCVTPH2PS (SI), Y6
	VCVTPH2PS 16(SI), Y2
	LGVQ1(DI, R8, Y8)
	LGVQ1(R10, R9, Y9)
	LGVQ1(R11, R14, Y10)
	LGVQ1(R12, BX, Y11)
	ADDQ $160, SI
	ADDQ $36, DI
	ADDQ $36, R10
	ADDQ $36, R11
	ADDQ $36, R12
	ADDQ $8, R8
	ADDQ $8, R9
	ADDQ $8, R14
	ADDQ $8, BX
	DECQ CX
	JMP q41v4loop
q41v4done:
	MOVQ ostride+48(FP), BX
	VMOVUPS Y8, (DX)
	ADDQ BX, DX
	VMOVUPS Y9, (DX)
	ADDQ BX, DX
	VMOVUPS Y10, (DX)
	ADDQ BX, DX
	VMOVUPS Y11, (DX)
	VZEROUPPER
	RET

// func dotQ5_1x8VNNI(nb int, w *byte, ds *float32, a *byte, out *float32)
TEXT ·dotQ5_1x8VNNI(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ ds+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU lgv5bit<>(SB), Y3
	VXORPS Y0, Y0, Y0
q51vloop:
	TESTQ CX, CX
	JZ q51vdone
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	LGVNIB(32)
	LGV5BITS(160)
	VCVTPH2PS (SI), Y6
	VCVTPH2PS 16(SI), Y2
	LGVQ1(DI, R8, Y0)
	ADDQ $192, SI
	ADDQ $36, DI
	ADDQ $8, R8
	DECQ CX
	JMP q51vloop
q51vdone:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ5_1x8x4VNNI(nb int, w *byte, ds *float32, a *byte, astride int, out *float32, ostride int)
TEXT ·dotQ5_1x8x4VNNI(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ ds+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ astride+32(FP), AX
	MOVQ out+40(FP), DX
	LEAQ (DI)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	LEAQ (R11)(AX*1), R12
	LEAQ (CX*8), R13         // side data: 8 bytes per block and token
	LEAQ (R8)(R13*1), R9
	LEAQ (R9)(R13*1), R14
	LEAQ (R14)(R13*1), BX
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU lgv5bit<>(SB), Y3
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
q51v4loop:
	TESTQ CX, CX
	JZ q51v4done
	LGVNIB(32)
	LGV5BITS(160)
	VCVTPH2PS (SI), Y6
	VCVTPH2PS 16(SI), Y2
	LGVQ1(DI, R8, Y8)
	LGVQ1(R10, R9, Y9)
	LGVQ1(R11, R14, Y10)
	LGVQ1(R12, BX, Y11)
	ADDQ $192, SI
	ADDQ $36, DI
	ADDQ $36, R10
	ADDQ $36, R11
	ADDQ $36, R12
	ADDQ $8, R8
	ADDQ $8, R9
	ADDQ $8, R14
	ADDQ $8, BX
	DECQ CX
	JMP q51v4loop
q51v4done:
	MOVQ ostride+48(FP), BX
	VMOVUPS Y8, (DX)
	ADDQ BX, DX
	VMOVUPS Y9, (DX)
	ADDQ BX, DX
	VMOVUPS Y10, (DX)
	ADDQ BX, DX
	VMOVUPS Y11, (DX)
	VZEROUPPER
	RET
