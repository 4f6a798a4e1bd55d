//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// The q4x8 layout (repackQ4_0x8Rows): for each group of eight rows and each block, the
// eight rows' fp16 scales (16 bytes, as in the file), then four vectors of 32 bytes, vector v
// holding bytes 4v..4v+3 of each row's Q4_0 quants (row r at bytes 4r..4r+3). The low
// nibbles of vector v are elements 4v..4v+3 of the eight rows, the high ones elements
// 16+4v..16+4v+3, so one VPMADDUBSW against four broadcast activation bytes gives
// eight rows' partial sums in its lanes and nothing is shuffled.

// X8UNPACK: the block at SI into Y8..Y11 (low nibbles) and Y12..Y15 (high nibbles).
#define X8UNPACK \
	VMOVDQU 16(SI), Y8 \
	VMOVDQU 48(SI), Y9 \
	VMOVDQU 80(SI), Y10 \
	VMOVDQU 112(SI), Y11 \
	VPSRLW $4, Y8, Y12 \
	VPSRLW $4, Y9, Y13 \
	VPSRLW $4, Y10, Y14 \
	VPSRLW $4, Y11, Y15 \
	VPAND Y7, Y8, Y8 \
	VPAND Y7, Y9, Y9 \
	VPAND Y7, Y10, Y10 \
	VPAND Y7, Y11, Y11 \
	VPAND Y7, Y12, Y12 \
	VPAND Y7, Y13, Y13 \
	VPAND Y7, Y14, Y14 \
	VPAND Y7, Y15, Y15

// X8TOK: one token's block (Q8_0 at ap, which advances by 34) with its float32 scale
// at sp and 8·Σa at cp, against the
// unpacked block, into acc (one float per row). The eight products per lane fit int16:
// 8 · 2 · 15 · 127 = 30480.
#define X8TOK(ap, sp, cp, acc, ones, wsc) \
	VBROADCASTSS 2(ap), Y5 \
	VPMADDUBSW Y5, Y8, Y4 \
	VBROADCASTSS 18(ap), Y5 \
	VPMADDUBSW Y5, Y12, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS 6(ap), Y5 \
	VPMADDUBSW Y5, Y9, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS 22(ap), Y5 \
	VPMADDUBSW Y5, Y13, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS 10(ap), Y5 \
	VPMADDUBSW Y5, Y10, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS 26(ap), Y5 \
	VPMADDUBSW Y5, Y14, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS 14(ap), Y5 \
	VPMADDUBSW Y5, Y11, Y5 \
	VPADDW Y5, Y4, Y4 \
	VBROADCASTSS 30(ap), Y5 \
	VPMADDUBSW Y5, Y15, Y5 \
	VPADDW Y5, Y4, Y4 \
	VPMADDWD ones, Y4, Y4 \
	VPBROADCASTD cp, Y5 \
	VPSUBD Y5, Y4, Y4 \
	VCVTDQ2PS Y4, Y4 \
	VBROADCASTSS sp, Y5 \
	VMULPS wsc, Y5, Y5 \
	VFMADD231PS Y4, Y5, acc

// func dotQ4_0x8(nb int, w *byte, sa *float32, a *byte, out *float32)
// One token against a group of eight q4x8 rows: out[r] = Σ_b d_r·d_a·(Σ q·a − 8Σa). sa
// holds per block the activation's float32 scale and then 8·Σa as an int32. One
// accumulator, blocks in order, as dotQ4_0x8x4 sums each token: a token's results do
// not depend on the batch it is in (EvalBatch is bit for bit Session.Eval).
TEXT ·dotQ4_0x8(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ sa+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VMOVDQU ·ones16(SB), Y6
	VXORPS Y0, Y0, Y0
x8loop:
	CMPQ CX, $2
	JLT x8one
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 PFDIST+64(SI)
	PREFETCHT0 PFDIST+128(SI)
	PREFETCHT0 PFDIST+192(SI)
	PREFETCHT0 PFDIST+256(SI)
	X8UNPACK
	VCVTPH2PS (SI), Y2
	X8TOK(DI, 0(R8), 4(R8), Y0, Y6, Y2)
	ADDQ $144, SI
	ADDQ $34, DI
	X8UNPACK
	VCVTPH2PS (SI), Y2
	X8TOK(DI, 8(R8), 12(R8), Y0, Y6, Y2)
	ADDQ $144, SI
	ADDQ $34, DI
	ADDQ $16, R8
	SUBQ $2, CX
	JMP x8loop
x8one:
	TESTQ CX, CX
	JZ x8done
	X8UNPACK
	VCVTPH2PS (SI), Y2
	X8TOK(DI, 0(R8), 4(R8), Y0, Y6, Y2)
x8done:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ4_0x8x4(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int)
// Four tokens (activations astride bytes apart, their sa 2·nb words apart) against a
// group of eight q4x8 rows, each block unpacked once for all four; token t's eight
// results go to out + t·ostride bytes.
TEXT ·dotQ4_0x8x4(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ sa+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ astride+32(FP), AX
	MOVQ out+40(FP), DX
	MOVQ ostride+48(FP), BX
	LEAQ (DI)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	LEAQ (R11)(AX*1), R12
	LEAQ (CX*8), R13         // sa: 2·nb words per token
	LEAQ (R8)(R13*2), R14
	VMOVDQU ·nibmask(SB), Y7
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
x8x4loop:
	TESTQ CX, CX
	JZ x8x4done
	X8UNPACK
	VCVTPH2PS (SI), Y6           // the rows' scales, once for the four tokens
	X8TOK(DI, 0(R8), 4(R8), Y0, ·ones16(SB), Y6)
	X8TOK(R10, 0(R8)(R13*1), 4(R8)(R13*1), Y1, ·ones16(SB), Y6)
	X8TOK(R11, 0(R14), 4(R14), Y2, ·ones16(SB), Y6)
	X8TOK(R12, 0(R14)(R13*1), 4(R14)(R13*1), Y3, ·ones16(SB), Y6)
	ADDQ $144, SI
	ADDQ $34, DI
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $34, R12
	ADDQ $8, R8
	ADDQ $8, R14
	DECQ CX
	JMP x8x4loop
x8x4done:
	VMOVUPS Y0, (DX)
	ADDQ BX, DX
	VMOVUPS Y1, (DX)
	ADDQ BX, DX
	VMOVUPS Y2, (DX)
	ADDQ BX, DX
	VMOVUPS Y3, (DX)
	VZEROUPPER
	RET
