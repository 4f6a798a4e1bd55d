//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// Q4PAIR: blocks 2p and 2p+1 of a pair at qoff(R9). Y7 ones16, Y8 nibmask; a0/a1 the
// blocks' activation quants, c0/c1 their 8·Σa vectors (lane 0), s0/s1 the combined
// scales d_w·d_a already broadcast: Σ (q−8)·a = Σ q·a − 8 Σ a, exact in int32.
#define Q4PAIR(qoff, a0, a1, c0, c1, s0, s1, acc0, acc1) \
	VMOVDQU qoff(R9), Y2 \
	VPSRLW $4, Y2, Y3 \
	VPAND Y8, Y2, Y2 \
	VPAND Y8, Y3, Y3 \
	VPMADDUBSW a0(DI), Y2, Y2 \
	VPMADDUBSW a1(DI), Y3, Y3 \
	VPMADDWD Y7, Y2, Y2 \
	VPMADDWD Y7, Y3, Y3 \
	VPSUBD c0(R12), Y2, Y2 \
	VPSUBD c1(R12), Y3, Y3 \
	VCVTDQ2PS Y2, Y2 \
	VCVTDQ2PS Y3, Y3 \
	VFMADD231PS Y2, s0, acc0 \
	VFMADD231PS Y3, s1, acc1

// func dotQ4_0PAVX2(nb int, w *byte, as *float32, a *byte, a8 *int32) float32
// w: a repackQ4_0Pairs row (nb float32 scales, then the pairs); as: the activations'
// nb float32 scales; a: their Q8_0 blocks; a8: per block 8 int32, lane 0 = 8·Σ a.
TEXT ·dotQ4_0PAVX2(SB), NOSPLIT, $32-44
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ as+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ a8+32(FP), R12
	LEAQ (SI)(CX*4), R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VMOVDQU ·ones16(SB), Y7
	VMOVDQU ·nibmask(SB), Y8
q4p8:
	CMPQ CX, $8
	JLT q4ptail
	PREFETCHT0 PFDIST(R9)
	PREFETCHT0 PFDIST+64(R9)
	PREFETCHT0 PFDIST+128(R9)
	VMOVUPS (SI), Y10
	VMULPS (R8), Y10, Y10
	VMOVUPS Y10, 0(SP)           // the eight combined scales, broadcast one by one
	VBROADCASTSS 0(SP), Y12
	VBROADCASTSS 4(SP), Y13
	Q4PAIR(0, 2, 36, 0, 32, Y12, Y13, Y0, Y1)
	VBROADCASTSS 8(SP), Y12
	VBROADCASTSS 12(SP), Y13
	Q4PAIR(32, 70, 104, 64, 96, Y12, Y13, Y4, Y5)
	VBROADCASTSS 16(SP), Y12
	VBROADCASTSS 20(SP), Y13
	Q4PAIR(64, 138, 172, 128, 160, Y12, Y13, Y0, Y1)
	VBROADCASTSS 24(SP), Y12
	VBROADCASTSS 28(SP), Y13
	Q4PAIR(96, 206, 240, 192, 224, Y12, Y13, Y4, Y5)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $128, R9
	ADDQ $272, DI
	ADDQ $256, R12
	SUBQ $8, CX
	JMP q4p8
q4ptail:
	CMPQ CX, $2
	JLT q4pone
	VMOVSS (SI), X10
	VMULSS (R8), X10, X10
	VBROADCASTSS X10, Y12
	VMOVSS 4(SI), X10
	VMULSS 4(R8), X10, X10
	VBROADCASTSS X10, Y13
	Q4PAIR(0, 2, 36, 0, 32, Y12, Y13, Y0, Y1)
	ADDQ $8, SI
	ADDQ $8, R8
	ADDQ $32, R9
	ADDQ $68, DI
	ADDQ $64, R12
	SUBQ $2, CX
	JMP q4ptail
q4pone:
	TESTQ CX, CX
	JZ q4pdone
	VMOVSS (SI), X10
	VMULSS (R8), X10, X10
	VBROADCASTSS X10, Y12
	VPAND (R9), Y8, Y2
	VPMADDUBSW 2(DI), Y2, Y2
	VPMADDWD Y7, Y2, Y2
	VPSUBD (R12), Y2, Y2
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y2, Y12, Y0
q4pdone:
	VADDPS Y1, Y0, Y0
	VADDPS Y5, Y4, Y4
	VADDPS Y4, Y0, Y0
	HSUMSTORE(Y0, X0, X1, ret+40(FP))
	VZEROUPPER
	RET

