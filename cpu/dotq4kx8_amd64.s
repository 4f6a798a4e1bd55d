//go:build !noasm

#include "textflag.h"
#include "avx2.h"
// K8PF: prefetch distance of the one-token kernel, about three super-block groups ahead.
#define K8PF 4096

// The q4kx8 layout (repackQ4Kx8Rows): for each group of eight rows and each super-block,
//	  0: d[8] float32            32: dmin[8] float32
//	 64: scales, 8 bytes per sub-block j (row r at 8j+r)
//	128: mins, 16 bytes per sub-block pair p (row r's m_2p, m_2p+1 at 16p+2r)
//	192: 32 vectors of quants, vector 8jp+v holding bytes 32jp+4v..+3 of each row's qs
// Low nibbles of vector 8jp+v are elements 4v..4v+3 of sub-block 2jp of the eight
// rows, high nibbles those of sub-block 2jp+1: eight rows per VPMADDUBSW against four
// broadcast activation bytes, summed in int16 over a sub-block (8·2·15·127 < 2^15),
// then multiplied by the eight rows' scales in one VPMADDWD.

// K8VEC: vector qo(R10) against token ap's sub-blocks (a0, a1 offsets), into s0, s1.
#define K8VEC(qo, a0, a1, ap, s0, s1) \
	VBROADCASTSS a0(ap), Y6 \
	VPMADDUBSW Y6, Y4, Y6 \
	VPADDW Y6, s0, s0 \
	VBROADCASTSS a1(ap), Y6 \
	VPMADDUBSW Y6, Y5, Y6 \
	VPADDW Y6, s1, s1

// K8LOAD: vector qo(R10) unpacked into Y4 (low nibbles) and Y5 (high).
#define K8LOAD(qo) \
	VMOVDQU qo(R10), Y4 \
	VPSRLW $4, Y4, Y5 \
	VPAND Y7, Y4, Y4 \
	VPAND Y7, Y5, Y5

// K8SCALE: the eight rows' scales of sub-block so(R12) as int16 pairs (s, s) in Y12.
#define K8SCALE(so) \
	VPMOVZXBD so(R12), Y12 \
	VPSLLD $16, Y12, Y13 \
	VPOR Y13, Y12, Y12

// func dotQ4Kx8(nsb int, w *byte, a *byte, bs *int16, out *float32)
// One Q8_K activation row against a group of eight q4kx8 rows; bs holds per
// super-block the eight sub-block sums of the activations (int16):
//
//	out[r] = Σ_sb d_a·(d_r·Σ_j sc_rj·Σ q·a − dmin_r·Σ_j m_rj·bs_j)
TEXT ·dotQ4Kx8(SB), NOSPLIT, $0-40
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ bs+24(FP), BX
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VXORPS Y0, Y0, Y0
k8sb:
	TESTQ CX, CX
	JZ k8done
	PREFETCHT0 K8PF(SI)
	PREFETCHT0 K8PF+64(SI)
	PREFETCHT0 K8PF+128(SI)
	LEAQ 192(SI), R10
	LEAQ 4(DI), R11
	LEAQ 64(SI), R12
	VPXOR Y10, Y10, Y10          // Σ_j sc·Σ q·a per row
	MOVQ $4, AX
k8jp:
	PREFETCHT0 K8PF(R10)          // spread over the loop: a burst of them stalls loads
	PREFETCHT0 K8PF+64(R10)
	PREFETCHT0 K8PF+128(R10)
	PREFETCHT0 K8PF+192(R10)
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	K8LOAD(0)
	K8VEC(0, 0, 32, R11, Y2, Y3)
	K8LOAD(32)
	K8VEC(32, 4, 36, R11, Y2, Y3)
	K8LOAD(64)
	K8VEC(64, 8, 40, R11, Y2, Y3)
	K8LOAD(96)
	K8VEC(96, 12, 44, R11, Y2, Y3)
	K8LOAD(128)
	K8VEC(128, 16, 48, R11, Y2, Y3)
	K8LOAD(160)
	K8VEC(160, 20, 52, R11, Y2, Y3)
	K8LOAD(192)
	K8VEC(192, 24, 56, R11, Y2, Y3)
	K8LOAD(224)
	K8VEC(224, 28, 60, R11, Y2, Y3)
	K8SCALE(0)
	VPMADDWD Y12, Y2, Y2
	VPADDD Y2, Y10, Y10
	K8SCALE(8)
	VPMADDWD Y12, Y3, Y3
	VPADDD Y3, Y10, Y10
	ADDQ $256, R10
	ADDQ $64, R11
	ADDQ $16, R12
	DECQ AX
	JNZ k8jp
	KX8FINISH
	ADDQ $1216, SI
	ADDQ $292, DI
	ADDQ $16, BX
	DECQ CX
	JMP k8sb
