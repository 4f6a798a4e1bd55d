#include "textflag.h"
#include "neon_arm64.h"

// dotQ8_0x8: per block, sixteen SDOTs (eight rows × 32 quants, two rows of four per
// register) into two int32 vectors, then one scale multiply per four rows. See dot_arm64.go.

// func dotQ8_0x8(nb int, w *byte, as *float32, a *byte, out *float32)
TEXT ·dotQ8_0x8(SB), NOSPLIT, $0-40
	MOVD nb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD as+16(FP), R2
	MOVD a+24(FP), R3
	MOVD out+32(FP), R4
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	CBZ R0, done
loop:
	VLD1.P 16(R1), [V20.B16] // the eight rows' fp16 scales
	VLD1.P 64(R1), [V0.B16, V1.B16, V2.B16, V3.B16] // vector v: V(2v) rows 0-3, V(2v+1) rows 4-7, four quants each
	VLD1.P 64(R1), [V4.B16, V5.B16, V6.B16, V7.B16]
	VLD1.P 64(R1), [V8.B16, V9.B16, V10.B16, V11.B16]
	VLD1.P 64(R1), [V12.B16, V13.B16, V14.B16, V15.B16]
	ADD $2, R3 // past the activation block's fp16 scale (as has it)
	VLD1.P 32(R3), [V16.B16, V17.B16]
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	SDOTE(18, 0, 16, 0)
	SDOTE(19, 1, 16, 0)
	SDOTE(18, 2, 16, 1)
	SDOTE(19, 3, 16, 1)
	SDOTE(18, 4, 16, 2)
	SDOTE(19, 5, 16, 2)
	SDOTE(18, 6, 16, 3)
	SDOTE(19, 7, 16, 3)
	SDOTE(18, 8, 17, 0)
	SDOTE(19, 9, 17, 0)
	SDOTE(18, 10, 17, 1)
	SDOTE(19, 11, 17, 1)
	SDOTE(18, 12, 17, 2)
	SDOTE(19, 13, 17, 2)
	SDOTE(18, 14, 17, 3)
	SDOTE(19, 15, 17, 3)
	VLD1R.P 4(R2), [V23.S4] // the activation block's scale
	SCALEACC8
	SUBS $1, R0
	BNE loop
done:
	VST1 [V26.S4, V27.S4], (R4)
	RET