// Y8/Y9: rows 0/1 as unsigned nibbles 0..15 in element order, Y10/Y11: their scales,
// Y15: eights. Σ (q-8)·a = Σ q·a − Σ 8·a, the second term shared by both rows.
#define Q4TILETOK(qa, sa, acc0, acc1) \
	VBROADCASTSS sa, Y13 \
	VPMADDUBSW qa, Y15, Y12 \
	VPMADDUBSW qa, Y8, Y14 \
	VPSUBW Y12, Y14, Y14 \
	VPMADDWD ·ones16(SB), Y14, Y14 \
	VCVTDQ2PS Y14, Y14 \
	VMULPS Y13, Y14, Y14 \
	VFMADD231PS Y14, Y10, acc0 \
	VPMADDUBSW qa, Y9, Y14 \
	VPSUBW Y12, Y14, Y14 \
	VPMADDWD ·ones16(SB), Y14, Y14 \
	VCVTDQ2PS Y14, Y14 \
	VMULPS Y13, Y14, Y14 \
	VFMADD231PS Y14, Y11, acc1

// Q4TILEBLK: one block (the low nibbles of the pairs in Y8/Y9 when shift is 0, the
// high ones when 4) at scale offset so and activation offset ao, for all four tokens.
#define Q4TILEBLK(so, ao) \
	VPAND ·nibmask(SB), Y8, Y8 \
	VPAND ·nibmask(SB), Y9, Y9 \
	VBROADCASTSS so(SI), Y10 \
	VBROADCASTSS so(SI)(BX*1), Y11 \
	Q4TILETOK(ao(DI), so(R8), Y0, Y4) \
	Q4TILETOK(ao(R10), so(R8)(R13*1), Y1, Y5) \
	Q4TILETOK(ao(R11), so(R14), Y2, Y6) \
	Q4TILETOK(ao(R12), so(R14)(R13*1), Y3, Y7)

// func dotQ4_0Tile2x4AVX2(nb int, w *byte, wstride int, as *float32, a *byte, astride int, out *float32)
// w: two repackQ4_0Pairs rows wstride bytes apart.
TEXT ·dotQ4_0Tile2x4AVX2(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ wstride+16(FP), BX
	MOVQ as+24(FP), R8
	MOVQ a+32(FP), DI
	MOVQ astride+40(FP), AX
	MOVQ out+48(FP), DX
	LEAQ (SI)(CX*4), R9      // row 0 quants follow its nb scales
	LEAQ (DI)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	LEAQ (R11)(AX*1), R12
	LEAQ (CX*4), R13         // activation scales: nb float32 per token
	LEAQ (R8)(R13*2), R14
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VMOVDQU ·eights(SB), Y15
q4tileloop:
	CMPQ CX, $2
	JLT q4tileone
	VMOVDQU (R9), Y8
	VMOVDQU (R9)(BX*1), Y9
	Q4TILEBLK(0, 2)
	VMOVDQU (R9), Y8
	VMOVDQU (R9)(BX*1), Y9
	VPSRLW $4, Y8, Y8
	VPSRLW $4, Y9, Y9
	Q4TILEBLK(4, 36)
	ADDQ $8, SI
	ADDQ $32, R9
	ADDQ $8, R8
	ADDQ $8, R14
	ADDQ $68, DI
	ADDQ $68, R10
	ADDQ $68, R11
	ADDQ $68, R12
	SUBQ $2, CX
	JMP q4tileloop
q4tileone:
	TESTQ CX, CX
	JZ q4tiledone
	VMOVDQU (R9), Y8
	VMOVDQU (R9)(BX*1), Y9
	Q4TILEBLK(0, 2)
q4tiledone:
	HSUMSTORE(Y0, X0, X14, 0(DX))
	HSUMSTORE(Y1, X1, X14, 4(DX))
	HSUMSTORE(Y2, X2, X14, 8(DX))
	HSUMSTORE(Y3, X3, X14, 12(DX))
	HSUMSTORE(Y4, X4, X14, 16(DX))
	HSUMSTORE(Y5, X5, X14, 20(DX))
	HSUMSTORE(Y6, X6, X14, 24(DX))
	HSUMSTORE(Y7, X7, X14, 28(DX))
	VZEROUPPER
	RET
