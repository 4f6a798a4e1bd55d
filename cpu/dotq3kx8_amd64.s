//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// The q3kx8 layout (repackQ3Kx8Rows): for each group of eight rows and each super-block,
//	   0: d[8] float32
//	  32: scales, 8 bytes per 16-element group g, row r's (signed) scale at 32+8g+r
//	 160: per pair of groups p 96 bytes: L_2p, L_2p+1, H_p (32 bytes each) with
//	      L_g = lo2(V0) | lo2(V1)<<2 | lo2(V2)<<4 | lo2(V3)<<6 and
//	      H_p = hb(V0(2p)) | hb(V1(2p))<<1 | ... | hb(V0(2p+1))<<4 | ... | hb(V3(2p+1))<<7
//	      (Vk(g): elements 16g+4k..+3 of rows 0..7, row r at bytes 4r..4r+3)
// of the unsigned quants q+4 (0..7). Four VPMADDUBSW of a group sum to at most
// 4·2·7·128 in int16; the +4 comes off as 4·Σa per group (the side data c).

DATA q3m3<>+0(SB)/8, $0x0303030303030303
DATA q3m3<>+8(SB)/8, $0x0303030303030303
DATA q3m3<>+16(SB)/8, $0x0303030303030303
DATA q3m3<>+24(SB)/8, $0x0303030303030303
GLOBL q3m3<>(SB), RODATA|NOPTR, $32
DATA q3m4<>+0(SB)/8, $0x0404040404040404
DATA q3m4<>+8(SB)/8, $0x0404040404040404
DATA q3m4<>+16(SB)/8, $0x0404040404040404
DATA q3m4<>+24(SB)/8, $0x0404040404040404
GLOBL q3m4<>(SB), RODATA|NOPTR, $32

// func dotQ3Kx8(nsb int, w *byte, a *byte, c *int32, out *float32)
// One Q8_K activation row against a group of eight q3kx8 rows; c holds per super-block
// and group 4·Σa over the group's 16 activations as an int32 (q8KGroupSums32):
//
//	out[r] = Σ_sb d_a·d_r·Σ_g s_rg·(Σ u·a − 4·Σa)
TEXT ·dotQ3Kx8(SB), NOSPLIT, $0-40
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ c+24(FP), BX
	MOVQ out+32(FP), DX
	VMOVDQU q3m3<>(SB), Y7
	VMOVDQU q3m4<>(SB), Y14
	VMOVDQU ·ones16(SB), Y15
	VXORPS Y0, Y0, Y0
q3sb:
	TESTQ CX, CX
	JZ q3done
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	LEAQ 160(SI), R10            // pairs
	LEAQ 32(SI), R12             // scales
	LEAQ 4(DI), R11              // activation quants
	MOVQ BX, R13                 // corrections
	VPXOR Y10, Y10, Y10
	MOVQ $8, AX
q3p:
	PREFETCHT0 PFDIST+192(R10)
	PREFETCHT0 PFDIST+256(R10)
	VMOVDQU 64(R10), Y9          // H_p
	VMOVDQU 0(R10), Y8          // L_{2p+0}
	VPAND Y7, Y8, Y4
	VPSLLW $2, Y9, Y5
	VPAND Y14, Y5, Y5
	VPOR Y5, Y4, Y4
	VBROADCASTSS 0(R11), Y6
	VPMADDUBSW Y6, Y4, Y2
	VPSRLW $2, Y8, Y4
	VPAND Y7, Y4, Y4
	VPSLLW $1, Y9, Y5
	VPAND Y14, Y5, Y5
	VPOR Y5, Y4, Y4
	VBROADCASTSS 4(R11), Y6
	VPMADDUBSW Y6, Y4, Y4
	VPADDW Y4, Y2, Y2
	VPSRLW $4, Y8, Y4
	VPAND Y7, Y4, Y4
	VPAND Y14, Y9, Y5
	VPOR Y5, Y4, Y4
	VBROADCASTSS 8(R11), Y6
	VPMADDUBSW Y6, Y4, Y4
	VPADDW Y4, Y2, Y2
	VPSRLW $6, Y8, Y4
	VPAND Y7, Y4, Y4
	VPSRLW $1, Y9, Y5
	VPAND Y14, Y5, Y5
	VPOR Y5, Y4, Y4
	VBROADCASTSS 12(R11), Y6
	VPMADDUBSW Y6, Y4, Y4
	VPADDW Y4, Y2, Y2
	// × the eight rows' scales, less 4·Σa
	VPMADDWD Y15, Y2, Y2
	VBROADCASTSS (R13), Y6
	VPSUBD Y6, Y2, Y2
	VPMOVSXBD (R12), Y6
	VPMULLD Y6, Y2, Y2
	VPADDD Y2, Y10, Y10
	ADDQ $16, R11
	ADDQ $8, R12
	ADDQ $4, R13
	VMOVDQU 32(R10), Y8          // L_{2p+1}
	VPAND Y7, Y8, Y4
	VPSRLW $2, Y9, Y5
	VPAND Y14, Y5, Y5
	VPOR Y5, Y4, Y4
	VBROADCASTSS 0(R11), Y6
	VPMADDUBSW Y6, Y4, Y2
	VPSRLW $2, Y8, Y4
	VPAND Y7, Y4, Y4
	VPSRLW $3, Y9, Y5
	VPAND Y14, Y5, Y5
	VPOR Y5, Y4, Y4
	VBROADCASTSS 4(R11), Y6
	VPMADDUBSW Y6, Y4, Y4
	VPADDW Y4, Y2, Y2
	VPSRLW $4, Y8, Y4
	VPAND Y7, Y4, Y4
	VPSRLW $4, Y9, Y5
	VPAND Y14, Y5, Y5
	VPOR Y5, Y4, Y4
	VBROADCASTSS 8(R11), Y6
	VPMADDUBSW Y6, Y4, Y4
	VPADDW Y4, Y2, Y2
	VPSRLW $6, Y8, Y4
	VPAND Y7, Y4, Y4
	VPSRLW $5, Y9, Y5
	VPAND Y14, Y5, Y5
	VPOR Y5, Y4, Y4
	VBROADCASTSS 12(R11), Y6
	VPMADDUBSW Y6, Y4, Y4
	VPADDW Y4, Y2, Y2
	// × the eight rows' scales, less 4·Σa
	VPMADDWD Y15, Y2, Y2
	VBROADCASTSS (R13), Y6
	VPSUBD Y6, Y2, Y2
	VPMOVSXBD (R12), Y6
	VPMULLD Y6, Y2, Y2
	VPADDD Y2, Y10, Y10
	ADDQ $16, R11
	ADDQ $8, R12
	ADDQ $4, R13
	ADDQ $96, R10
	DECQ AX
	JNZ q3p
	VBROADCASTSS (DI), Y12
	VMULPS (SI), Y12, Y12
	VCVTDQ2PS Y10, Y10
	VFMADD231PS Y10, Y12, Y0
	ADDQ $928, SI
	ADDQ $292, DI
	ADDQ $64, BX
	DECQ CX
	JMP q3sb
q3done:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET
