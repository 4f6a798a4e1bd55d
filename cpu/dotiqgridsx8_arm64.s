//go:build !noasm

#include "textflag.h"
#include "neon_arm64.h"

// dotGridSX8: per row and 16-element group, its two signed table entries in V1, one SDOT
// with the activations into V5 and V8 += sc·V5; then as dotGridX8 (dotiqgridx8_arm64.s).

// func dotGridSX8(nsb int, w, a, vals *byte, sums *int32, out *float32)
TEXT ·dotGridSX8(SB), NOSPLIT, $0-48
	MOVD nsb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD a+16(FP), R2
	MOVD vals+24(FP), R3
	MOVD sums+32(FP), R6
	MOVD out+40(FP), R5
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	CBZ R0, sdone
ssb:
	ADD $32, R1, R10 // srow 0
	MOVD R6, R21
	MOVD $8, R7
srow:
	ADD $16, R10, R13 // indices
	MOVD R10, R20 // scales
	ADD $4, R2, R12 // activation quants
	VEOR V8.B16, V8.B16, V8.B16
	MOVD $16, R8
sgroup:
	MOVHU.P 2(R13), R14
	MOVHU.P 2(R13), R15
	MOVD (R3)(R14<<3), R14
	MOVD (R3)(R15<<3), R15
	VMOV R14, V1.D[0]
	VMOV R15, V1.D[1]
	VLD1.P 16(R12), [V3.B16]
	VEOR V5.B16, V5.B16, V5.B16
	SDOTV(5, 3, 1)
	MOVBU.P 1(R20), R14
	VDUP R14, V6.S4
	MLA4S(8, 5, 6)
	SUBS $1, R8
	BNE sgroup
	VADDV V8.S4, V8
	VMOV V8.S[0], R14
	MOVW.P R14, 4(R21)
	ADD $80, R10
	SUBS $1, R7
	BNE srow
	VLD1 (R6), [V20.S4, V21.S4]
	SCVTF4S(20, 20)
	SCVTF4S(21, 21)
	VLD1 (R1), [V22.S4, V23.S4] // d[8]
	VLD1R (R2), [V24.S4] // d_a
	FMUL4S(22, 22, 24)
	FMUL4S(23, 23, 24)
	VFMLA V20.S4, V22.S4, V26.S4
	VFMLA V21.S4, V23.S4, V27.S4
	ADD $672, R1
	ADD $292, R2
	SUBS $1, R0
	BNE ssb
sdone:
	VST1 [V26.S4, V27.S4], (R5)
	RET
