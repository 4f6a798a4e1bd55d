#include "textflag.h"
#include "neon_arm64.h"

// dotQ4_0x8: per block, the low nibbles (quants 0-15) and high nibbles (16-31) of
// four vectors of eight rows, sixteen SDOTs into two int32 vectors, 8·Σa subtracted
// (the nibbles are used unsigned), then one scale multiply per four rows. See dot_arm64.go.

// func dotQ4_0x8(nb int, w *byte, sa *float32, a *byte, out *float32)
TEXT ·dotQ4_0x8(SB), NOSPLIT, $0-40
	MOVD nb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD sa+16(FP), R2
	MOVD a+24(FP), R3
	MOVD out+32(FP), R4
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	VMOVI $15, V28.B16
	CBZ R0, done
loop:
	VLD1.P 16(R1), [V20.B16] // the eight rows' fp16 scales
	VLD1.P 64(R1), [V0.B16, V1.B16, V2.B16, V3.B16]
	VLD1.P 64(R1), [V4.B16, V5.B16, V6.B16, V7.B16]
	ADD $2, R3 // past the activation block's fp16 scale (sa has it)
	VLD1.P 32(R3), [V16.B16, V17.B16] // quants 0-15, 16-31
	NIBBLES8
	DOTQ4X8
	VLD1R.P 4(R2), [V23.S4] // the activation block's scale
	VLD1R.P 4(R2), [V24.S4] // and 8·Σa
	SUB4S(18, 18, 24)
	SUB4S(19, 19, 24)
	SCALEACC8
	SUBS $1, R0
	BNE loop
done:
	VST1 [V26.S4, V27.S4], (R4)
	RET
