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

// wordbcast<>+32k: VPSHUFB mask that broadcasts 16-bit word k of each 128-bit lane.
DATA wordbcast<>+0(SB)/8, $0x0100010001000100
DATA wordbcast<>+8(SB)/8, $0x0100010001000100
DATA wordbcast<>+16(SB)/8, $0x0100010001000100
DATA wordbcast<>+24(SB)/8, $0x0100010001000100
DATA wordbcast<>+32(SB)/8, $0x0302030203020302
DATA wordbcast<>+40(SB)/8, $0x0302030203020302
DATA wordbcast<>+48(SB)/8, $0x0302030203020302
DATA wordbcast<>+56(SB)/8, $0x0302030203020302
DATA wordbcast<>+64(SB)/8, $0x0504050405040504
DATA wordbcast<>+72(SB)/8, $0x0504050405040504
DATA wordbcast<>+80(SB)/8, $0x0504050405040504
DATA wordbcast<>+88(SB)/8, $0x0504050405040504
DATA wordbcast<>+96(SB)/8, $0x0706070607060706
DATA wordbcast<>+104(SB)/8, $0x0706070607060706
DATA wordbcast<>+112(SB)/8, $0x0706070607060706
DATA wordbcast<>+120(SB)/8, $0x0706070607060706
DATA wordbcast<>+128(SB)/8, $0x0908090809080908
DATA wordbcast<>+136(SB)/8, $0x0908090809080908
DATA wordbcast<>+144(SB)/8, $0x0908090809080908
DATA wordbcast<>+152(SB)/8, $0x0908090809080908
DATA wordbcast<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA wordbcast<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA wordbcast<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA wordbcast<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA wordbcast<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA wordbcast<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA wordbcast<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA wordbcast<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA wordbcast<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA wordbcast<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA wordbcast<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA wordbcast<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL wordbcast<>(SB), RODATA|NOPTR, $256

// hsum8 adds the 8 floats of Y0 into X0's lowest lane.
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0

// func dotQ4KRAVX2(nb int, w, a *byte) float32
// w: repacked Q4_K super-blocks of 152 bytes: d f32, dmin f32, scales[8], mins[8], qs[128].
// a: Q8_K blocks of 292 bytes: d f32, qs[256] int8, bsums[16] int16.
#define Q4KSTEP(qoff, aoff, m0, m1) \
	VMOVDQU qoff(SI), Y2 \
	VPAND Y8, Y2, Y3 \
	VPSRLW $4, Y2, Y4 \
	VPAND Y8, Y4, Y4 \
	VPMADDUBSW aoff(DI), Y3, Y3 \
	VPMADDUBSW (aoff+32)(DI), Y4, Y4 \
	VPSHUFB m0(BX), Y15, Y11 \
	VPSHUFB m1(BX), Y15, Y12 \
	VPMADDWD Y11, Y3, Y3 \
	VPMADDWD Y12, Y4, Y4 \
	VPADDD Y3, Y10, Y10 \
	VPADDD Y4, Y10, Y10

TEXT ·dotQ4KRAVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	LEAQ wordbcast<>(SB), BX
	VXORPS Y0, Y0, Y0
	VMOVDQU ·nibmask(SB), Y8
q4kloop:
	TESTQ CX, CX
	JZ q4kdone
	VPXOR Y10, Y10, Y10          // int32 sums of sc*q*q8



	VPMOVZXBW 8(SI), X15         // 8 scales -> words, in both lanes
	VINSERTI128 $1, X15, Y15, Y15
	Q4KSTEP(24, 4, 0, 32)
	Q4KSTEP(56, 68, 64, 96)
	Q4KSTEP(88, 132, 128, 160)
	Q4KSTEP(120, 196, 192, 224)
	// mins: Σ m_j (bsums[2j] + bsums[2j+1])
	VPMOVZXBW 16(SI), X13        // 8 mins -> 8 words
	VPUNPCKLWD X13, X13, X14     // m0 m0 m1 m1 m2 m2 m3 m3
	VPUNPCKHWD X13, X13, X13     // m4 m4 ... m7 m7
	VINSERTI128 $1, X13, Y14, Y14
	VPMADDWD 260(DI), Y14, Y14   // 8 int32
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

