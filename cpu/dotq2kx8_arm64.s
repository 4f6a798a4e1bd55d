#include "textflag.h"
#include "neon_arm64.h"

// dotQ2Kx8: per super-block and 16-element group, the quants (0..3) of four vectors of
// eight rows × four elements, eight SDOTs into two int32 vectors, multiplied by the
// rows' group scale (MLA) into sumi, the rows' mins times Σa (side data c) into summ;
// out += d_a·(d·sumi − dmin·summ) four rows per vector. See dotq2kx8_amd64.s.

// func dotQ2Kx8(nsb int, w *byte, a *byte, c *int32, out *float32)
TEXT ·dotQ2Kx8(SB), NOSPLIT, $0-40
	MOVD nsb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD a+16(FP), R3
	MOVD c+24(FP), R9
	MOVD out+32(FP), R4
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	VMOVI $3, V28.B16
	VMOVI $15, V29.B16
	CBZ R0, done
sb:
	ADD $32, R1, R12 // scales and mins
	ADD $160, R1, R7 // quants
	ADD $4, R3, R6 // activation quants
	VEOR V24.B16, V24.B16, V24.B16 // sumi rows 0-3
	VEOR V25.B16, V25.B16, V25.B16 // rows 4-7
	VEOR V18.B16, V18.B16, V18.B16 // summ rows 0-3
	VEOR V19.B16, V19.B16, V19.B16 // rows 4-7
	MOVD $16, R8
group:
	VLD1.P 32(R7), [V0.B16, V1.B16] // L_g rows 0-3, 4-7
	VLD1.P 16(R6), [V4.B16] // the group's activations
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	VAND V28.B16, V0.B16, V5.B16
	SDOTE(14, 5, 4, 0)
	VAND V28.B16, V1.B16, V6.B16
	SDOTE(15, 6, 4, 0)
	VUSHR $2, V0.B16, V5.B16
	VAND V28.B16, V5.B16, V5.B16
	SDOTE(14, 5, 4, 1)
	VUSHR $2, V1.B16, V6.B16
	VAND V28.B16, V6.B16, V6.B16
	SDOTE(15, 6, 4, 1)
	VUSHR $4, V0.B16, V5.B16
	VAND V28.B16, V5.B16, V5.B16
	SDOTE(14, 5, 4, 2)
	VUSHR $4, V1.B16, V6.B16
	VAND V28.B16, V6.B16, V6.B16
	SDOTE(15, 6, 4, 2)
	VUSHR $6, V0.B16, V5.B16
	VAND V28.B16, V5.B16, V5.B16
	SDOTE(14, 5, 4, 3)
	VUSHR $6, V1.B16, V6.B16
	VAND V28.B16, V6.B16, V6.B16
	SDOTE(15, 6, 4, 3)
	VLD1.P 8(R12), [V20.B8] // the group's scale|min<<4, one byte per row
	VAND V29.B16, V20.B16, V21.B16 // scales
	VUSHR $4, V20.B16, V20.B16 // mins
	VUXTL V21.B8, V21.H8
	VUXTL V21.H4, V22.S4
	VUXTL2 V21.H8, V23.S4
	MLA4S(24, 14, 22)
	MLA4S(25, 15, 23)
	VUXTL V20.B8, V20.H8
	VUXTL V20.H4, V22.S4
	VUXTL2 V20.H8, V23.S4
	VLD1R.P 4(R9), [V21.S4] // Σa of the group
	MLA4S(18, 22, 21)
	MLA4S(19, 23, 21)
	SUBS $1, R8
	BNE group
	SCVTF4S(24, 24)
	SCVTF4S(25, 25)
	SCVTF4S(18, 18)
	SCVTF4S(19, 19)
	VLD1 (R1), [V12.B16, V13.B16] // d[8], dmin[8] fp16
	FCVTL4S(8, 12)
	FCVTL24S(9, 12)
	FCVTL4S(10, 13)
	FCVTL24S(11, 13)
	FMUL4S(24, 24, 8)
	FMUL4S(25, 25, 9)
	VFMLS V18.S4, V10.S4, V24.S4
	VFMLS V19.S4, V11.S4, V25.S4
	VLD1R (R3), [V12.S4] // d_a
	VFMLA V24.S4, V12.S4, V26.S4
	VFMLA V25.S4, V12.S4, V27.S4
	MOVD R7, R1
	ADD $292, R3
	SUBS $1, R0
	BNE sb
done:
	VST1 [V26.S4, V27.S4], (R4)
	RET
