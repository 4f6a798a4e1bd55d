//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// Constants: 0x0F bytes, 1 words.
DATA ·nibmask+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·nibmask+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·nibmask+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·nibmask+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL ·nibmask(SB), RODATA|NOPTR, $32

DATA ·ones16+0(SB)/8, $0x0001000100010001
DATA ·ones16+8(SB)/8, $0x0001000100010001
DATA ·ones16+16(SB)/8, $0x0001000100010001
DATA ·ones16+24(SB)/8, $0x0001000100010001
GLOBL ·ones16(SB), RODATA|NOPTR, $32

// hsum8 adds the 8 floats of Y0 into X0's lowest lane.
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0

// func dotQ6KRAVX2(nb int, w, a *byte) float32
// w: repacked Q6_K super-blocks of 276 bytes: d f32, scales[16] int8, q[256] (0..63).
TEXT ·dotQ6KRAVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VXORPS Y0, Y0, Y0
q6kloop:
	TESTQ CX, CX
	JZ q6kdone
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	PREFETCHT0 PFDIST+192(SI)
	PREFETCHT0 PFDIST+256(SI)
	VPXOR Y10, Y10, Y10
	XORQ DX, DX                  // chunk 0..7 of 32 elements (groups 2k, 2k+1)
q6kinner:
	MOVQ DX, AX
	SHLQ $5, AX
	VMOVDQU 20(SI)(AX*1), Y2     // q
	VMOVDQU 4(DI)(AX*1), Y5      // q8
	VPMADDUBSW Y5, Y2, Y3
	MOVBQSX 4(SI)(DX*2), BX
	VMOVD BX, X11
	VPBROADCASTW X11, X11
	MOVBQSX 5(SI)(DX*2), BX
	VMOVD BX, X12
	VPBROADCASTW X12, X12
	VINSERTI128 $1, X12, Y11, Y11
	VPMADDWD Y11, Y3, Y3
	VPADDD Y3, Y10, Y10
	INCQ DX
	CMPQ DX, $8
	JLT q6kinner
	// subtract 32 Σ_g s_g bsum_g
	VPMOVSXBW 4(SI), Y13         // 16 scales -> words
	VMOVDQU 260(DI), Y5
	VPMADDWD Y5, Y13, Y13
	VPSLLD $5, Y13, Y13
	VPSUBD Y13, Y10, Y10
	VMOVSS (DI), X1
	VMULSS (SI), X1, X2
	VBROADCASTSS X2, Y2
	VCVTDQ2PS Y10, Y10
	VFMADD231PS Y10, Y2, Y0
	ADDQ $276, SI
	ADDQ $292, DI
	DECQ CX
	JMP q6kloop
q6kdone:
	HSUM8
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET
