#include "textflag.h"
#include "neon_arm64.h"

// dotQ6Kx8: per super-block and 16-element group, the quants (0..63) of four vectors
// of eight rows × four elements rebuilt from their nibbles and high bits, eight SDOTs
// into two int32 vectors, 32·bsums[g] subtracted (the quants are stored +32), then
// multiplied by the rows' group scale (MLA) into sumi; out += d_a·d·sumi four rows per
// vector. See dot_arm64.go and repackQ6Kx8Rows.

// Q6BUILD: one group's quads (R7, advanced) as the quants of its four vectors, V6..V9
// rows 0-3 and V10..V13 rows 4-7. V16: 0x0F bytes, V17: 0x30 bytes.
#define Q6BUILD \
	VLD1.P 64(R7), [V0.B16, V1.B16, V2.B16, V3.B16] \
	VLD1.P 32(R7), [V4.B16, V5.B16] \
	VSHL $4, V4.B16, V6.B16 \
	VAND V17.B16, V6.B16, V6.B16 \
	VBIT V16.B16, V0.B16, V6.B16 \
	VSHL $2, V4.B16, V7.B16 \
	VAND V17.B16, V7.B16, V7.B16 \
	VSRI $4, V0.B16, V7.B16 \
	VAND V17.B16, V4.B16, V8.B16 \
	VBIT V16.B16, V2.B16, V8.B16 \
	VUSHR $2, V4.B16, V9.B16 \
	VAND V17.B16, V9.B16, V9.B16 \
	VSRI $4, V2.B16, V9.B16 \
	VSHL $4, V5.B16, V10.B16 \
	VAND V17.B16, V10.B16, V10.B16 \
	VBIT V16.B16, V1.B16, V10.B16 \
	VSHL $2, V5.B16, V11.B16 \
	VAND V17.B16, V11.B16, V11.B16 \
	VSRI $4, V1.B16, V11.B16 \
	VAND V17.B16, V5.B16, V12.B16 \
	VBIT V16.B16, V3.B16, V12.B16 \
	VUSHR $2, V5.B16, V13.B16 \
	VAND V17.B16, V13.B16, V13.B16 \
	VSRI $4, V3.B16, V13.B16

// Q6TOKEN(act, s0, s1, corr, lane): a token's activations in V(act) against the group's
// quants into V(s0), V(s1), less its 32·bsums in lane lane of V(corr).
#define Q6TOKEN(act, s0, s1, corr, lane) \
	ZERO16B(s0) \
	ZERO16B(s1) \
	SDOTE(s0, 6, act, 0) \
	SDOTE(s1, 10, act, 0) \
	SDOTE(s0, 7, act, 1) \
	SDOTE(s1, 11, act, 1) \
	SDOTE(s0, 8, act, 2) \
	SDOTE(s1, 12, act, 2) \
	SDOTE(s0, 9, act, 3) \
	SDOTE(s1, 13, act, 3) \
	DUP4S(23, corr, lane) \
	SUB4S(s0, s0, 23) \
	SUB4S(s1, s1, 23)

// Q6SCALES: the group's scales (R5, advanced), each row's twice, as int32 in V21, V22.
#define Q6SCALES \
	VLD1.P 16(R5), [V20.B16] \
	SSHR8H8(20, 20) \
	SXTL4S(21, 20) \
	SXTL24S(22, 20)

// Q6GROUP(lane): one group (R7 its quads, R6 its activations, R5 its scales, advanced),
// lane the group's 32·bsums in V19.
#define Q6GROUP(lane) \
	VLD1.P 16(R6), [V18.B16] \
	Q6BUILD \
	Q6TOKEN(18, 14, 15, 19, lane) \
	Q6SCALES \
	MLA4S(24, 14, 21) \
	MLA4S(25, 15, 22)

// func dotQ6Kx8(nsb int, w *byte, a *byte, c *int16, out *float32)
TEXT ·dotQ6Kx8(SB), NOSPLIT, $0-40
	MOVD nsb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD a+16(FP), R3
	MOVD out+32(FP), R4
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	VMOVI $15, V16.B16
	VMOVI $48, V17.B16
	CBZ R0, done
sb:
	ADD $32, R1, R5 // scales
	ADD $288, R1, R7 // quants
	ADD $4, R3, R6 // activation quants
	ADD $260, R3, R10 // bsums
	VEOR V24.B16, V24.B16, V24.B16 // sumi rows 0-3
	VEOR V25.B16, V25.B16, V25.B16 // rows 4-7
	MOVD $4, R8
quad:
	VLD1.P 8(R10), [V19.H4] // bsums of four groups
	SXTL4S(19, 19)
	VSHL $5, V19.S4, V19.S4 // 32·bsums
	Q6GROUP(0)
	Q6GROUP(1)
	Q6GROUP(2)
	Q6GROUP(3)
	SUBS $1, R8
	BNE quad
	SCVTF4S(24, 24)
	SCVTF4S(25, 25)
	VLD1 (R1), [V12.S4, V13.S4] // d rows 0-3, 4-7
	FMUL4S(24, 24, 12)
	FMUL4S(25, 25, 13)
	VLD1R (R3), [V29.S4] // d_a
	FMLA4S(26, 24, 29)
	FMLA4S(27, 25, 29)
	MOVD R7, R1
	ADD $292, R3
	SUBS $1, R0
	BNE sb
done:
	VST1 [V26.S4, V27.S4], (R4)
	RET

// Q6GROUP2(lane): Q6GROUP for two tokens (activations R6 and R12, 32·bsums in V19 and
// V29), each group's quants rebuilt once: token 0 into V24, V25, token 1 into V26, V27.
#define Q6GROUP2(lane) \
	VLD1.P 16(R6), [V18.B16] \
	VLD1.P 16(R12), [V28.B16] \
	Q6BUILD \
	Q6TOKEN(18, 14, 15, 19, lane) \
	Q6TOKEN(28, 30, 31, 29, lane) \
	Q6SCALES \
	MLA4S(24, 14, 21) \
	MLA4S(25, 15, 22) \
	MLA4S(26, 30, 21) \
	MLA4S(27, 31, 22)

// func dotQ6Kx8x2(nsb int, w *byte, a *byte, astride int, c *int16, out *float32, ostride int)
// dotQ6Kx8 for two tokens astride bytes apart; the float results accumulate in out
// itself, once per super-block, for want of registers.
TEXT ·dotQ6Kx8x2(SB), NOSPLIT, $0-56
	MOVD nsb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD a+16(FP), R3
	MOVD astride+24(FP), R2
	MOVD out+40(FP), R4
	MOVD ostride+48(FP), R13
	ADD R13, R4, R14 // token 1's results
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VST1 [V0.S4, V1.S4], (R4)
	VST1 [V0.S4, V1.S4], (R14)
	VMOVI $15, V16.B16
	VMOVI $48, V17.B16
	CBZ R0, done2
sb2:
	ADD R2, R3, R15 // token 1's Q8_K block
	ADD $32, R1, R5 // scales
	ADD $288, R1, R7 // quants
	ADD $4, R3, R6 // token 0's quants
	ADD $4, R15, R12 // token 1's
	ADD $260, R3, R10 // token 0's bsums
	ADD $260, R15, R11 // token 1's
	VEOR V24.B16, V24.B16, V24.B16
	VEOR V25.B16, V25.B16, V25.B16
	VEOR V26.B16, V26.B16, V26.B16
	VEOR V27.B16, V27.B16, V27.B16
	MOVD $4, R8
quad2:
	VLD1.P 8(R10), [V19.H4] // bsums of four groups
	SXTL4S(19, 19)
	VSHL $5, V19.S4, V19.S4 // 32·bsums
	VLD1.P 8(R11), [V29.H4]
	SXTL4S(29, 29)
	VSHL $5, V29.S4, V29.S4
	Q6GROUP2(0)
	Q6GROUP2(1)
	Q6GROUP2(2)
	Q6GROUP2(3)
	SUBS $1, R8
	BNE quad2
	VLD1 (R1), [V12.S4, V13.S4] // d rows 0-3, 4-7
	SCVTF4S(24, 24)
	SCVTF4S(25, 25)
	SCVTF4S(26, 26)
	SCVTF4S(27, 27)
	FMUL4S(24, 24, 12)
	FMUL4S(25, 25, 13)
	FMUL4S(26, 26, 12)
	FMUL4S(27, 27, 13)
	VLD1R (R3), [V0.S4] // token 0's d_a
	VLD1R (R15), [V1.S4] // token 1's
	VLD1 (R4), [V2.S4, V3.S4]
	VLD1 (R14), [V4.S4, V5.S4]
	FMLA4S(2, 24, 0)
	FMLA4S(3, 25, 0)
	FMLA4S(4, 26, 1)
	FMLA4S(5, 27, 1)
	VST1 [V2.S4, V3.S4], (R4)
	VST1 [V4.S4, V5.S4], (R14)
	MOVD R7, R1
	ADD $292, R3
	SUBS $1, R0
	BNE sb2
done2:
	RET
