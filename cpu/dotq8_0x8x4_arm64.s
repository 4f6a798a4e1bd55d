#include "textflag.h"
#include "neon_arm64.h"

// dotQ8_0x8x4 is dotQ8_0x8 for four tokens: each half of a block's weights is loaded
// once and multiplied by the four tokens' quants (32 SDOTs).
// Token t: int32 sums in V(16+2t) (rows 0-3), V(17+2t) (rows 4-7), results in V(24+2t), V(25+2t).

// func dotQ8_0x8x4(nb int, w *byte, as *float32, a *byte, astride int, out *float32, ostride int)
TEXT ·dotQ8_0x8x4(SB), NOSPLIT, $0-56
	MOVD nb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD as+16(FP), R9
	MOVD a+24(FP), R5
	MOVD astride+32(FP), R2
	MOVD out+40(FP), R4
	MOVD ostride+48(FP), R13
	ADD R2, R5, R6
	ADD R2, R6, R7
	ADD R2, R7, R8 // the tokens' activations
	LSL $2, R0, R14 // as: nb words per token
	ADD R14, R9, R10
	ADD R14, R10, R11
	ADD R14, R11, R12
	VEOR V24.B16, V24.B16, V24.B16
	VEOR V25.B16, V25.B16, V25.B16
	VEOR V26.B16, V26.B16, V26.B16
	VEOR V27.B16, V27.B16, V27.B16
	VEOR V28.B16, V28.B16, V28.B16
	VEOR V29.B16, V29.B16, V29.B16
	VEOR V30.B16, V30.B16, V30.B16
	VEOR V31.B16, V31.B16, V31.B16
	CBZ R0, done
loop:
	VLD1.P 16(R1), [V15.B16] // the eight rows' fp16 scales
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16
	ADD $2, R5
	ADD $2, R6
	ADD $2, R7
	ADD $2, R8
	VLD1.P 64(R1), [V0.B16, V1.B16, V2.B16, V3.B16] // vectors 0-3: V(2v) rows 0-3, V(2v+1) rows 4-7
	VLD1.P 64(R1), [V4.B16, V5.B16, V6.B16, V7.B16]
	VLD1.P 16(R5), [V8.B16] // token 0's quants 0-15
	VLD1.P 16(R6), [V9.B16] // token 1's quants 0-15
	VLD1.P 16(R7), [V10.B16] // token 2's quants 0-15
	VLD1.P 16(R8), [V11.B16] // token 3's quants 0-15
	X4SDOT(0, 1, 0)
	X4SDOT(2, 3, 1)
	X4SDOT(4, 5, 2)
	X4SDOT(6, 7, 3)
	VLD1.P 64(R1), [V0.B16, V1.B16, V2.B16, V3.B16] // vectors 4-7: V(2v) rows 0-3, V(2v+1) rows 4-7
	VLD1.P 64(R1), [V4.B16, V5.B16, V6.B16, V7.B16]
	VLD1.P 16(R5), [V8.B16] // token 0's quants 16-31
	VLD1.P 16(R6), [V9.B16] // token 1's quants 16-31
	VLD1.P 16(R7), [V10.B16] // token 2's quants 16-31
	VLD1.P 16(R8), [V11.B16] // token 3's quants 16-31
	X4SDOT(0, 1, 0)
	X4SDOT(2, 3, 1)
	X4SDOT(4, 5, 2)
	X4SDOT(6, 7, 3)
	FCVTL4S(12, 15)
	FCVTL24S(13, 15)
	X4SCALE(R9, 0)
	X4SCALE(R10, 1)
	X4SCALE(R11, 2)
	X4SCALE(R12, 3)
	SUBS $1, R0
	BNE loop
done:
	VST1 [V24.S4, V25.S4], (R4)
	ADD R13, R4
	VST1 [V26.S4, V27.S4], (R4)
	ADD R13, R4
	VST1 [V28.S4, V29.S4], (R4)
	ADD R13, R4
	VST1 [V30.S4, V31.S4], (R4)
	RET
