//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// The q5kx8 layout (repackQ5Kx8Rows): q4kx8's 1216 bytes per group of eight rows and
// super-block (d, dmin, scales, mins, the low four bits as 32 vectors), then 8 vectors
// of the fifth bits: vector v holds qh[4v..4v+3] of rows 0..7 (row r at bytes 4r..),
// bit j of a byte being the fifth bit of that element in sub-block j. A VPMADDUBSW pair
// sum is at most 2·31·127, so a sub-block is summed in int16 as two halves of four.

DATA bit4<>+0(SB)/8, $0x1010101010101010
DATA bit4<>+8(SB)/8, $0x1010101010101010
DATA bit4<>+16(SB)/8, $0x1010101010101010
DATA bit4<>+24(SB)/8, $0x1010101010101010
GLOBL bit4<>(SB), RODATA|NOPTR, $32

// K5PF: prefetch distance, about three super-block groups ahead, spread over the
// super-block (a burst of prefetches at its head stalled the loads: BenchmarkMatVec
// Q5_K t1 +34%, t2 +25%).
#define K5PF 4096

// K5BITSjp: vector v of sub-block pair jp (low bits at qo(SI), fifth bits at ho(SI))
// as 5-bit values in Y4 (sub-block 2jp) and Y5 (2jp+1): the fifth bit of sub-block j
// is shifted to bit 4, by 4−j places. Clobbers Y11, Y15.
#define K5BITS0(qo, ho) \
	VMOVDQU qo(SI), Y4 \
	VMOVDQU ho(SI), Y11 \
	VPSRLW $4, Y4, Y5 \
	VPAND Y7, Y4, Y4 \
	VPAND Y7, Y5, Y5 \
	VPSLLW $4, Y11, Y15 \
	VPAND Y14, Y15, Y15 \
	VPOR Y15, Y4, Y4 \
	VPSLLW $3, Y11, Y15 \
	VPAND Y14, Y15, Y15 \
	VPOR Y15, Y5, Y5
#define K5BITS1(qo, ho) \
	VMOVDQU qo(SI), Y4 \
	VMOVDQU ho(SI), Y11 \
	VPSRLW $4, Y4, Y5 \
	VPAND Y7, Y4, Y4 \
	VPAND Y7, Y5, Y5 \
	VPSLLW $2, Y11, Y15 \
	VPAND Y14, Y15, Y15 \
	VPOR Y15, Y4, Y4 \
	VPSLLW $1, Y11, Y15 \
	VPAND Y14, Y15, Y15 \
	VPOR Y15, Y5, Y5
#define K5BITS2(qo, ho) \
	VMOVDQU qo(SI), Y4 \
	VMOVDQU ho(SI), Y11 \
	VPSRLW $4, Y4, Y5 \
	VPAND Y7, Y4, Y4 \
	VPAND Y7, Y5, Y5 \
	VPAND Y14, Y11, Y15 \
	VPOR Y15, Y4, Y4 \
	VPSRLW $1, Y11, Y15 \
	VPAND Y14, Y15, Y15 \
	VPOR Y15, Y5, Y5
#define K5BITS3(qo, ho) \
	VMOVDQU qo(SI), Y4 \
	VMOVDQU ho(SI), Y11 \
	VPSRLW $4, Y4, Y5 \
	VPAND Y7, Y4, Y4 \
	VPAND Y7, Y5, Y5 \
	VPSRLW $2, Y11, Y15 \
	VPAND Y14, Y15, Y15 \
	VPOR Y15, Y4, Y4 \
	VPSRLW $3, Y11, Y15 \
	VPAND Y14, Y15, Y15 \
	VPOR Y15, Y5, Y5

// K5DOT / K5DOT1: Y4, Y5 against token 0's (token 1's, R8 bytes on) activations at
// a0/a1(R11), into the int16 sums slo (sub-block 2jp) and shi (2jp+1). Clobbers Y6.
#define K5DOT(a0, a1, slo, shi) \
	VBROADCASTSS a0(R11), Y6 \
	VPMADDUBSW Y6, Y4, Y6 \
	VPADDW Y6, slo, slo \
	VBROADCASTSS a1(R11), Y6 \
	VPMADDUBSW Y6, Y5, Y6 \
	VPADDW Y6, shi, shi