// func dotQ4KR4AVX2(nb int, w, a *byte, astride int, out *float32)
// Four activation rows (a, a+astride, ...) against one repacked Q4_K row: the weights are
// unpacked once per super-block for all four.
TEXT ·dotQ4KR4AVX2(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ astride+24(FP), R8
	MOVQ out+32(FP), R9
	LEAQ (DI)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
q4k4loop:
	TESTQ CX, CX
	JZ q4k4done
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	XORQ DX, DX
q4k4inner:
	MOVQ DX, AX
	SHLQ $5, AX
	VMOVDQU 24(SI)(AX*1), Y9
	VPSRLW $4, Y9, Y10
	VMOVDQU ·nibmask(SB), Y8
	VPAND Y8, Y9, Y9             // low nibbles (sub-block 2j)
	VPAND Y8, Y10, Y10           // high nibbles (2j+1)
	MOVBLZX 8(SI)(DX*2), BX
	VMOVD BX, X11
	VPBROADCASTW X11, Y11
	MOVBLZX 9(SI)(DX*2), BX
	VMOVD BX, X12
	VPBROADCASTW X12, Y12
	SHLQ $1, AX                  // 64*j into q8
	// token 0
	VPMADDUBSW 4(DI)(AX*1), Y9, Y13
	VPMADDUBSW 36(DI)(AX*1), Y10, Y14
	VPMADDWD Y11, Y13, Y13
	VPMADDWD Y12, Y14, Y14
	VPADDD Y13, Y4, Y4
	VPADDD Y14, Y4, Y4
	// token 1
	VPMADDUBSW 4(R10)(AX*1), Y9, Y13
	VPMADDUBSW 36(R10)(AX*1), Y10, Y14
	VPMADDWD Y11, Y13, Y13
	VPMADDWD Y12, Y14, Y14
	VPADDD Y13, Y5, Y5
	VPADDD Y14, Y5, Y5
	// token 2
	VPMADDUBSW 4(R11)(AX*1), Y9, Y13
	VPMADDUBSW 36(R11)(AX*1), Y10, Y14
	VPMADDWD Y11, Y13, Y13
	VPMADDWD Y12, Y14, Y14
	VPADDD Y13, Y6, Y6
	VPADDD Y14, Y6, Y6
	// token 3
	VPMADDUBSW 4(R12)(AX*1), Y9, Y13
	VPMADDUBSW 36(R12)(AX*1), Y10, Y14
	VPMADDWD Y11, Y13, Y13
	VPMADDWD Y12, Y14, Y14
	VPADDD Y13, Y7, Y7
	VPADDD Y14, Y7, Y7
	INCQ DX
	CMPQ DX, $4
	JLT q4k4inner
	// mins, shared: m0 m0 m1 m1 ... m7 m7 as words
	VPMOVZXBW 16(SI), X13
	VPUNPCKLWD X13, X13, X14
	VPUNPCKHWD X13, X13, X15
	VINSERTI128 $1, X15, Y14, Y14
	VBROADCASTSS (SI), Y12       // d
	VBROADCASTSS 4(SI), Y11      // dmin
	// token 0: acc += da*(d*sumi - dmin*summ)
	VPMADDWD 260(DI), Y14, Y13
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y13, Y13
	VMULPS Y12, Y4, Y4
	VFNMADD231PS Y13, Y11, Y4
	VBROADCASTSS (DI), Y15
	VFMADD231PS Y4, Y15, Y0
	// token 1
	VPMADDWD 260(R10), Y14, Y13
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y13, Y13
	VMULPS Y12, Y5, Y5
	VFNMADD231PS Y13, Y11, Y5
	VBROADCASTSS (R10), Y15
	VFMADD231PS Y5, Y15, Y1
	// token 2
	VPMADDWD 260(R11), Y14, Y13
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y13, Y13
	VMULPS Y12, Y6, Y6
	VFNMADD231PS Y13, Y11, Y6
	VBROADCASTSS (R11), Y15
	VFMADD231PS Y6, Y15, Y2
	// token 3
	VPMADDWD 260(R12), Y14, Y13
	VCVTDQ2PS Y7, Y7
	VCVTDQ2PS Y13, Y13
	VMULPS Y12, Y7, Y7
	VFNMADD231PS Y13, Y11, Y7
	VBROADCASTSS (R12), Y15
	VFMADD231PS Y7, Y15, Y3
	ADDQ $152, SI
	ADDQ $292, DI
	ADDQ $292, R10
	ADDQ $292, R11
	ADDQ $292, R12
	DECQ CX
	JMP q4k4loop
q4k4done:
	// reduce each accumulator
	VEXTRACTF128 $1, Y0, X4
	VADDPS X4, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (R9)
	VEXTRACTF128 $1, Y1, X4
	VADDPS X4, X1, X1
	VHADDPS X1, X1, X1
	VHADDPS X1, X1, X1
	VMOVSS X1, 4(R9)
	VEXTRACTF128 $1, Y2, X4
	VADDPS X4, X2, X2
	VHADDPS X2, X2, X2
	VHADDPS X2, X2, X2
	VMOVSS X2, 8(R9)
	VEXTRACTF128 $1, Y3, X4
	VADDPS X4, X3, X3
	VHADDPS X3, X3, X3
	VHADDPS X3, X3, X3
	VMOVSS X3, 12(R9)
	VZEROUPPER
	RET

// One token of a 4-token Q8_0/Q4_0 block: acc += (dw*da) * Σ w*a, with Y8 = w (int8),
// Y9 = |w|, Y7 = ones(int16), X11 = dw.
#define Q8TOK(aptr, acc) \
	MOVWLZX (aptr), AX \
	VMOVD AX, X10 \
	VCVTPH2PS X10, X10 \
	VMULSS X11, X10, X10 \
	VBROADCASTSS X10, Y10 \
	VMOVDQU 2(aptr), Y12 \
	VPSIGNB Y8, Y12, Y12 \
	VPMADDUBSW Y12, Y9, Y12 \
	VPMADDWD Y7, Y12, Y12 \
	VCVTDQ2PS Y12, Y12 \
	VFMADD231PS Y12, Y10, acc

// Repacked Q4_0 / Q8_0 rows ("split" layout): nb float32 scales, then the quants —
// Q4_0: 16 bytes per block (low nibbles = elements 0..15, high = 16..31);
// Q8_0: 32 int8 per block. as: the activation blocks' scales as float32, a: the Q8_0
// activation blocks (34 bytes: their own fp16 scale is not read).

