//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// One token's 32 elements of chunk AX against the unpacked q (Y8) and the chunk's two
// group scales as words (Y9), added to the token's int32 accumulator.
#define Q6R4TOK(qa, iacc) \
	VMOVDQU 4(qa)(AX*1), Y10 \
	VPMADDUBSW Y10, Y8, Y10 \
	VPMADDWD Y9, Y10, Y10 \
	VPADDD Y10, iacc, iacc

// Subtract 32 Σ_g s_g bsum_g (Y9: the 16 scales as words), then scale and accumulate.
#define Q6R4FIN(qa, iacc, facc) \
	VMOVDQU 260(qa), Y10 \
	VPMADDWD Y10, Y9, Y10 \
	VPSLLD $5, Y10, Y10 \
	VPSUBD Y10, iacc, iacc \
	VMOVSS (qa), X11 \
	VMULSS (SI), X11, X11 \
	VBROADCASTSS X11, Y11 \
	VCVTDQ2PS iacc, iacc \
	VFMADD231PS iacc, Y11, facc

// func dotQ6KR4AVX2(nb int, w, a *byte, astride int, out *float32)
TEXT ·dotQ6KR4AVX2(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ astride+24(FP), R8
	LEAQ (DI)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
q6r4loop:
	TESTQ CX, CX
	JZ q6r4done
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	XORQ DX, DX                  // chunk 0..7 of 32 elements (groups 2k, 2k+1)
q6r4inner:
	MOVQ DX, AX
	SHLQ $5, AX
	VMOVDQU 20(SI)(AX*1), Y8     // q in 0..63
	MOVBQSX 4(SI)(DX*2), BX
	VMOVD BX, X9
	VPBROADCASTW X9, X9
	MOVBQSX 5(SI)(DX*2), BX
	VMOVD BX, X11
	VPBROADCASTW X11, X11
	VINSERTI128 $1, X11, Y9, Y9
	Q6R4TOK(DI, Y4)
	Q6R4TOK(R10, Y5)
	Q6R4TOK(R11, Y6)
	Q6R4TOK(R12, Y7)
	INCQ DX
	CMPQ DX, $8
	JLT q6r4inner
	VPMOVSXBW 4(SI), Y9          // 16 scales -> words
	Q6R4FIN(DI, Y4, Y0)
	Q6R4FIN(R10, Y5, Y1)
	Q6R4FIN(R11, Y6, Y2)
	Q6R4FIN(R12, Y7, Y3)
	ADDQ $276, SI
	ADDQ $292, DI
	ADDQ $292, R10
	ADDQ $292, R11
	ADDQ $292, R12
	DECQ CX
	JMP q6r4loop
q6r4done:
	MOVQ out+32(FP), R9
	HSUMSTORE(Y0, X0, X12, 0(R9))
	HSUMSTORE(Y1, X1, X12, 4(R9))
	HSUMSTORE(Y2, X2, X12, 8(R9))
	HSUMSTORE(Y3, X3, X12, 12(R9))
	VZEROUPPER
	RET