#define K5DOT1(a0, a1, slo, shi) \
	VBROADCASTSS a0(R11)(R8*1), Y6 \
	VPMADDUBSW Y6, Y4, Y6 \
	VPADDW Y6, slo, slo \
	VBROADCASTSS a1(R11)(R8*1), Y6 \
	VPMADDUBSW Y6, Y5, Y6 \
	VPADDW Y6, shi, shi

#define K5VEC0(qo, ho, a0, a1, slo, shi) \
	K5BITS0(qo, ho) \
	K5DOT(a0, a1, slo, shi)

#define K5VEC1(qo, ho, a0, a1, slo, shi) \
	K5BITS1(qo, ho) \
	K5DOT(a0, a1, slo, shi)

#define K5VEC2(qo, ho, a0, a1, slo, shi) \
	K5BITS2(qo, ho) \
	K5DOT(a0, a1, slo, shi)

#define K5VEC3(qo, ho, a0, a1, slo, shi) \
	K5BITS3(qo, ho) \
	K5DOT(a0, a1, slo, shi)

// K5SCALE: the int16 halves s1, s2 of sub-block so's sums times the rows' scales, into Y10.
#define K5SCALE(so, s1, s2) \
	VPMOVZXBD so(SI), Y12 \
	VPSLLD $16, Y12, Y13 \
	VPOR Y13, Y12, Y12 \
	VPMADDWD Y12, s1, s1 \
	VPMADDWD Y12, s2, s2 \
	VPADDD s1, Y10, Y10 \
	VPADDD s2, Y10, Y10

// K5SCALE2: the rows' scales of sub-block so times token 0's int16 sums t0 (into Y10)
// and token 1's t1 (into Y1).
#define K5SCALE2(so, t0, t1) \
	VPMOVZXBD so(SI), Y12 \
	VPSLLD $16, Y12, Y13 \
	VPOR Y13, Y12, Y12 \
	VPMADDWD Y12, t0, t0 \
	VPADDD t0, Y10, Y10 \
	VPMADDWD Y12, t1, t1 \
	VPADDD t1, Y1, Y1

// func dotQ5Kx8(nsb int, w *byte, a *byte, bs *int16, out *float32)
// As dotQ4Kx8 for q5kx8 rows: out[r] = Σ_sb d_a·(d_r·Σ_j sc_rj·Σ q·a − dmin_r·Σ_j m_rj·bs_j).
TEXT ·dotQ5Kx8(SB), NOSPLIT, $0-40
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ bs+24(FP), BX
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU bit4<>(SB), Y14
	VXORPS Y0, Y0, Y0