k8done:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ4Kx8x2(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int)
// dotQ4Kx8 for two activation rows astride bytes apart (their bs 8·nsb int16
// apart), each weight vector unpacked once for both; token t's results at out +
// t·ostride bytes.
TEXT ·dotQ4Kx8x2(SB), NOSPLIT, $0-56
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ astride+24(FP), R8
	MOVQ bs+32(FP), BX
	MOVQ out+40(FP), DX
	LEAQ (CX*8), R9
	SHLQ $1, R9                  // bs stride in bytes: 8 int16 per super-block
	VMOVDQU ·nibmask(SB), Y7
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
k82sb:
	TESTQ CX, CX
	JZ k82done
	LEAQ 192(SI), R10
	LEAQ 4(DI), R11
	LEAQ 4(DI)(R8*1), R13
	LEAQ 64(SI), R12
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	MOVQ $4, AX
k82jp:
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	K8LOAD(0)
	K8VEC(0, 0, 32, R11, Y2, Y3)
	K8VEC(0, 0, 32, R13, Y8, Y9)
	K8LOAD(32)
	K8VEC(32, 4, 36, R11, Y2, Y3)
	K8VEC(32, 4, 36, R13, Y8, Y9)
	K8LOAD(64)
	K8VEC(64, 8, 40, R11, Y2, Y3)
	K8VEC(64, 8, 40, R13, Y8, Y9)
	K8LOAD(96)
	K8VEC(96, 12, 44, R11, Y2, Y3)
	K8VEC(96, 12, 44, R13, Y8, Y9)
	K8LOAD(128)
	K8VEC(128, 16, 48, R11, Y2, Y3)
	K8VEC(128, 16, 48, R13, Y8, Y9)
	K8LOAD(160)
	K8VEC(160, 20, 52, R11, Y2, Y3)
	K8VEC(160, 20, 52, R13, Y8, Y9)
	K8LOAD(192)
	K8VEC(192, 24, 56, R11, Y2, Y3)
	K8VEC(192, 24, 56, R13, Y8, Y9)
	K8LOAD(224)
	K8VEC(224, 28, 60, R11, Y2, Y3)
	K8VEC(224, 28, 60, R13, Y8, Y9)
	K8SCALE(0)
	VPMADDWD Y12, Y2, Y2
	VPADDD Y2, Y10, Y10
	VPMADDWD Y12, Y8, Y8
	VPADDD Y8, Y11, Y11
	K8SCALE(8)
	VPMADDWD Y12, Y3, Y3
	VPADDD Y3, Y10, Y10
	VPMADDWD Y12, Y9, Y9
	VPADDD Y9, Y11, Y11
	ADDQ $256, R10
	ADDQ $64, R11
	ADDQ $64, R13
	ADDQ $16, R12
	DECQ AX
	JNZ k82jp
	// mins for both tokens: the weights' (m, m) pairs in Y4..Y5, Y8..Y9
	VPMOVZXBW 128(SI), Y4
	VPMOVZXBW 144(SI), Y5
	VPMOVZXBW 160(SI), Y8
	VPMOVZXBW 176(SI), Y9
	VPBROADCASTD 0(BX), Y3
	VPMADDWD Y3, Y4, Y2
	VPBROADCASTD 4(BX), Y3
	VPMADDWD Y3, Y5, Y3
	VPADDD Y3, Y2, Y2
	VPBROADCASTD 8(BX), Y3
	VPMADDWD Y3, Y8, Y3
	VPADDD Y3, Y2, Y2
	VPBROADCASTD 12(BX), Y3
	VPMADDWD Y3, Y9, Y3
	VPADDD Y3, Y2, Y2            // token 0's Σ m·bs
	VPBROADCASTD 0(BX)(R9*1), Y3
	VPMADDWD Y3, Y4, Y6
	VPBROADCASTD 4(BX)(R9*1), Y3
	VPMADDWD Y3, Y5, Y3
	VPADDD Y3, Y6, Y6
	VPBROADCASTD 8(BX)(R9*1), Y3
	VPMADDWD Y3, Y8, Y3
	VPADDD Y3, Y6, Y6
	VPBROADCASTD 12(BX)(R9*1), Y3
	VPMADDWD Y3, Y9, Y3
	VPADDD Y3, Y6, Y6            // token 1's
	VCVTDQ2PS Y10, Y10
	VCVTDQ2PS Y2, Y2
	VBROADCASTSS (DI), Y12
	VMULPS (SI), Y12, Y13
	VFMADD231PS Y10, Y13, Y0
	VMULPS 32(SI), Y12, Y13
	VFNMADD231PS Y2, Y13, Y0
	VCVTDQ2PS Y11, Y11
	VCVTDQ2PS Y6, Y6
	VBROADCASTSS (DI)(R8*1), Y12
	VMULPS (SI), Y12, Y13
	VFMADD231PS Y11, Y13, Y1
	VMULPS 32(SI), Y12, Y13
	VFNMADD231PS Y6, Y13, Y1
	ADDQ $1216, SI
	ADDQ $292, DI
	ADDQ $16, BX
	DECQ CX
	JMP k82sb
k82done:
	MOVQ ostride+48(FP), AX
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, (DX)(AX*1)
	VZEROUPPER
	RET
