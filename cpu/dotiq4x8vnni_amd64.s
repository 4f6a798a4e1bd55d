//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// avx512vnni kernels of IQ4_NL (q4x8 layout: repackQ4_0x8Rows) and IQ4_XS (iq4xsx8:
// repackIQ4XSx8Rows). Nibble vector v holds bytes 4v..4v+3 of rows 0..7, its low
// nibbles elements 4v..4v+3, its high ones 16+4v..; looked up in the table of levels
// +128 (VPSHUFB), they are VPDPBUSD's unsigned operand against four broadcast activation
// bytes, and 128·Σa comes off.

// The levels of tensor's kvaluesIQ4NL, +128 (XOR 0x80), in both lanes.
DATA iq4utab<>+0(SB)/8, $0x766a5d4f3f2d1801
DATA iq4utab<>+8(SB)/8, $0xf1d9c5b5a6998d81
DATA iq4utab<>+16(SB)/8, $0x766a5d4f3f2d1801
DATA iq4utab<>+24(SB)/8, $0xf1d9c5b5a6998d81
GLOBL iq4utab<>(SB), RODATA|NOPTR, $32

// IQ4VLOOK(off): the four nibble vectors at off(SI) as levels+128 into Y16..Y19 (low
// nibbles) and Y20..Y23 (high). Y7: 0x0F bytes, Y15: the table.
#define IQ4VLOOK(off) \
	VMOVDQU64 (off+0)(SI), Y16 \
	VPSRLW $4, Y16, Y20 \
	VPANDD Y7, Y16, Y16 \
	VPANDD Y7, Y20, Y20 \
	VPSHUFB Y16, Y15, Y16 \
	VPSHUFB Y20, Y15, Y20 \
	VMOVDQU64 (off+32)(SI), Y17 \
	VPSRLW $4, Y17, Y21 \
	VPANDD Y7, Y17, Y17 \
	VPANDD Y7, Y21, Y21 \
	VPSHUFB Y17, Y15, Y17 \
	VPSHUFB Y21, Y15, Y21 \
	VMOVDQU64 (off+64)(SI), Y18 \
	VPSRLW $4, Y18, Y22 \
	VPANDD Y7, Y18, Y18 \
	VPANDD Y7, Y22, Y22 \
	VPSHUFB Y18, Y15, Y18 \
	VPSHUFB Y22, Y15, Y22 \
	VMOVDQU64 (off+96)(SI), Y19 \
	VPSRLW $4, Y19, Y23 \
	VPANDD Y7, Y19, Y19 \
	VPANDD Y7, Y23, Y23 \
	VPSHUFB Y19, Y15, Y19 \
	VPSHUFB Y23, Y15, Y23

// IQ4VSUM(ap, aq): a token's 32 activations at aq(ap) against Y16..Y23, the int32 sums
// per row in Y4 (two chains; clobbers Y5).
#define IQ4VSUM(ap, aq) \
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

// NLVTOK(ap, sp, acc): an IQ4_NL token's block (Q8_0 at ap; sp: its d, then 8·Σa) with
// the rows' d in Y6, into acc.
#define NLVTOK(ap, sp, acc) \
	IQ4VSUM(ap, 2) \
	VPBROADCASTD 4(sp), Y5 \
	VPSLLD $4, Y5, Y5 \
	VPSUBD Y5, Y4, Y4 \
	VCVTDQ2PS Y4, Y4 \
	VMULPS.BCST (sp), Y6, Y5 \
	VFMADD231PS Y4, Y5, acc

// XSVTOK(ap, cp, j, isum): an IQ4_XS token's sub-block j (Q8_K block at ap, −128·Σa at
// j·4(cp)) times the rows' scales in Y12, into isum.
#define XSVTOK(ap, cp, j, isum) \
	IQ4VSUM(ap, 4+32*j) \
	VPADDD.BCST (4*j)(cp), Y4, Y4 \
	VPMULLD Y12, Y4, Y4 \
	VPADDD Y4, isum, isum

// XSVFIN: acc += d_a·d·isum for the token whose Q8_K block is at ap.
#define XSVFIN(ap, isum, acc) \
	VCVTDQ2PS isum, isum \
	VBROADCASTSS (ap), Y5 \
	VMULPS (SI), Y5, Y5 \
	VFMADD231PS isum, Y5, acc

