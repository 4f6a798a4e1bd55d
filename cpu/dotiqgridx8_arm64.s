//go:build !noasm

#include "textflag.h"
#include "neon_arm64.h"

// dotGridX8: per row and 16-element group, its two table entries (magnitudes) in V1,
// their sign masks in V2, the activations negated where the sign is set ((a ^ m) − m;
// Q8_K has no −128), one SDOT into V5 and V8 += sc·V5; each row's sum goes to sums,
// then out += d_a·d·float32(sums) per super-block. See dotiqgridx8_amd64.s.

// func dotGridX8(nsb int, w, a, mags, signs *byte, sums *int32, out *float32)
TEXT ·dotGridX8(SB), NOSPLIT, $0-56
	MOVD nsb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD a+16(FP), R2
	MOVD mags+24(FP), R3
	MOVD signs+32(FP), R4
	MOVD sums+40(FP), R6
	MOVD out+48(FP), R5
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	CBZ R0, done
sb:
	ADD $32, R1, R10 // row 0
	MOVD R6, R21
	MOVD $8, R7
row:
	ADD $16, R10, R13 // indices
	ADD $80, R10, R19 // sign bytes
	MOVD R10, R20 // scales
	ADD $4, R2, R12 // activation quants
	VEOR V8.B16, V8.B16, V8.B16
	MOVD $16, R8
group:
	MOVHU.P 2(R13), R14
	MOVHU.P 2(R13), R15
	MOVBU.P 1(R19), R16
	MOVBU.P 1(R19), R17
	MOVD (R3)(R14<<3), R14
	MOVD (R3)(R15<<3), R15
	MOVD (R4)(R16<<3), R16
	MOVD (R4)(R17<<3), R17
	VMOV R14, V1.D[0]
	VMOV R15, V1.D[1]
	VMOV R16, V2.D[0]
	VMOV R17, V2.D[1]
	VLD1.P 16(R12), [V3.B16]
	VEOR V2.B16, V3.B16, V3.B16
	VSUB V2.B16, V3.B16, V3.B16
	VEOR V5.B16, V5.B16, V5.B16
	SDOTV(5, 3, 1)
	MOVBU.P 1(R20), R14
	VDUP R14, V6.S4
	MLA4S(8, 5, 6)
	SUBS $1, R8
	BNE group
	VADDV V8.S4, V8
	VMOV V8.S[0], R14
	MOVW.P R14, 4(R21)
	ADD $112, R10
	SUBS $1, R7
	BNE row
	VLD1 (R6), [V20.S4, V21.S4]
	SCVTF4S(20, 20)
	SCVTF4S(21, 21)
	VLD1 (R1), [V22.S4, V23.S4] // d[8]
	VLD1R (R2), [V24.S4] // d_a
	FMUL4S(22, 22, 24)
	FMUL4S(23, 23, 24)
	VFMLA V20.S4, V22.S4, V26.S4
	VFMLA V21.S4, V23.S4, V27.S4
	ADD $928, R1
	ADD $292, R2
	SUBS $1, R0
	BNE sb
done:
	VST1 [V26.S4, V27.S4], (R5)
	RET
