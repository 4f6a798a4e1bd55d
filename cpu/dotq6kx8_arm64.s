#include "textflag.h"
#include "neon_arm64.h"

// dotQ6Kx8: per super-block and 16-element group, the quants (0..63) of four vectors
// of eight rows × four elements rebuilt from their nibbles and high bits, eight SDOTs
// into two int32 vectors, 32·bsums[g] subtracted (the quants are stored +32), then
// multiplied by the rows' group scale (MLA) into sumi; out += d_a·d·sumi four rows per
// vector. See dot_arm64.go and repackQ6Kx8.

// Q6GROUP(lane): one group (R7 its quads, R6 its activations, R5 its scales, advanced),
// lane the group's 32·bsums in V19. V16: 0x0F bytes, V17: 0x30 bytes.
#define Q6GROUP(lane) \
	VLD1.P 64(R7), [V0.B16, V1.B16, V2.B16, V3.B16] \
	VLD1.P 32(R7), [V4.B16, V5.B16] \
	VLD1.P 16(R6), [V18.B16] \
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
	VSRI $4, V3.B16, V13.B16 \
	VEOR V14.B16, V14.B16, V14.B16 \
	VEOR V15.B16, V15.B16, V15.B16 \
	SDOTE(14, 6, 18, 0) \
	SDOTE(15, 10, 18, 0) \
	SDOTE(14, 7, 18, 1) \
	SDOTE(15, 11, 18, 1) \
	SDOTE(14, 8, 18, 2) \
	SDOTE(15, 12, 18, 2) \
	SDOTE(14, 9, 18, 3) \
	SDOTE(15, 13, 18, 3) \
	DUP4S(23, 19, lane) \
	SUB4S(14, 14, 23) \
	SUB4S(15, 15, 23) \
	VLD1.P 16(R5), [V20.B16] \
	SSHR8H8(20, 20) \
	SXTL4S(21, 20) \
	SXTL24S(22, 20) \
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
