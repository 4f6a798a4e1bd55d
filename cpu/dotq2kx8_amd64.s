//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// The q2kx8 layout (repackQ2Kx8Rows): for each group of eight rows and each super-block,
//	   0: d[8] fp16, 16: dmin[8] fp16
//	  32: 8 bytes per 16-element group g, row r's scale | min<<4 at 32+8g+r
//	 160: per group g 32 bytes L_g = V0 | V1<<2 | V2<<4 | V3<<6
//	      (Vk: elements 16g+4k..+3 of rows 0..7, row r at bytes 4r..4r+3).
// Four VPMADDUBSW of a group sum to at most 4·2·3·128 in int16.

DATA q2m3<>+0(SB)/8, $0x0303030303030303
DATA q2m3<>+8(SB)/8, $0x0303030303030303
DATA q2m3<>+16(SB)/8, $0x0303030303030303
DATA q2m3<>+24(SB)/8, $0x0303030303030303
GLOBL q2m3<>(SB), RODATA|NOPTR, $32
DATA q2m15<>+0(SB)/8, $0x0000000f0000000f
DATA q2m15<>+8(SB)/8, $0x0000000f0000000f
DATA q2m15<>+16(SB)/8, $0x0000000f0000000f
DATA q2m15<>+24(SB)/8, $0x0000000f0000000f
GLOBL q2m15<>(SB), RODATA|NOPTR, $32

// func dotQ2Kx8(nsb int, w *byte, a *byte, c *int32, out *float32)
// One Q8_K activation row against a group of eight q2kx8 rows; c holds per super-block
// and group Σa over the group's 16 activations as an int32 (q8KGroupSums32):
//
//	out[r] = Σ_sb d_a·(d_r·Σ_g sc_rg·Σ q·a − dmin_r·Σ_g m_rg·Σa)
TEXT ·dotQ2Kx8(SB), NOSPLIT, $0-40
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ c+24(FP), BX
	MOVQ out+32(FP), DX
	VMOVDQU q2m3<>(SB), Y7
	VMOVDQU q2m15<>(SB), Y14
	VMOVDQU ·ones16(SB), Y15
	VXORPS Y0, Y0, Y0
q2sb:
	TESTQ CX, CX
	JZ q2done
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	LEAQ 160(SI), R10            // quants
	LEAQ 32(SI), R12             // scales and mins
	LEAQ 4(DI), R11              // activation quants
	MOVQ BX, R13                 // group sums
	VPXOR Y10, Y10, Y10          // Σ sc·Σ q·a
	VPXOR Y11, Y11, Y11          // Σ m·Σa
	MOVQ $16, AX
q2g:
	PREFETCHT0 PFDIST+192(R10)
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
	VPMOVZXBD (R12), Y6
	VPAND Y14, Y6, Y5         // scales
	VPSRLD $4, Y6, Y6          // mins
	VPMULLD Y5, Y2, Y2
	VPADDD Y2, Y10, Y10
	VBROADCASTSS (R13), Y5
	VPMULLD Y5, Y6, Y6
	VPADDD Y6, Y11, Y11
	ADDQ $32, R10
	ADDQ $16, R11
	ADDQ $8, R12
	ADDQ $4, R13
	DECQ AX
	JNZ q2g
	VBROADCASTSS (DI), Y12
	VCVTPH2PS (SI), Y2
	VCVTPH2PS 16(SI), Y3
	VMULPS Y2, Y12, Y2
	VMULPS Y3, Y12, Y3
	VCVTDQ2PS Y10, Y10
	VCVTDQ2PS Y11, Y11
	VFMADD231PS Y10, Y2, Y0
	VFNMADD231PS Y11, Y3, Y0
	ADDQ $672, SI
	ADDQ $292, DI
	ADDQ $64, BX
	DECQ CX
	JMP q2sb
q2done:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET
