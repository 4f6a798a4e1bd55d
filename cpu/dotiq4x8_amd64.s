//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// IQ4_NL and IQ4_XS: their nibbles index a table of 16 int8 levels (VPSHUFB), then as
// for q8x8 |w| × a·sign(w), each VPMADDUBSW widened at once (pair sums reach 2·127²).
// IQ4_NL blocks are laid out as q4x8 (repackQ4_0x8Rows: the same 18-byte blocks); see
// repackIQ4XSx8Rows for iq4xsx8.

// The levels, tensor's kvaluesIQ4NL, in both lanes.
DATA iq4tab<>+0(SB)/8, $0xF6EADDCFBFAD9881
DATA iq4tab<>+8(SB)/8, $0x7159453526190D01
DATA iq4tab<>+16(SB)/8, $0xF6EADDCFBFAD9881
DATA iq4tab<>+24(SB)/8, $0x7159453526190D01
GLOBL iq4tab<>(SB), RODATA|NOPTR, $32

// IQ4VEC: the nibble vector at wm (eight rows × four bytes), low nibbles against the
// four activations at alo, high ones against those at ahi, into the int32 sums Y4.
// Y13 nibble mask, Y14 the table, Y15 ones16; clobbers Y5, Y6, Y8, Y9.
#define IQ4VEC(wm, alo, ahi) \
	VMOVDQU wm, Y8 \
	VPSRLW $4, Y8, Y9 \
	VPAND Y13, Y8, Y8 \
	VPAND Y13, Y9, Y9 \
	VPSHUFB Y8, Y14, Y8 \
	VPSHUFB Y9, Y14, Y9 \
	VBROADCASTSS alo, Y5 \
	VPSIGNB Y8, Y5, Y5 \
	VPABSB Y8, Y8 \
	VPMADDUBSW Y5, Y8, Y5 \
	VPMADDWD Y15, Y5, Y5 \
	VPADDD Y5, Y4, Y4 \
	VBROADCASTSS ahi, Y6 \
	VPSIGNB Y9, Y6, Y6 \
	VPABSB Y9, Y9 \
	VPMADDUBSW Y6, Y9, Y6 \
	VPMADDWD Y15, Y6, Y6 \
	VPADDD Y6, Y4, Y4

// func dotIQ4NLx8(nb int, w *byte, as *float32, a *byte, out *float32)
// One Q8_0 activation row against a group of eight IQ4_NL rows in the q4x8 layout:
// out[r] = Σ_b d_r·d_a·Σ level(q)·a.
TEXT ·dotIQ4NLx8(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ as+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y13
	VMOVDQU iq4tab<>(SB), Y14
	VMOVDQU ·ones16(SB), Y15
	VXORPS Y0, Y0, Y0
nlloop:
	TESTQ CX, CX
	JZ nldone
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	VPXOR Y4, Y4, Y4
	IQ4VEC(16(SI), 2(DI), 18(DI))
	IQ4VEC(48(SI), 6(DI), 22(DI))
	IQ4VEC(80(SI), 10(DI), 26(DI))
	IQ4VEC(112(SI), 14(DI), 30(DI))
	VCVTPH2PS (SI), Y7
	VCVTDQ2PS Y4, Y4
	VBROADCASTSS (R8), Y5
	VMULPS Y7, Y5, Y5
	VFMADD231PS Y4, Y5, Y0
	ADDQ $144, SI
	ADDQ $34, DI
	ADDQ $4, R8
	DECQ CX
	JMP nlloop
nldone:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotIQ4XSx8(nsb int, w *byte, a *byte, out *float32)
// One Q8_K activation row against a group of eight iq4xsx8 rows:
// out[r] = Σ_sb d_a·d_r·Σ_j s_rj·Σ level(q)·a.
TEXT ·dotIQ4XSx8(SB), NOSPLIT, $0-32
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ out+24(FP), DX
	VMOVDQU ·nibmask(SB), Y13
	VMOVDQU iq4tab<>(SB), Y14
	VMOVDQU ·ones16(SB), Y15
	VXORPS Y0, Y0, Y0
xssb:
	TESTQ CX, CX
	JZ xsdone
	LEAQ 32(SI), R12            // scales
	LEAQ 96(SI), R10            // nibbles
	LEAQ 4(DI), R11             // activation quants
	VPXOR Y10, Y10, Y10
	MOVQ $8, AX
xsj:
	PREFETCHT0 PFDIST(R10)
	PREFETCHT0 PFDIST+64(R10)
	VPXOR Y4, Y4, Y4
	IQ4VEC(0(R10), 0(R11), 16(R11))
	IQ4VEC(32(R10), 4(R11), 20(R11))
	IQ4VEC(64(R10), 8(R11), 24(R11))
	IQ4VEC(96(R10), 12(R11), 28(R11))
	VPMOVSXBD (R12), Y6
	VPMULLD Y6, Y4, Y4
	VPADDD Y4, Y10, Y10
	ADDQ $128, R10
	ADDQ $32, R11
	ADDQ $8, R12
	DECQ AX
	JNZ xsj
	VBROADCASTSS (DI), Y12
	VMULPS (SI), Y12, Y12
	VCVTDQ2PS Y10, Y10
	VFMADD231PS Y10, Y12, Y0
	ADDQ $1120, SI
	ADDQ $292, DI
	DECQ CX
	JMP xssb
xsdone:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET
