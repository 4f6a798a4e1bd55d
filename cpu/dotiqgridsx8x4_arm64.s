//go:build !noasm

#include "textflag.h"
#include "neon_arm64.h"

// dotGridSX8x4: dotiqgridsx8_arm64.s's kernel for four tokens, each table gather serving
// all four (V8..V11 the tokens' row sums, V16..V23 their results).

// GRIDS4TOK: one token's 16 activations at (Rp) (post-incremented),
// SDOT with the signed entries V1, times the group scale V6 into int32 accumulator V(acc).
#define GRIDS4TOK(Rp, acc) \
	VLD1.P 16(Rp), [V3.B16] \
	VEOR V5.B16, V5.B16, V5.B16 \
	SDOTV(5, 3, 1) \
	MLA4S(acc, 5, 6)

// GRIDS4FIN: V(lo), V(hi) += d_a·d·float32(sums) for one token: d_a at (Ra), its sums at
// (R6)+off, d[8] in V24, V25. Clobbers V28..V30.
#define GRIDS4FIN(Ra, off, lo, hi) \
	ADD $off, R6, R14 \
	VLD1 (R14), [V28.S4, V29.S4] \
	SCVTF4S(28, 28) \
	SCVTF4S(29, 29) \
	VLD1R (Ra), [V30.S4] \
	FMUL4S(30, 24, 30) \
	FMLA4S(lo, 30, 28) \
	VLD1R (Ra), [V30.S4] \
	FMUL4S(30, 25, 30) \
	FMLA4S(hi, 30, 29)

// func dotGridSX8x4(nsb int, w, a *byte, astride int, vals *byte, sums *int32, out *float32, ostride int)
TEXT ·dotGridSX8x4(SB), NOSPLIT, $0-64
	MOVD nsb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD a+16(FP), R2
	MOVD astride+24(FP), R9
	MOVD vals+32(FP), R3
	MOVD sums+40(FP), R6
	MOVD out+48(FP), R5
	ZERO16B(16)
	ZERO16B(17)
	ZERO16B(18)
	ZERO16B(19)
	ZERO16B(20)
	ZERO16B(21)
	ZERO16B(22)
	ZERO16B(23)
	CBZ R0, sdone4
ssb4:
	ADD $32, R1, R10 // row 0
	MOVD R6, R21
	MOVD $8, R7
srow4:
	ADD $16, R10, R13 // indices
	MOVD R10, R20 // scales
	ADD $4, R2, R12 // the tokens' activation quants
	ADD R9, R12, R22
	ADD R9, R22, R23
	ADD R9, R23, R24
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	MOVD $16, R8
sgroup4:
	MOVHU.P 2(R13), R14
	MOVHU.P 2(R13), R15
	MOVD (R3)(R14<<3), R14
	MOVD (R3)(R15<<3), R15
	VMOV R14, V1.D[0]
	VMOV R15, V1.D[1]
	MOVBU.P 1(R20), R14
	VDUP R14, V6.S4
	GRIDS4TOK(R12, 8)
	GRIDS4TOK(R22, 9)
	GRIDS4TOK(R23, 10)
	GRIDS4TOK(R24, 11)
	SUBS $1, R8
	BNE sgroup4
	VADDV V8.S4, V8
	VMOV V8.S[0], R14
	MOVW R14, (R21)
	VADDV V9.S4, V9
	VMOV V9.S[0], R14
	MOVW R14, 32(R21)
	VADDV V10.S4, V10
	VMOV V10.S[0], R14
	MOVW R14, 64(R21)
	VADDV V11.S4, V11
	VMOV V11.S[0], R14
	MOVW R14, 96(R21)
	ADD $4, R21
	ADD $80, R10
	SUBS $1, R7
	BNE srow4
	VLD1 (R1), [V24.S4, V25.S4] // d[8]
	MOVD R2, R15
	GRIDS4FIN(R15, 0, 16, 17)
	ADD R9, R15
	GRIDS4FIN(R15, 32, 18, 19)
	ADD R9, R15
	GRIDS4FIN(R15, 64, 20, 21)
	ADD R9, R15
	GRIDS4FIN(R15, 96, 22, 23)
	ADD $672, R1
	ADD $292, R2
	SUBS $1, R0
	BNE ssb4
sdone4:
	MOVD ostride+56(FP), R9
	VST1 [V16.S4, V17.S4], (R5)
	ADD R9, R5
	VST1 [V18.S4, V19.S4], (R5)
	ADD R9, R5
	VST1 [V20.S4, V21.S4], (R5)
	ADD R9, R5
	VST1 [V22.S4, V23.S4], (R5)
	RET
