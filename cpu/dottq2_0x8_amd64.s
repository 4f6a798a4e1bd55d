//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// The tq2x8 layout (repackTQ2x8Rows): for each group of eight rows and each super-block,
//	   0: d[8] fp16
//	  16: per group g 32 bytes L_g = V0 | V1<<2 | V2<<4 | V3<<6 of the codes c = q + 1
//	      (Vk: elements 16g+4k..+3 of rows 0..7, row r at bytes 4r..4r+3).
// Four VPMADDUBSW of a group sum to at most 4·2·3·128 in int16 (a code 3 cannot come
// from the quantizer, but a file may hold one).

DATA tq2m3<>+0(SB)/8, $0x0303030303030303
DATA tq2m3<>+8(SB)/8, $0x0303030303030303
DATA tq2m3<>+16(SB)/8, $0x0303030303030303
DATA tq2m3<>+24(SB)/8, $0x0303030303030303
GLOBL tq2m3<>(SB), RODATA|NOPTR, $32

// func dotTQ2x8(nsb int, w *byte, a *byte, c *int32, out *float32)
// One Q8_K activation row against a group of eight tq2x8 rows; c holds each
// super-block's Σa:
//
//	out[r] = Σ_sb d_a·d_r·(Σ c·a − Σa)
TEXT ·dotTQ2x8(SB), NOSPLIT, $0-40
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ c+24(FP), BX
	MOVQ out+32(FP), DX
	VMOVDQU tq2m3<>(SB), Y7
	VMOVDQU ·ones16(SB), Y15
	VXORPS Y0, Y0, Y0
tq2sb:
	TESTQ CX, CX
	JZ tq2done
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	LEAQ 16(SI), R10             // codes
	LEAQ 4(DI), R11              // activation quants
	VPXOR Y10, Y10, Y10          // Σ c·a per row
	MOVQ $16, AX
tq2g:
	PREFETCHT0 PFDIST+128(R10)
	VMOVDQU (R10), Y8
	VPAND Y7, Y8, Y4
	VBROADCASTSS 0(R11), Y6
	VPMADDUBSW Y6, Y4, Y2
	VPSRLW $2, Y8, Y4
	VPAND Y7, Y4, Y4
	VBROADCASTSS 4(R11), Y6
	VPMADDUBSW Y6, Y4, Y4
	VPADDW Y4, Y2, Y2
	VPSRLW $4, Y8, Y4
	VPAND Y7, Y4, Y4
	VBROADCASTSS 8(R11), Y6
	VPMADDUBSW Y6, Y4, Y4
	VPADDW Y4, Y2, Y2
	VPSRLW $6, Y8, Y4
	VPAND Y7, Y4, Y4
	VBROADCASTSS 12(R11), Y6
	VPMADDUBSW Y6, Y4, Y4
	VPADDW Y4, Y2, Y2
	VPMADDWD Y15, Y2, Y2
	VPADDD Y2, Y10, Y10
	ADDQ $32, R10
	ADDQ $16, R11
	DECQ AX
	JNZ tq2g
	VPBROADCASTD (BX), Y5
	VPSUBD Y5, Y10, Y10
	VBROADCASTSS (DI), Y12
	VCVTPH2PS (SI), Y2
	VMULPS Y2, Y12, Y2
	VCVTDQ2PS Y10, Y10
	VFMADD231PS Y10, Y2, Y0
	ADDQ $528, SI
	ADDQ $292, DI
	ADDQ $4, BX
	DECQ CX
	JMP tq2sb
tq2done:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET
