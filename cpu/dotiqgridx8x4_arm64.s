//go:build !noasm

#include "textflag.h"
#include "neon_arm64.h"

// dotGridX8x4: dotiqgridx8_arm64.s's kernel for four tokens, each table gather and sign
// mask serving all four (V8..V11 the tokens' row sums, V16..V23 their results).

// GRID4TOK: one token's 16 activations at (Rp) (post-incremented) negated by V2's masks,
// SDOT with the magnitudes V1, times the group scale V6 into int32 accumulator V(acc).
#define GRID4TOK(Rp, acc) \
	VLD1.P 16(Rp), [V3.B16] \
	VEOR V2.B16, V3.B16, V3.B16 \
	VSUB V2.B16, V3.B16, V3.B16 \
	VEOR V5.B16, V5.B16, V5.B16 \
	SDOTV(5, 3, 1) \
	MLA4S(acc, 5, 6)

// GRID4FIN: V(lo), V(hi) += d_a·d·float32(sums) for one token: d_a at (Ra), its sums at
// (R6)+off, d[8] in V24, V25. Clobbers V28..V30.
#define GRID4FIN(Ra, off, lo, hi) \
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

// func dotGridX8x4(nsb int, w, a *byte, astride int, mags, signs *byte, sums *int32, out *float32, ostride int)
TEXT ·dotGridX8x4(SB), NOSPLIT, $0-72
	MOVD nsb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD a+16(FP), R2
	MOVD astride+24(FP), R9
	MOVD mags+32(FP), R3
	MOVD signs+40(FP), R4
	MOVD sums+48(FP), R6
	MOVD out+56(FP), R5
	ZERO16B(16)
	ZERO16B(17)
	ZERO16B(18)
	ZERO16B(19)
	ZERO16B(20)
	ZERO16B(21)
	ZERO16B(22)
	ZERO16B(23)
	CBZ R0, done4
sb4:
	ADD $32, R1, R10 // row 0
	MOVD R6, R21
	MOVD $8, R7
row4:
	ADD $16, R10, R13 // indices
	ADD $80, R10, R19 // sign bytes
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
group4:
	MOVHU.P 2(R13), R14
	MOVHU.P 2(R13), R15
	MOVBU.P 1(R19), R16
	MOVBU.P 1(R19), R17
	MOVD (R3)(R14<<3), R14
	MOVD (R3)(R15<<3), R15
	MOVD (R4)(R16<<3), R16
	MOVD (R4)(R17<<3), R17
	VMOV R14, V1.D[0]
	VMOV R15, V1.D[1]
	VMOV R16, V2.D[0]
	VMOV R17, V2.D[1]
	MOVBU.P 1(R20), R14
	VDUP R14, V6.S4
	GRID4TOK(R12, 8)
	GRID4TOK(R22, 9)
	GRID4TOK(R23, 10)
	GRID4TOK(R24, 11)
	SUBS $1, R8
	BNE group4
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
	ADD $112, R10
	SUBS $1, R7
	BNE row4
	VLD1 (R1), [V24.S4, V25.S4] // d[8]
	MOVD R2, R15
	GRID4FIN(R15, 0, 16, 17)
	ADD R9, R15
	GRID4FIN(R15, 32, 18, 19)
	ADD R9, R15
	GRID4FIN(R15, 64, 20, 21)
	ADD R9, R15
	GRID4FIN(R15, 96, 22, 23)
	ADD $928, R1
	ADD $292, R2
	SUBS $1, R0
	BNE sb4
done4:
	MOVD ostride+64(FP), R9
	VST1 [V16.S4, V17.S4], (R5)
	ADD R9, R5
	VST1 [V18.S4, V19.S4], (R5)
	ADD R9, R5
	VST1 [V20.S4, V21.S4], (R5)
	ADD R9, R5
	VST1 [V22.S4, V23.S4], (R5)
	RET
