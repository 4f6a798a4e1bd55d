//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// K6PF: prefetch distance, two to three super-block groups ahead.
#define K6PF 4096

// The q6kx8 layout (repackQ6Kx8Rows): for each group of eight rows and each super-block,
//	   0: d[8] float32
//	  32: scales, 16 bytes per 16-element group g, row r's scale at 16g+2r and 16g+2r+1
//	 288: per group g 96 bytes: L0, L1, H (32 bytes each) for the group's four vectors
//	      V0..V3 (Vk: elements 16g+4k..+3 of rows 0..7, row r at bytes 4r..4r+3):
//	      L0 = lo4(V0) | lo4(V1)<<4, L1 = lo4(V2) | lo4(V3)<<4,
//	      H = hi2(V0) | hi2(V1)<<2 | hi2(V2)<<4 | hi2(V3)<<6
// of the unsigned quants q+32 (0..63). A VPMADDUBSW pair sum is at most 2·63·127, so
// two of them still fit int16; the −32 offset comes off as 32·s·Σa per group.

DATA hibits<>+0(SB)/8, $0x3030303030303030
DATA hibits<>+8(SB)/8, $0x3030303030303030
DATA hibits<>+16(SB)/8, $0x3030303030303030
DATA hibits<>+24(SB)/8, $0x3030303030303030
GLOBL hibits<>(SB), RODATA|NOPTR, $32

// func dotQ6Kx8(nsb int, w *byte, a *byte, c *int16, out *float32)
// One Q8_K activation row against a group of eight q6kx8 rows; c holds per super-block
// and group the int16 pair (16·Σa, 16·Σa) over the group's 16 activations:
//
//	out[r] = Σ_sb d_a·d_r·Σ_g s_rg·(Σ q'·a − 32·Σa)
TEXT ·dotQ6Kx8(SB), NOSPLIT, $0-40
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ c+24(FP), BX
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU hibits<>(SB), Y14
	VXORPS Y0, Y0, Y0
q6sb:
	TESTQ CX, CX
	JZ q6done
	PREFETCHT0 K6PF(SI)          // d and scales; the quads' lines come in the loop
	PREFETCHT0 K6PF+64(SI)
	PREFETCHT0 K6PF+128(SI)
	PREFETCHT0 K6PF+192(SI)
	PREFETCHT0 K6PF+256(SI)
	LEAQ 288(SI), R10            // quads
	LEAQ 32(SI), R12             // scales
	LEAQ 4(DI), R11              // activation quants
	MOVQ BX, R13                 // corrections
	VPXOR Y10, Y10, Y10
	MOVQ $16, AX
q6g:
	PREFETCHT0 K6PF(R10)
	PREFETCHT0 K6PF+64(R10)
	VMOVDQU 64(R10), Y9          // H
	VMOVDQU (R10), Y8            // L0
	// V0 = lo4(L0) | (H<<4)&0x30, V1 = lo4(L0>>4) | (H<<2)&0x30
	VPAND Y7, Y8, Y4
	VPSLLW $4, Y9, Y6
	VPAND Y14, Y6, Y6
	VPOR Y6, Y4, Y4
	VPSRLW $4, Y8, Y5
	VPAND Y7, Y5, Y5
	VPSLLW $2, Y9, Y6
	VPAND Y14, Y6, Y6
	VPOR Y6, Y5, Y5
	VBROADCASTSS 0(R11), Y6
	VPMADDUBSW Y6, Y4, Y2
	VBROADCASTSS 4(R11), Y6
	VPMADDUBSW Y6, Y5, Y6
	VPADDW Y6, Y2, Y2
	// V2 = lo4(L1) | H&0x30, V3 = lo4(L1>>4) | (H>>2)&0x30
	VMOVDQU 32(R10), Y8          // L1
	VPAND Y7, Y8, Y4
	VPAND Y14, Y9, Y6
	VPOR Y6, Y4, Y4
	VPSRLW $4, Y8, Y5
	VPAND Y7, Y5, Y5
	VPSRLW $2, Y9, Y6
	VPAND Y14, Y6, Y6
	VPOR Y6, Y5, Y5
	VBROADCASTSS 8(R11), Y6
	VPMADDUBSW Y6, Y4, Y3
	VBROADCASTSS 12(R11), Y6
	VPMADDUBSW Y6, Y5, Y6
	VPADDW Y6, Y3, Y3
	// × the eight rows' scales, less 32·s·Σa
	VPMOVSXBW (R12), Y11
	VPMADDWD Y11, Y2, Y2
	VPMADDWD Y11, Y3, Y3
	VPADDD Y3, Y2, Y2
	VBROADCASTSS (R13), Y6
	VPMADDWD Y11, Y6, Y6
	VPSUBD Y6, Y2, Y2
	VPADDD Y2, Y10, Y10
	ADDQ $96, R10
	ADDQ $16, R12
	ADDQ $16, R11
	ADDQ $4, R13
	DECQ AX
	JNZ q6g
	VBROADCASTSS (DI), Y12
	VMULPS (SI), Y12, Y12
	VCVTDQ2PS Y10, Y10
	VFMADD231PS Y10, Y12, Y0
	ADDQ $1824, SI
	ADDQ $292, DI
	ADDQ $64, BX
	DECQ CX
	JMP q6sb
