//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// Q5_0, Q4_1 and Q5_1 in the q5x8, q41x8 and q51x8 layouts (putLegacyX8): the q4x8
// kernel's unpacking, the fifth bits moved to bit 4 and ORed in, and for Q4_1/Q5_1
// (Q8_1 activations) the m_w·s_a term instead of an offset. ds holds per block the
// activation's d and s as float32, sa (Q5_0) its d and 8·Σa as an int32.

DATA lg5bit<>+0(SB)/8, $0x1010101010101010
DATA lg5bit<>+8(SB)/8, $0x1010101010101010
DATA lg5bit<>+16(SB)/8, $0x1010101010101010
DATA lg5bit<>+24(SB)/8, $0x1010101010101010
GLOBL lg5bit<>(SB), RODATA|NOPTR, $32

// LGNIB(nib): the block's nibble vectors at nib(SI) into Y8..Y11 (low) and Y12..Y15
// (high). Y7: nibble mask.
#define LGNIB(nib) \
	VMOVDQU (nib+0)(SI), Y8 \
	VPSRLW $4, Y8, Y12 \
	VPAND Y7, Y8, Y8 \
	VPAND Y7, Y12, Y12 \
	VMOVDQU (nib+32)(SI), Y9 \
	VPSRLW $4, Y9, Y13 \
	VPAND Y7, Y9, Y9 \
	VPAND Y7, Y13, Y13 \
	VMOVDQU (nib+64)(SI), Y10 \
	VPSRLW $4, Y10, Y14 \
	VPAND Y7, Y10, Y10 \
	VPAND Y7, Y14, Y14 \
	VMOVDQU (nib+96)(SI), Y11 \
	VPSRLW $4, Y11, Y15 \
	VPAND Y7, Y11, Y11 \
	VPAND Y7, Y15, Y15

// LG5BITS(hb): bit 2v and 2v+1 of the fifth-bit vector at hb(SI) moved to bit 4 and
// ORed into vector v's low and high values. Y3: 0x10 bytes; clobbers Y1, Y4.
#define LG5BITS(hb) \
	VMOVDQU hb(SI), Y1 \
	VPSLLW $4, Y1, Y4 \
	VPAND Y3, Y4, Y4 \
	VPOR Y4, Y8, Y8 \
	VPSLLW $3, Y1, Y4 \
	VPAND Y3, Y4, Y4 \
	VPOR Y4, Y12, Y12 \
	VPSLLW $2, Y1, Y4 \
	VPAND Y3, Y4, Y4 \
	VPOR Y4, Y9, Y9 \
	VPSLLW $1, Y1, Y4 \
	VPAND Y3, Y4, Y4 \
	VPOR Y4, Y13, Y13 \
	VPAND Y3, Y1, Y4 \
	VPOR Y4, Y10, Y10 \
	VPSRLW $1, Y1, Y4 \
	VPAND Y3, Y4, Y4 \
	VPOR Y4, Y14, Y14 \
	VPSRLW $2, Y1, Y4 \
	VPAND Y3, Y4, Y4 \
	VPOR Y4, Y11, Y11 \
	VPSRLW $3, Y1, Y4 \
	VPAND Y3, Y4, Y4 \
	VPOR Y4, Y15, Y15

// LGDOT4(aq) / LGDOT5(aq): the block's values against the activation quants at
// aq(DI), the int32 sums per row in Y4; 4-bit values sum in int16 over the block
// (8·2·15·127 < 2^15), 5-bit ones over halves (4·2·31·127). Y6: ones16; clobbers Y2, Y5.
#define LGDOT4(aq) \
	VBROADCASTSS (aq+0)(DI), Y5 \
	VPMADDUBSW Y5, Y8, Y4 \
	VBROADCASTSS (aq+16)(DI), Y5 \
	VPMADDUBSW Y5, Y12, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS (aq+4)(DI), Y5 \
	VPMADDUBSW Y5, Y9, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS (aq+20)(DI), Y5 \
	VPMADDUBSW Y5, Y13, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS (aq+8)(DI), Y5 \
	VPMADDUBSW Y5, Y10, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS (aq+24)(DI), Y5 \
	VPMADDUBSW Y5, Y14, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS (aq+12)(DI), Y5 \
	VPMADDUBSW Y5, Y11, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS (aq+28)(DI), Y5 \
	VPMADDUBSW Y5, Y15, Y5 \
	VPADDW Y5, Y4, Y4 \
	VPMADDWD Y6, Y4, Y4