// func dotIQ4NLx8VNNI(nb int, w *byte, sa *float32, a *byte, out *float32)
TEXT ·dotIQ4NLx8VNNI(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ sa+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU iq4utab<>(SB), Y15
	VXORPS Y0, Y0, Y0
nlvloop:
	TESTQ CX, CX
	JZ nlvdone
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	IQ4VLOOK(16)
	VCVTPH2PS (SI), Y6
	NLVTOK(DI, R8, Y0)
	ADDQ $144, SI
	ADDQ $34, DI
	ADDQ $8, R8
	DECQ CX
	JMP nlvloop
nlvdone:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotIQ4NLx8x4VNNI(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int)
TEXT ·dotIQ4NLx8x4VNNI(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ sa+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ astride+32(FP), AX
	MOVQ out+40(FP), DX
	LEAQ (DI)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	LEAQ (R11)(AX*1), R12
	LEAQ (CX*8), R13         // sa: 8 bytes per block and token
	LEAQ (R8)(R13*1), R9
	LEAQ (R9)(R13*1), R14
	LEAQ (R14)(R13*1), BX
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU iq4utab<>(SB), Y15
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
nlv4loop:
	TESTQ CX, CX
	JZ nlv4done
	IQ4VLOOK(16)
	VCVTPH2PS (SI), Y6
	NLVTOK(DI, R8, Y8)
	NLVTOK(R10, R9, Y9)
	NLVTOK(R11, R14, Y10)
	NLVTOK(R12, BX, Y11)
	ADDQ $144, SI
	ADDQ $34, DI
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $34, R12
	ADDQ $8, R8
	ADDQ $8, R9
	ADDQ $8, R14
	ADDQ $8, BX
	DECQ CX
	JMP nlv4loop
nlv4done:
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

// func dotIQ4XSx8VNNI(nsb int, w *byte, a *byte, c *int32, out *float32)
TEXT ·dotIQ4XSx8VNNI(SB), NOSPLIT, $0-40
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ c+24(FP), BX
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU iq4utab<>(SB), Y15
	VXORPS Y0, Y0, Y0
xsvsb:
	TESTQ CX, CX
	JZ xsvdone
	VPXOR Y8, Y8, Y8
	PREFETCHT0 (PFDIST+0)(SI)
	PREFETCHT0 (PFDIST+64)(SI)
	PREFETCHT0 (PFDIST+128)(SI)
	IQ4VLOOK(96)
	VPMOVSXBD 32(SI), Y12
	XSVTOK(DI, BX, 0, Y8)
	PREFETCHT0 (PFDIST+140)(SI)
	PREFETCHT0 (PFDIST+204)(SI)
	PREFETCHT0 (PFDIST+268)(SI)
	IQ4VLOOK(224)
	VPMOVSXBD 40(SI), Y12
	XSVTOK(DI, BX, 1, Y8)
	PREFETCHT0 (PFDIST+280)(SI)
	PREFETCHT0 (PFDIST+344)(SI)
	PREFETCHT0 (PFDIST+408)(SI)
	IQ4VLOOK(352)
	VPMOVSXBD 48(SI), Y12
	XSVTOK(DI, BX, 2, Y8)
	PREFETCHT0 (PFDIST+420)(SI)
	PREFETCHT0 (PFDIST+484)(SI)
	PREFETCHT0 (PFDIST+548)(SI)
	IQ4VLOOK(480)
	VPMOVSXBD 56(SI), Y12
	XSVTOK(DI, BX, 3, Y8)
	PREFETCHT0 (PFDIST+560)(SI)
	PREFETCHT0 (PFDIST+624)(SI)
	PREFETCHT0 (PFDIST+688)(SI)
	IQ4VLOOK(608)
	VPMOVSXBD 64(SI), Y12
	XSVTOK(DI, BX, 4, Y8)
	PREFETCHT0 (PFDIST+700)(SI)
	PREFETCHT0 (PFDIST+764)(SI)
	PREFETCHT0 (PFDIST+828)(SI)
	IQ4VLOOK(736)
	VPMOVSXBD 72(SI), Y12
	XSVTOK(DI, BX, 5, Y8)
	PREFETCHT0 (PFDIST+840)(SI)
	PREFETCHT0 (PFDIST+904)(SI)
	PREFETCHT0 (PFDIST+968)(SI)
	IQ4VLOOK(864)
	VPMOVSXBD 80(SI), Y12
	XSVTOK(DI, BX, 6, Y8)
	PREFETCHT0 (PFDIST+980)(SI)
	PREFETCHT0 (PFDIST+1044)(SI)
	PREFETCHT0 (PFDIST+1108)(SI)
	IQ4VLOOK(992)
	VPMOVSXBD 88(SI), Y12
	XSVTOK(DI, BX, 7, Y8)
	XSVFIN(DI, Y8, Y0)
	ADDQ $1120, SI
	ADDQ $292, DI
	ADDQ $32, BX
	DECQ CX
	JMP xsvsb
xsvdone:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotIQ4XSx8x4VNNI(nsb int, w *byte, a *byte, astride int, c *int32, out *float32, ostride int)
TEXT ·dotIQ4XSx8x4VNNI(SB), NOSPLIT, $0-56
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ astride+24(FP), AX
	MOVQ c+32(FP), BX
	MOVQ out+40(FP), DX
	LEAQ (DI)(AX*1), R11
	LEAQ (R11)(AX*1), R13
	LEAQ (R13)(AX*1), R14
	MOVQ CX, R12
	SHLQ $5, R12                 // c stride in bytes: 8 int32 per super-block
	LEAQ (BX)(R12*1), R8
	LEAQ (R8)(R12*1), R9
	LEAQ (R9)(R12*1), R10
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU iq4utab<>(SB), Y15
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
xsv4sb:
	TESTQ CX, CX
	JZ xsv4done
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	IQ4VLOOK(96)
	VPMOVSXBD 32(SI), Y12
	XSVTOK(DI, BX, 0, Y8)
	XSVTOK(R11, R8, 0, Y9)
	XSVTOK(R13, R9, 0, Y10)
	XSVTOK(R14, R10, 0, Y11)
	IQ4VLOOK(224)
	VPMOVSXBD 40(SI), Y12
	XSVTOK(DI, BX, 1, Y8)
	XSVTOK(R11, R8, 1, Y9)
	XSVTOK(R13, R9, 1, Y10)
	XSVTOK(R14, R10, 1, Y11)
	IQ4VLOOK(352)
	VPMOVSXBD 48(SI), Y12
	XSVTOK(DI, BX, 2, Y8)
	XSVTOK(R11, R8, 2, Y9)
	XSVTOK(R13, R9, 2, Y10)
	XSVTOK(R14, R10, 2, Y11)
	IQ4VLOOK(480)
	VPMOVSXBD 56(SI), Y12
	XSVTOK(DI, BX, 3, Y8)
	XSVTOK(R11, R8, 3, Y9)
	XSVTOK(R13, R9, 3, Y10)
	XSVTOK(R14, R10, 3, Y11)
	IQ4VLOOK(608)
	VPMOVSXBD 64(SI), Y12
	XSVTOK(DI, BX, 4, Y8)
	XSVTOK(R11, R8, 4, Y9)
	XSVTOK(R13, R9, 4, Y10)
	XSVTOK(R14, R10, 4, Y11)
	IQ4VLOOK(736)
	VPMOVSXBD 72(SI), Y12
	XSVTOK(DI, BX, 5, Y8)
	XSVTOK(R11, R8, 5, Y9)
	XSVTOK(R13, R9, 5, Y10)
	XSVTOK(R14, R10, 5, Y11)
	IQ4VLOOK(864)
	VPMOVSXBD 80(SI), Y12
	XSVTOK(DI, BX, 6, Y8)
	XSVTOK(R11, R8, 6, Y9)
	XSVTOK(R13, R9, 6, Y10)
	XSVTOK(R14, R10, 6, Y11)
	IQ4VLOOK(992)
	VPMOVSXBD 88(SI), Y12
	XSVTOK(DI, BX, 7, Y8)
	XSVTOK(R11, R8, 7, Y9)
	XSVTOK(R13, R9, 7, Y10)
	XSVTOK(R14, R10, 7, Y11)
	XSVFIN(DI, Y8, Y0)
	XSVFIN(R11, Y9, Y1)
	XSVFIN(R13, Y10, Y2)
	XSVFIN(R14, Y11, Y3)
	ADDQ $1120, SI
	ADDQ $292, DI
	ADDQ $292, R11
	ADDQ $292, R13
	ADDQ $292, R14
	ADDQ $32, BX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	DECQ CX
	JMP xsv4sb
xsv4done:
	MOVQ ostride+48(FP), AX
	VMOVUPS Y0, (DX)
	ADDQ AX, DX
	VMOVUPS Y1, (DX)
	ADDQ AX, DX
	VMOVUPS Y2, (DX)
	ADDQ AX, DX
	VMOVUPS Y3, (DX)
	VZEROUPPER
	RET
