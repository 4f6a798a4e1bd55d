#include "textflag.h"
#include "neon_arm64.h"

// Q5_0, Q4_1 and Q5_1 in the q5x8, q41x8 and q51x8 layouts (putLegacyX8): the q4x8
// kernel's unpacking with the fifth bits moved to bit 4 and ORed in, SDOT, and for
// Q4_1/Q5_1 (Q8_1 activations) the m_w·s_a term instead of an offset.

// FIFTHBITS8: bit 2v (low nibbles) and 2v+1 (high ones) of the fifth-bit vectors V24
// (rows 0-3), V25 (rows 4-7) moved to bit 4 of nibble vector v's values (V29: 0x10).
#define FIFTHBITS8 \
	VSHL $4, V24.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V8.B16, V8.B16 \
	VSHL $3, V24.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V0.B16, V0.B16 \
	VSHL $4, V25.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V9.B16, V9.B16 \
	VSHL $3, V25.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V1.B16, V1.B16 \
	VSHL $2, V24.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V10.B16, V10.B16 \
	VSHL $1, V24.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V2.B16, V2.B16 \
	VSHL $2, V25.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V11.B16, V11.B16 \
	VSHL $1, V25.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V3.B16, V3.B16 \
	VAND V29.B16, V24.B16, V18.B16 \
	VORR V18.B16, V12.B16, V12.B16 \
	VUSHR $1, V24.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V4.B16, V4.B16 \
	VAND V29.B16, V25.B16, V18.B16 \
	VORR V18.B16, V13.B16, V13.B16 \
	VUSHR $1, V25.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V5.B16, V5.B16 \
	VUSHR $2, V24.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V14.B16, V14.B16 \
	VUSHR $3, V24.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V6.B16, V6.B16 \
	VUSHR $2, V25.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V15.B16, V15.B16 \
	VUSHR $3, V25.B16, V18.B16 \
	VAND V29.B16, V18.B16, V18.B16 \
	VORR V18.B16, V7.B16, V7.B16

// func dotQ5_0x8(nb int, w *byte, sa *float32, a *byte, out *float32)
TEXT ·dotQ5_0x8(SB), NOSPLIT, $0-40
	MOVD nb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD sa+16(FP), R2
	MOVD a+24(FP), R3
	MOVD out+32(FP), R4
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	VMOVI $15, V28.B16
	VMOVI $16, V29.B16
	CBZ R0, done
loop:
	VLD1.P 16(R1), [V20.B16] // the eight rows' fp16 d
	VLD1.P 64(R1), [V0.B16, V1.B16, V2.B16, V3.B16]
	VLD1.P 64(R1), [V4.B16, V5.B16, V6.B16, V7.B16]
	VLD1.P 32(R1), [V24.B16, V25.B16] // fifth bits rows 0-3, 4-7
	ADD $2, R3
	VLD1.P 32(R3), [V16.B16, V17.B16] // quants 0-15, 16-31
	NIBBLES8
	FIFTHBITS8
	DOTQ4X8
	VLD1R.P 4(R2), [V23.S4] // the activation block's d
	VLD1R.P 4(R2), [V22.S4] // and 8·Σa
	VSHL $1, V22.S4, V22.S4 // 16·Σa: the quants are stored +16
	SUB4S(18, 18, 22)
	SUB4S(19, 19, 22)
	SCALEACC8
	SUBS $1, R0
	BNE loop
done:
	VST1 [V26.S4, V27.S4], (R4)
	RET

// func dotQ4_1x8(nb int, w *byte, ds *float32, a *byte, out *float32)
TEXT ·dotQ4_1x8(SB), NOSPLIT, $0-40
	MOVD nb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD ds+16(FP), R2
	MOVD a+24(FP), R3
	MOVD out+32(FP), R4
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	VMOVI $15, V28.B16
	VMOVI $16, V29.B16
	CBZ R0, done
loop:
	VLD1.P 16(R1), [V20.B16] // the eight rows' fp16 d
	VLD1.P 16(R1), [V21.B16] // and m
	VLD1.P 64(R1), [V0.B16, V1.B16, V2.B16, V3.B16]
	VLD1.P 64(R1), [V4.B16, V5.B16, V6.B16, V7.B16]
	ADD $4, R3
	VLD1.P 32(R3), [V16.B16, V17.B16] // quants 0-15, 16-31
	NIBBLES8
	DOTQ4X8
	VLD1R.P 4(R2), [V23.S4] // the activation block's d
	VLD1R.P 4(R2), [V22.S4] // and s = d·Σa
	SCALEACC8
	FCVTL4S(12, 21)
	FCVTL24S(13, 21)
	FMLA4S(26, 12, 22)
	FMLA4S(27, 13, 22)
	SUBS $1, R0
	BNE loop
done:
	VST1 [V26.S4, V27.S4], (R4)
	RET

// func dotQ5_1x8(nb int, w *byte, ds *float32, a *byte, out *float32)
TEXT ·dotQ5_1x8(SB), NOSPLIT, $0-40
	MOVD nb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD ds+16(FP), R2
	MOVD a+24(FP), R3
	MOVD out+32(FP), R4
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	VMOVI $15, V28.B16
	VMOVI $16, V29.B16
	CBZ R0, done
loop:
	VLD1.P 16(R1), [V20.B16] // the eight rows' fp16 d
	VLD1.P 16(R1), [V21.B16] // and m
	VLD1.P 64(R1), [V0.B16, V1.B16, V2.B16, V3.B16]
	VLD1.P 64(R1), [V4.B16, V5.B16, V6.B16, V7.B16]
	VLD1.P 32(R1), [V24.B16, V25.B16] // fifth bits rows 0-3, 4-7
	ADD $4, R3
	VLD1.P 32(R3), [V16.B16, V17.B16] // quants 0-15, 16-31
	NIBBLES8
	FIFTHBITS8
	DOTQ4X8
	VLD1R.P 4(R2), [V23.S4] // the activation block's d
	VLD1R.P 4(R2), [V22.S4] // and s = d·Σa
	SCALEACC8
	FCVTL4S(12, 21)
	FCVTL24S(13, 21)
	FMLA4S(26, 12, 22)
	FMLA4S(27, 13, 22)
	SUBS $1, R0
	BNE loop
done:
	VST1 [V26.S4, V27.S4], (R4)
	RET
