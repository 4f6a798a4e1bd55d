#include "textflag.h"
#include "neon_arm64.h"

// IQ4_NL and IQ4_XS: nibbles index the 16 int8 levels (TBL), then SDOT as for q4x8.

DATA iq4tab<>+0(SB)/8, $0xF6EADDCFBFAD9881
DATA iq4tab<>+8(SB)/8, $0x7159453526190D01
GLOBL iq4tab<>(SB), RODATA|NOPTR, $16

// func dotIQ4NLx8(nb int, w *byte, as *float32, a *byte, out *float32)
TEXT ·dotIQ4NLx8(SB), NOSPLIT, $0-40
	MOVD nb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD as+16(FP), R2
	MOVD a+24(FP), R3
	MOVD out+32(FP), R4
	MOVD $iq4tab<>(SB), R5
	VLD1 (R5), [V30.B16]
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	VMOVI $15, V28.B16
	CBZ R0, nldone
nlloop:
	VLD1.P 16(R1), [V20.B16] // the eight rows' fp16 scales
	VLD1.P 64(R1), [V0.B16, V1.B16, V2.B16, V3.B16]
	VLD1.P 64(R1), [V4.B16, V5.B16, V6.B16, V7.B16]
	ADD $2, R3
	VLD1.P 32(R3), [V16.B16, V17.B16] // quants 0-15, 16-31
	NIBBLES8
	LEVELS8
	DOTQ4X8
	VLD1R.P 4(R2), [V23.S4] // the activation block's scale
	SCALEACC8
	SUBS $1, R0
	BNE nlloop
nldone:
	VST1 [V26.S4, V27.S4], (R4)
	RET

// func dotIQ4XSx8(nsb int, w *byte, a *byte, out *float32)
TEXT ·dotIQ4XSx8(SB), NOSPLIT, $0-32
	MOVD nsb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD a+16(FP), R3
	MOVD out+24(FP), R4
	MOVD $iq4tab<>(SB), R5
	VLD1 (R5), [V30.B16]
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	VMOVI $15, V28.B16
	CBZ R0, xsdone
xssb:
	ADD $32, R1, R12 // scales
	ADD $96, R1, R7 // nibbles
	ADD $4, R3, R6 // activation quants
	VEOR V24.B16, V24.B16, V24.B16 // sumi rows 0-3
	VEOR V25.B16, V25.B16, V25.B16 // rows 4-7
	MOVD $8, R8
xsj:
	VLD1.P 64(R7), [V0.B16, V1.B16, V2.B16, V3.B16]
	VLD1.P 64(R7), [V4.B16, V5.B16, V6.B16, V7.B16]
	VLD1.P 32(R6), [V16.B16, V17.B16] // the sub-block's quants 0-15, 16-31
	NIBBLES8
	LEVELS8
	DOTQ4X8
	VLD1.P 8(R12), [V20.B8] // the sub-block's scales, one byte per row
	SXTL8H(20, 20)
	SXTL4S(21, 20)
	SXTL24S(22, 20)
	MLA4S(24, 18, 21)
	MLA4S(25, 19, 22)
	SUBS $1, R8
	BNE xsj
	SCVTF4S(24, 24)
	SCVTF4S(25, 25)
	VLD1 (R1), [V12.S4, V13.S4] // d rows 0-3, 4-7
	FMUL4S(24, 24, 12)
	FMUL4S(25, 25, 13)
	VLD1R (R3), [V12.S4] // d_a
	FMLA4S(26, 24, 12)
	FMLA4S(27, 25, 12)
	ADD $1120, R1
	ADD $292, R3
	SUBS $1, R0
	BNE xssb
xsdone:
	VST1 [V26.S4, V27.S4], (R4)
	RET