k5sb:
	TESTQ CX, CX
	JZ k5done
	LEAQ 4(DI), R11
	VPXOR Y10, Y10, Y10
	PREFETCHT0 K5PF+0(SI)
	PREFETCHT0 K5PF+64(SI)
	PREFETCHT0 K5PF+128(SI)
	PREFETCHT0 K5PF+192(SI)
	PREFETCHT0 K5PF+256(SI)
	PREFETCHT0 K5PF+320(SI)
	// sub-blocks 0 and 1: Y2/Y3 the halves of 0, Y8/Y9 those of 1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	K5VEC0(192, 1216, 0, 32, Y2, Y8)
	K5VEC0(224, 1248, 4, 36, Y2, Y8)
	K5VEC0(256, 1280, 8, 40, Y2, Y8)
	K5VEC0(288, 1312, 12, 44, Y2, Y8)
	K5VEC0(320, 1344, 16, 48, Y3, Y9)
	K5VEC0(352, 1376, 20, 52, Y3, Y9)
	K5VEC0(384, 1408, 24, 56, Y3, Y9)
	K5VEC0(416, 1440, 28, 60, Y3, Y9)
	K5SCALE(64, Y2, Y3)
	K5SCALE(72, Y8, Y9)
	PREFETCHT0 K5PF+384(SI)
	PREFETCHT0 K5PF+448(SI)
	PREFETCHT0 K5PF+512(SI)
	PREFETCHT0 K5PF+576(SI)
	PREFETCHT0 K5PF+640(SI)
	PREFETCHT0 K5PF+704(SI)
	// sub-blocks 2 and 3: Y2/Y3 the halves of 2, Y8/Y9 those of 3
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	K5VEC1(448, 1216, 64, 96, Y2, Y8)
	K5VEC1(480, 1248, 68, 100, Y2, Y8)
	K5VEC1(512, 1280, 72, 104, Y2, Y8)
	K5VEC1(544, 1312, 76, 108, Y2, Y8)
	K5VEC1(576, 1344, 80, 112, Y3, Y9)
	K5VEC1(608, 1376, 84, 116, Y3, Y9)
	K5VEC1(640, 1408, 88, 120, Y3, Y9)
	K5VEC1(672, 1440, 92, 124, Y3, Y9)
	K5SCALE(80, Y2, Y3)
	K5SCALE(88, Y8, Y9)
	PREFETCHT0 K5PF+768(SI)
	PREFETCHT0 K5PF+832(SI)
	PREFETCHT0 K5PF+896(SI)
	PREFETCHT0 K5PF+960(SI)
	PREFETCHT0 K5PF+1024(SI)
	PREFETCHT0 K5PF+1088(SI)
	// sub-blocks 4 and 5: Y2/Y3 the halves of 4, Y8/Y9 those of 5
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	K5VEC2(704, 1216, 128, 160, Y2, Y8)
	K5VEC2(736, 1248, 132, 164, Y2, Y8)
	K5VEC2(768, 1280, 136, 168, Y2, Y8)
	K5VEC2(800, 1312, 140, 172, Y2, Y8)
	K5VEC2(832, 1344, 144, 176, Y3, Y9)
	K5VEC2(864, 1376, 148, 180, Y3, Y9)
	K5VEC2(896, 1408, 152, 184, Y3, Y9)
	K5VEC2(928, 1440, 156, 188, Y3, Y9)
	K5SCALE(96, Y2, Y3)
	K5SCALE(104, Y8, Y9)
	PREFETCHT0 K5PF+1152(SI)
	PREFETCHT0 K5PF+1216(SI)
	PREFETCHT0 K5PF+1280(SI)
	PREFETCHT0 K5PF+1344(SI)
	PREFETCHT0 K5PF+1408(SI)
	PREFETCHT0 K5PF+1472(SI)
	// sub-blocks 6 and 7: Y2/Y3 the halves of 6, Y8/Y9 those of 7
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	K5VEC3(960, 1216, 192, 224, Y2, Y8)
	K5VEC3(992, 1248, 196, 228, Y2, Y8)
	K5VEC3(1024, 1280, 200, 232, Y2, Y8)
	K5VEC3(1056, 1312, 204, 236, Y2, Y8)
	K5VEC3(1088, 1344, 208, 240, Y3, Y9)
	K5VEC3(1120, 1376, 212, 244, Y3, Y9)
	K5VEC3(1152, 1408, 216, 248, Y3, Y9)
	K5VEC3(1184, 1440, 220, 252, Y3, Y9)
	K5SCALE(112, Y2, Y3)
	K5SCALE(120, Y8, Y9)
	KX8FINISH
	ADDQ $1472, SI
	ADDQ $292, DI
	ADDQ $16, BX
	DECQ CX
	JMP k5sb
k5done:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ5Kx8x2(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int)
// dotQ5Kx8 for two tokens (activations astride bytes apart, their bs 8·nsb int16 apart):
// each vector's 5-bit values are built once for both. Per half of a sub-block pair,
// token 0 sums in Y2 (sub-block 2jp), Y8 (2jp+1), token 1 in Y3, Y9; sumi Y10 and Y1;
// the float results accumulate in out itself, once per super-block (KX8FINISH).
TEXT ·dotQ5Kx8x2(SB), NOSPLIT, $0-56
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ astride+24(FP), R8
	MOVQ bs+32(FP), BX
	MOVQ out+40(FP), DX
	MOVQ ostride+48(FP), R12
	MOVQ CX, R9
	SHLQ $4, R9                   // bs stride in bytes: 8 int16 per super-block
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU bit4<>(SB), Y14
	VXORPS Y0, Y0, Y0
	VMOVUPS Y0, (DX)
	VMOVUPS Y0, (DX)(R12*1)