q6done:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ6Kx8x2(nsb int, w *byte, a *byte, astride int, c *int16, out *float32, ostride int)
// dotQ6Kx8 for two tokens (activations astride bytes apart, their c 32·nsb int16 apart):
// each group's four vectors are rebuilt once for both. Token 0 sums in Y2, Y3 (sumi
// Y10), token 1 in Y13, Y15 (sumi Y0); the float results accumulate in out itself, once
// per super-block, for want of registers.
TEXT ·dotQ6Kx8x2(SB), NOSPLIT, $0-56
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ astride+24(FP), R8
	MOVQ c+32(FP), BX
	MOVQ out+40(FP), DX
	MOVQ ostride+48(FP), R9
	MOVQ CX, R14
	SHLQ $6, R14                  // c stride in bytes: 32 int16 per super-block
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU hibits<>(SB), Y14
	VXORPS Y6, Y6, Y6
	VMOVUPS Y6, (DX)
	VMOVUPS Y6, (DX)(R9*1)
q62sb:
	TESTQ CX, CX
	JZ q62done
	LEAQ 288(SI), R10            // quads
	LEAQ 32(SI), R12             // scales
	LEAQ 4(DI), R11              // token 0's quants (token 1's R8 bytes on)
	MOVQ BX, R13                 // corrections
	VPXOR Y10, Y10, Y10
	VPXOR Y0, Y0, Y0
	MOVQ $16, AX
q62g:
	VMOVDQU 64(R10), Y9          // H
	VMOVDQU (R10), Y8           // L0
	VPAND Y7, Y8, Y1             // V0 = lo4(L0) | (H<<4)&0x30
	VPSLLW $4, Y9, Y6
	VPAND Y14, Y6, Y6
	VPOR Y6, Y1, Y1
	VPSRLW $4, Y8, Y4            // V1 = lo4(L0>>4) | (H<<2)&0x30
	VPAND Y7, Y4, Y4
	VPSLLW $2, Y9, Y6
	VPAND Y14, Y6, Y6
	VPOR Y6, Y4, Y4
	VMOVDQU 32(R10), Y8          // L1
	VPAND Y7, Y8, Y5             // V2 = lo4(L1) | H&0x30
	VPAND Y14, Y9, Y6
	VPOR Y6, Y5, Y5
	VPSRLW $4, Y8, Y12           // V3 = lo4(L1>>4) | (H>>2)&0x30
	VPAND Y7, Y12, Y12
	VPSRLW $2, Y9, Y6
	VPAND Y14, Y6, Y6
	VPOR Y6, Y12, Y12
	VBROADCASTSS 0(R11), Y6
	VPMADDUBSW Y6, Y1, Y2
	VBROADCASTSS 4(R11), Y6
	VPMADDUBSW Y6, Y4, Y6
	VPADDW Y6, Y2, Y2
	VBROADCASTSS 8(R11), Y6
	VPMADDUBSW Y6, Y5, Y3
	VBROADCASTSS 12(R11), Y6
	VPMADDUBSW Y6, Y12, Y6
	VPADDW Y6, Y3, Y3
	VBROADCASTSS 0(R11)(R8*1), Y6
	VPMADDUBSW Y6, Y1, Y13
	VBROADCASTSS 4(R11)(R8*1), Y6
	VPMADDUBSW Y6, Y4, Y6
	VPADDW Y6, Y13, Y13
	VBROADCASTSS 8(R11)(R8*1), Y6
	VPMADDUBSW Y6, Y5, Y15
	VBROADCASTSS 12(R11)(R8*1), Y6
	VPMADDUBSW Y6, Y12, Y6
	VPADDW Y6, Y15, Y15
	// × the eight rows' scales, less 32·s·Σa
	VPMOVSXBW (R12), Y11
	VPMADDWD Y11, Y2, Y2
	VPMADDWD Y11, Y3, Y3
	VPADDD Y3, Y2, Y2
	VBROADCASTSS (R13), Y6
	VPMADDWD Y11, Y6, Y6
	VPSUBD Y6, Y2, Y2
	VPADDD Y2, Y10, Y10
	VPMADDWD Y11, Y13, Y13
	VPMADDWD Y11, Y15, Y15
	VPADDD Y15, Y13, Y13
	VBROADCASTSS (R13)(R14*1), Y6
	VPMADDWD Y11, Y6, Y6
	VPSUBD Y6, Y13, Y13
	VPADDD Y13, Y0, Y0
	ADDQ $96, R10
	ADDQ $16, R12
	ADDQ $16, R11
	ADDQ $4, R13
	DECQ AX
	JNZ q62g
	VBROADCASTSS (DI), Y6
	VMULPS (SI), Y6, Y6
	VCVTDQ2PS Y10, Y10
	VMOVUPS (DX), Y8
	VFMADD231PS Y10, Y6, Y8
	VMOVUPS Y8, (DX)
	VBROADCASTSS (DI)(R8*1), Y6
	VMULPS (SI), Y6, Y6
	VCVTDQ2PS Y0, Y0
	VMOVUPS (DX)(R9*1), Y8
	VFMADD231PS Y0, Y6, Y8
	VMOVUPS Y8, (DX)(R9*1)
	ADDQ $1824, SI
	ADDQ $292, DI
	ADDQ $64, BX
	DECQ CX
	JMP q62sb
q62done:
	VZEROUPPER
	RET