#define LGDOT5(aq) \
	VBROADCASTSS (aq+0)(DI), Y5 \
	VPMADDUBSW Y5, Y8, Y4 \
	VBROADCASTSS (aq+16)(DI), Y5 \
	VPMADDUBSW Y5, Y12, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS (aq+4)(DI), Y5 \
	VPMADDUBSW Y5, Y9, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS (aq+20)(DI), Y5 \
	VPMADDUBSW Y5, Y13, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS (aq+8)(DI), Y5 \
	VPMADDWD Y6, Y4, Y2 \
	VPMADDUBSW Y5, Y10, Y4 \
	VBROADCASTSS (aq+24)(DI), Y5 \
	VPMADDUBSW Y5, Y14, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS (aq+12)(DI), Y5 \
	VPMADDUBSW Y5, Y11, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS (aq+28)(DI), Y5 \
	VPMADDUBSW Y5, Y15, Y5 \
	VPADDW Y5, Y4, Y4 \
	VPMADDWD Y6, Y4, Y4 \
	VPADDD Y2, Y4, Y4

// func dotQ5_0x8(nb int, w *byte, sa *float32, a *byte, out *float32)
TEXT ·dotQ5_0x8(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ sa+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU ·ones16(SB), Y6
	VMOVDQU lg5bit<>(SB), Y3
	VXORPS Y0, Y0, Y0
dotQ5_0x8loop:
	TESTQ CX, CX
	JZ dotQ5_0x8done
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	LGNIB(16)
	LG5BITS(144)
	LGDOT5(2)
	VBROADCASTSS 4(R8), Y5         // 8·Σa
	VPADDD Y5, Y5, Y5             // 16·Σa: the quants are stored +16
	VPSUBD Y5, Y4, Y4
	VCVTDQ2PS Y4, Y4
	VCVTPH2PS (SI), Y2
	VBROADCASTSS (R8), Y5
	VMULPS Y2, Y5, Y5
	VFMADD231PS Y4, Y5, Y0
	ADDQ $176, SI
	ADDQ $34, DI
	ADDQ $8, R8
	DECQ CX
	JMP dotQ5_0x8loop
dotQ5_0x8done:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ4_1x8(nb int, w *byte, ds *float32, a *byte, out *float32)
TEXT ·dotQ4_1x8(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ ds+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU ·ones16(SB), Y6
	VXORPS Y0, Y0, Y0
dotQ4_1x8loop:
	TESTQ CX, CX
	JZ dotQ4_1x8done
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	LGNIB(32)
	LGDOT4(4)
	VCVTDQ2PS Y4, Y4
	VCVTPH2PS (SI), Y2
	VBROADCASTSS (R8), Y5        // d_a
	VMULPS Y2, Y5, Y5
	VFMADD231PS Y4, Y5, Y0
	VCVTPH2PS 16(SI), Y2
	VBROADCASTSS 4(R8), Y5       // s_a = d_a·Σa
	VFMADD231PS Y2, Y5, Y0
	ADDQ $160, SI
	ADDQ $36, DI
	ADDQ $8, R8
	DECQ CX
	JMP dotQ4_1x8loop
dotQ4_1x8done:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ5_1x8(nb int, w *byte, ds *float32, a *byte, out *float32)
TEXT ·dotQ5_1x8(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ ds+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU ·ones16(SB), Y6
	VMOVDQU lg5bit<>(SB), Y3
	VXORPS Y0, Y0, Y0
dotQ5_1x8loop:
	TESTQ CX, CX
	JZ dotQ5_1x8done
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	LGNIB(32)
	LG5BITS(160)
	LGDOT5(4)
	VCVTDQ2PS Y4, Y4
	VCVTPH2PS (SI), Y2
	VBROADCASTSS (R8), Y5        // d_a
	VMULPS Y2, Y5, Y5
	VFMADD231PS Y4, Y5, Y0
	VCVTPH2PS 16(SI), Y2
	VBROADCASTSS 4(R8), Y5       // s_a = d_a·Σa
	VFMADD231PS Y2, Y5, Y0
	ADDQ $192, SI
	ADDQ $36, DI
	ADDQ $8, R8
	DECQ CX
	JMP dotQ5_1x8loop
dotQ5_1x8done:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET
