//go:build !noasm

#include "textflag.h"

// Constants: 0x0F bytes, 8 bytes, 1 words.
DATA nibmask<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibmask<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibmask<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibmask<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nibmask<>(SB), RODATA|NOPTR, $32

DATA eights<>+0(SB)/8, $0x0808080808080808
DATA eights<>+8(SB)/8, $0x0808080808080808
DATA eights<>+16(SB)/8, $0x0808080808080808
DATA eights<>+24(SB)/8, $0x0808080808080808
GLOBL eights<>(SB), RODATA|NOPTR, $32

DATA ones16<>+0(SB)/8, $0x0001000100010001
DATA ones16<>+8(SB)/8, $0x0001000100010001
DATA ones16<>+16(SB)/8, $0x0001000100010001
DATA ones16<>+24(SB)/8, $0x0001000100010001
GLOBL ones16<>(SB), RODATA|NOPTR, $32

// hsum8 adds the 8 floats of Y0 into X0's lowest lane.
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0

// func dotQ8_0AVX2(nb int, w, a *byte) float32
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VXORPS Y0, Y0, Y0
	VMOVDQU ones16<>(SB), Y7
q8loop:
	TESTQ CX, CX
	JZ q8done
	MOVWLZX (SI), AX
	MOVWLZX (DI), BX
	VMOVD AX, X1
	VMOVD BX, X2
	VCVTPH2PS X1, X1
	VCVTPH2PS X2, X2
	VMULSS X2, X1, X1
	VBROADCASTSS X1, Y1
	VMOVDQU 2(SI), Y2
	VMOVDQU 2(DI), Y3
	VPSIGNB Y2, Y2, Y4
	VPSIGNB Y2, Y3, Y5
	VPMADDUBSW Y5, Y4, Y6
	VPMADDWD Y7, Y6, Y6
	VCVTDQ2PS Y6, Y6
	VFMADD231PS Y6, Y1, Y0
	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JMP q8loop
q8done:
	HSUM8
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotQ4_0AVX2(nb int, w, a *byte) float32
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VXORPS Y0, Y0, Y0
	VMOVDQU ones16<>(SB), Y7
	VMOVDQU nibmask<>(SB), Y8
	VMOVDQU eights<>(SB), Y9
q4loop:
	TESTQ CX, CX
	JZ q4done
	MOVWLZX (SI), AX
	MOVWLZX (DI), BX
	VMOVD AX, X1
	VMOVD BX, X2
	VCVTPH2PS X1, X1
	VCVTPH2PS X2, X2
	VMULSS X2, X1, X1
	VBROADCASTSS X1, Y1
	VMOVDQU 2(SI), X2
	VPSRLW $4, X2, X3
	VINSERTI128 $1, X3, Y2, Y2
	VPAND Y8, Y2, Y2
	VPSUBB Y9, Y2, Y2
	VMOVDQU 2(DI), Y3
	VPSIGNB Y2, Y2, Y4
	VPSIGNB Y2, Y3, Y5
	VPMADDUBSW Y5, Y4, Y6
	VPMADDWD Y7, Y6, Y6
	VCVTDQ2PS Y6, Y6
	VFMADD231PS Y6, Y1, Y0
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JMP q4loop
q4done:
	HSUM8
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotQ4KRAVX2(nb int, w, a *byte) float32
// w: repacked Q4_K super-blocks of 152 bytes: d f32, dmin f32, scales[8], mins[8], qs[128].
// a: Q8_K blocks of 292 bytes: d f32, qs[256] int8, bsums[16] int16.
TEXT ·dotQ4KRAVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VXORPS Y0, Y0, Y0
	VMOVDQU nibmask<>(SB), Y8
q4kloop:
	TESTQ CX, CX
	JZ q4kdone
	VPXOR Y10, Y10, Y10          // int32 sums of sc*q*q8
	XORQ DX, DX                  // j: 0..3 (64 elements each)
q4kinner:
	MOVQ DX, AX
	SHLQ $5, AX                  // 32*j: offset into qs
	VMOVDQU 24(SI)(AX*1), Y2
	VPAND Y8, Y2, Y3             // low nibbles: sub-block 2j
	VPSRLW $4, Y2, Y4
	VPAND Y8, Y4, Y4             // high nibbles: sub-block 2j+1
	SHLQ $1, AX                  // 64*j: offset into q8
	VMOVDQU 4(DI)(AX*1), Y5
	VMOVDQU 36(DI)(AX*1), Y6
	VPMADDUBSW Y5, Y3, Y3
	VPMADDUBSW Y6, Y4, Y4
	MOVBLZX 8(SI)(DX*2), BX      // scale of sub-block 2j
	VMOVD BX, X11
	VPBROADCASTW X11, Y11
	MOVBLZX 9(SI)(DX*2), BX      // scale of sub-block 2j+1
	VMOVD BX, X12
	VPBROADCASTW X12, Y12
	VPMADDWD Y11, Y3, Y3
	VPMADDWD Y12, Y4, Y4
	VPADDD Y3, Y10, Y10
	VPADDD Y4, Y10, Y10
	INCQ DX
	CMPQ DX, $4
	JLT q4kinner
	// mins: Σ m_j (bsums[2j] + bsums[2j+1])
	VPMOVZXBW 16(SI), X13        // 8 mins -> 8 words
	VPUNPCKLWD X13, X13, X14     // m0 m0 m1 m1 m2 m2 m3 m3
	VPUNPCKHWD X13, X13, X15     // m4 m4 ... m7 m7
	VINSERTI128 $1, X15, Y14, Y14
	VMOVDQU 260(DI), Y5          // bsums
	VPMADDWD Y5, Y14, Y14        // 8 int32
	VMOVSS (DI), X1              // d of the activations
	VMULSS (SI), X1, X2          // d
	VMULSS 4(SI), X1, X3         // dmin
	VBROADCASTSS X2, Y2
	VBROADCASTSS X3, Y3
	VCVTDQ2PS Y10, Y10
	VCVTDQ2PS Y14, Y14
	VFMADD231PS Y10, Y2, Y0
	VFNMADD231PS Y14, Y3, Y0
	ADDQ $152, SI
	ADDQ $292, DI
	DECQ CX
	JMP q4kloop
q4kdone:
	HSUM8
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

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