k52sb:
	TESTQ CX, CX
	JZ k52done
	LEAQ 4(DI), R11              // token 0's quants (token 1's R8 bytes on)
	VPXOR Y10, Y10, Y10
	VPXOR Y1, Y1, Y1
	// sub-blocks 0 and 1, vectors 0..3
	VPXOR Y2, Y2, Y2
	VPXOR Y8, Y8, Y8
	VPXOR Y3, Y3, Y3
	VPXOR Y9, Y9, Y9
	K5BITS0(192, 1216)
	K5DOT(0, 32, Y2, Y8)
	K5DOT1(0, 32, Y3, Y9)
	K5BITS0(224, 1248)
	K5DOT(4, 36, Y2, Y8)
	K5DOT1(4, 36, Y3, Y9)
	K5BITS0(256, 1280)
	K5DOT(8, 40, Y2, Y8)
	K5DOT1(8, 40, Y3, Y9)
	K5BITS0(288, 1312)
	K5DOT(12, 44, Y2, Y8)
	K5DOT1(12, 44, Y3, Y9)
	K5SCALE2(64, Y2, Y3)
	K5SCALE2(72, Y8, Y9)
	// sub-blocks 0 and 1, vectors 4..7
	VPXOR Y2, Y2, Y2
	VPXOR Y8, Y8, Y8
	VPXOR Y3, Y3, Y3
	VPXOR Y9, Y9, Y9
	K5BITS0(320, 1344)
	K5DOT(16, 48, Y2, Y8)
	K5DOT1(16, 48, Y3, Y9)
	K5BITS0(352, 1376)
	K5DOT(20, 52, Y2, Y8)
	K5DOT1(20, 52, Y3, Y9)
	K5BITS0(384, 1408)
	K5DOT(24, 56, Y2, Y8)
	K5DOT1(24, 56, Y3, Y9)
	K5BITS0(416, 1440)
	K5DOT(28, 60, Y2, Y8)
	K5DOT1(28, 60, Y3, Y9)
	K5SCALE2(64, Y2, Y3)
	K5SCALE2(72, Y8, Y9)
	// sub-blocks 2 and 3, vectors 0..3
	VPXOR Y2, Y2, Y2
	VPXOR Y8, Y8, Y8
	VPXOR Y3, Y3, Y3
	VPXOR Y9, Y9, Y9
	K5BITS1(448, 1216)
	K5DOT(64, 96, Y2, Y8)
	K5DOT1(64, 96, Y3, Y9)
	K5BITS1(480, 1248)
	K5DOT(68, 100, Y2, Y8)
	K5DOT1(68, 100, Y3, Y9)
	K5BITS1(512, 1280)
	K5DOT(72, 104, Y2, Y8)
	K5DOT1(72, 104, Y3, Y9)
	K5BITS1(544, 1312)
	K5DOT(76, 108, Y2, Y8)
	K5DOT1(76, 108, Y3, Y9)
	K5SCALE2(80, Y2, Y3)
	K5SCALE2(88, Y8, Y9)
	// sub-blocks 2 and 3, vectors 4..7
	VPXOR Y2, Y2, Y2
	VPXOR Y8, Y8, Y8
	VPXOR Y3, Y3, Y3
	VPXOR Y9, Y9, Y9
	K5BITS1(576, 1344)
	K5DOT(80, 112, Y2, Y8)
	K5DOT1(80, 112, Y3, Y9)
	K5BITS1(608, 1376)
	K5DOT(84, 116, Y2, Y8)
	K5DOT1(84, 116, Y3, Y9)
	K5BITS1(640, 1408)
	K5DOT(88, 120, Y2, Y8)
	K5DOT1(88, 120, Y3, Y9)
	K5BITS1(672, 1440)
	K5DOT(92, 124, Y2, Y8)
	K5DOT1(92, 124, Y3, Y9)
	K5SCALE2(80, Y2, Y3)
	K5SCALE2(88, Y8, Y9)
	// sub-blocks 4 and 5, vectors 0..3
	VPXOR Y2, Y2, Y2
	VPXOR Y8, Y8, Y8
	VPXOR Y3, Y3, Y3
	VPXOR Y9, Y9, Y9
	K5BITS2(704, 1216)
	K5DOT(128, 160, Y2, Y8)
	K5DOT1(128, 160, Y3, Y9)
	K5BITS2(736, 1248)
	K5DOT(132, 164, Y2, Y8)
	K5DOT1(132, 164, Y3, Y9)
	K5BITS2(768, 1280)
	K5DOT(136, 168, Y2, Y8)
	K5DOT1(136, 168, Y3, Y9)
	K5BITS2(800, 1312)
	K5DOT(140, 172, Y2, Y8)
	K5DOT1(140, 172, Y3, Y9)
	K5SCALE2(96, Y2, Y3)
	K5SCALE2(104, Y8, Y9)
	// sub-blocks 4 and 5, vectors 4..7
	VPXOR Y2, Y2, Y2
	VPXOR Y8, Y8, Y8
	VPXOR Y3, Y3, Y3
	VPXOR Y9, Y9, Y9
	K5BITS2(832, 1344)
	K5DOT(144, 176, Y2, Y8)
	K5DOT1(144, 176, Y3, Y9)
	K5BITS2(864, 1376)
	K5DOT(148, 180, Y2, Y8)
	K5DOT1(148, 180, Y3, Y9)
	K5BITS2(896, 1408)
	K5DOT(152, 184, Y2, Y8)
	K5DOT1(152, 184, Y3, Y9)
	K5BITS2(928, 1440)
	K5DOT(156, 188, Y2, Y8)
	K5DOT1(156, 188, Y3, Y9)
	K5SCALE2(96, Y2, Y3)
	K5SCALE2(104, Y8, Y9)
	// sub-blocks 6 and 7, vectors 0..3
	VPXOR Y2, Y2, Y2
	VPXOR Y8, Y8, Y8
	VPXOR Y3, Y3, Y3
	VPXOR Y9, Y9, Y9
	K5BITS3(960, 1216)
	K5DOT(192, 224, Y2, Y8)
	K5DOT1(192, 224, Y3, Y9)
	K5BITS3(992, 1248)
	K5DOT(196, 228, Y2, Y8)
	K5DOT1(196, 228, Y3, Y9)
	K5BITS3(1024, 1280)
	K5DOT(200, 232, Y2, Y8)
	K5DOT1(200, 232, Y3, Y9)
	K5BITS3(1056, 1312)
	K5DOT(204, 236, Y2, Y8)
	K5DOT1(204, 236, Y3, Y9)
	K5SCALE2(112, Y2, Y3)
	K5SCALE2(120, Y8, Y9)
	// sub-blocks 6 and 7, vectors 4..7
	VPXOR Y2, Y2, Y2
	VPXOR Y8, Y8, Y8
	VPXOR Y3, Y3, Y3
	VPXOR Y9, Y9, Y9
	K5BITS3(1088, 1344)
	K5DOT(208, 240, Y2, Y8)
	K5DOT1(208, 240, Y3, Y9)
	K5BITS3(1120, 1376)
	K5DOT(212, 244, Y2, Y8)
	K5DOT1(212, 244, Y3, Y9)
	K5BITS3(1152, 1408)
	K5DOT(216, 248, Y2, Y8)
	K5DOT1(216, 248, Y3, Y9)
	K5BITS3(1184, 1440)
	K5DOT(220, 252, Y2, Y8)
	K5DOT1(220, 252, Y3, Y9)
	K5SCALE2(112, Y2, Y3)
	K5SCALE2(120, Y8, Y9)
	VMOVUPS (DX), Y0
	KX8FINISH
	VMOVUPS Y0, (DX)
	VMOVDQU Y1, Y10
	ADDQ R8, DI
	ADDQ R9, BX
	VMOVUPS (DX)(R12*1), Y0
	KX8FINISH
	VMOVUPS Y0, (DX)(R12*1)
	SUBQ R8, DI
	SUBQ R9, BX
	ADDQ $1472, SI
	ADDQ $292, DI
	ADDQ $16, BX
	DECQ CX
	JMP k52sb
k52done:
	VZEROUPPER
	RET
