//go:build !noasm

#include "textflag.h"
#include "neon_arm64.h"

// dotTQ2x8: per super-block and 16-element group, the codes (0..2) of four vectors of
// eight rows × four elements, eight SDOTs into two int32 vectors for the whole
// super-block, less Σa (side data c); out += d_a·d·sum four rows per vector. See
// dottq2_0x8_amd64.s.

// func dotTQ2x8(nsb int, w *byte, a *byte, c *int32, out *float32)
TEXT ·dotTQ2x8(SB), NOSPLIT, $0-40
	MOVD nsb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD a+16(FP), R3
	MOVD c+24(FP), R9
	MOVD out+32(FP), R4
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	VMOVI $3, V28.B16
	CBZ R0, done
sb:
	ADD $16, R1, R7 // codes
	ADD $4, R3, R6 // activation quants
	VEOR V24.B16, V24.B16, V24.B16 // Σ c·a rows 0-3
	VEOR V25.B16, V25.B16, V25.B16 // rows 4-7
	MOVD $16, R8
group:
	VLD1.P 32(R7), [V0.B16, V1.B16] // L_g rows 0-3, 4-7
	VLD1.P 16(R6), [V4.B16] // the group's activations
	VAND V28.B16, V0.B16, V5.B16
	SDOTE(24, 5, 4, 0)
	VAND V28.B16, V1.B16, V6.B16
	SDOTE(25, 6, 4, 0)
	VUSHR $2, V0.B16, V5.B16
	VAND V28.B16, V5.B16, V5.B16
	SDOTE(24, 5, 4, 1)
	VUSHR $2, V1.B16, V6.B16
	VAND V28.B16, V6.B16, V6.B16
	SDOTE(25, 6, 4, 1)
	VUSHR $4, V0.B16, V5.B16
	VAND V28.B16, V5.B16, V5.B16
	SDOTE(24, 5, 4, 2)
	VUSHR $4, V1.B16, V6.B16
	VAND V28.B16, V6.B16, V6.B16
	SDOTE(25, 6, 4, 2)
	VUSHR $6, V0.B16, V5.B16
	SDOTE(24, 5, 4, 3)
	VUSHR $6, V1.B16, V6.B16
	SDOTE(25, 6, 4, 3)
	SUBS $1, R8
	BNE group
	VLD1R.P 4(R9), [V21.S4] // Σa of the super-block
	VSUB V21.S4, V24.S4, V24.S4
	VSUB V21.S4, V25.S4, V25.S4
	SCVTF4S(24, 24)
	SCVTF4S(25, 25)
	VLD1 (R1), [V12.B16] // d[8] fp16
	FCVTL4S(8, 12)
	FCVTL24S(9, 12)
	VLD1R (R3), [V12.S4] // d_a
	FMUL4S(8, 8, 12)
	FMUL4S(9, 9, 12)
	VFMLA V24.S4, V8.S4, V26.S4
	VFMLA V25.S4, V9.S4, V27.S4
	MOVD R7, R1
	ADD $292, R3
	SUBS $1, R0
	BNE sb
done:
	VST1 [V26.S4, V27.S4], (R4)
	RET
