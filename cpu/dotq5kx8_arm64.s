#include "textflag.h"
#include "neon_arm64.h"

// dotQ5Kx8 is dotQ4Kx8 with the fifth bits: per pair jp of sub-blocks, each quarter
// (two vectors of eight rows) takes its qh vectors, moves bit 2jp (low nibbles) and
// 2jp+1 (high nibbles) to bit 4 with USHL by 4−2jp and 3−2jp, and inserts the nibble
// under it (BIT, SRI). See dot_arm64.go and repackQ5Kx8Rows.

// K5QUARTER(alo, ahi, l0, l1): two vectors of the pair (quants R7, fifth bits R11,
// advanced) against lanes l0, l1 of V(alo) (sub-block 2jp) and V(ahi) (2jp+1), into
// V20, V21 and V22, V23. V28: 0x0F bytes, V29: 0x10, V30/V31: the shifts.
#define K5QUARTER(alo, ahi, l0, l1) \
	VLD1.P 64(R7), [V0.B16, V1.B16, V2.B16, V3.B16] \
	VLD1.P 64(R11), [V4.B16, V5.B16, V6.B16, V7.B16] \
	USHL16B(8, 4, 30) \
	VAND V29.B16, V8.B16, V8.B16 \
	VBIT V28.B16, V0.B16, V8.B16 \
	USHL16B(4, 4, 31) \
	VAND V29.B16, V4.B16, V4.B16 \
	VSRI $4, V0.B16, V4.B16 \
	USHL16B(9, 5, 30) \
	VAND V29.B16, V9.B16, V9.B16 \
	VBIT V28.B16, V1.B16, V9.B16 \
	USHL16B(5, 5, 31) \
	VAND V29.B16, V5.B16, V5.B16 \
	VSRI $4, V1.B16, V5.B16 \
	USHL16B(10, 6, 30) \
	VAND V29.B16, V10.B16, V10.B16 \
	VBIT V28.B16, V2.B16, V10.B16 \
	USHL16B(6, 6, 31) \
	VAND V29.B16, V6.B16, V6.B16 \
	VSRI $4, V2.B16, V6.B16 \
	USHL16B(11, 7, 30) \
	VAND V29.B16, V11.B16, V11.B16 \
	VBIT V28.B16, V3.B16, V11.B16 \
	USHL16B(7, 7, 31) \
	VAND V29.B16, V7.B16, V7.B16 \
	VSRI $4, V3.B16, V7.B16 \
	SDOTE(20, 8, alo, l0) \
	SDOTE(21, 9, alo, l0) \
	SDOTE(22, 4, ahi, l0) \
	SDOTE(23, 5, ahi, l0) \
	SDOTE(20, 10, alo, l1) \
	SDOTE(21, 11, alo, l1) \
	SDOTE(22, 6, ahi, l1) \
	SDOTE(23, 7, ahi, l1)

// func dotQ5Kx8(nsb int, w *byte, a *byte, bs *int16, out *float32)
TEXT ·dotQ5Kx8(SB), NOSPLIT, $0-40
	MOVD nsb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD a+16(FP), R3
	MOVD bs+24(FP), R9
	MOVD out+32(FP), R4
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	VMOVI $15, V28.B16
	VMOVI $16, V29.B16
	CBZ R0, done
sb:
	ADD $64, R1, R5 // scales
	ADD $192, R1, R7 // quants
	ADD $4, R3, R6 // activation quants
	VEOR V24.B16, V24.B16, V24.B16 // sumi rows 0-3
	VEOR V25.B16, V25.B16, V25.B16 // rows 4-7
	VMOVI $4, V30.B16 // shift of the low nibbles' bit, 4−2jp
	VMOVI $3, V31.B16 // and of the high nibbles', 3−2jp
	MOVD $4, R8
pair:
	ADD $1216, R1, R11 // fifth bits, the same for every pair
	VLD1.P 64(R6), [V16.B16, V17.B16, V18.B16, V19.B16] // sub-block 2jp: V16, V17; 2jp+1: V18, V19
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16
	K5QUARTER(16, 18, 0, 1)
	K5QUARTER(16, 18, 2, 3)
	K5QUARTER(17, 19, 0, 1)
	K5QUARTER(17, 19, 2, 3)
	VMOVI $2, V12.B16
	VSUB V12.B16, V30.B16, V30.B16
	VSUB V12.B16, V31.B16, V31.B16
	KSCALES
	SUBS $1, R8
	BNE pair
	KMINS
	ADD $1472, R1
	ADD $292, R3
	SUBS $1, R0
	BNE sb
done:
	VST1 [V26.S4, V27.S4], (R4)
	RET
