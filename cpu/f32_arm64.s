//go:build !noasm

#include "textflag.h"
#include "neon_arm64.h"

// func dotF32NEON(a, b *float32, n int) float32
TEXT ·dotF32NEON(SB), NOSPLIT, $0-28
	MOVD a+0(FP), R0
	MOVD b+8(FP), R1
	MOVD n+16(FP), R2
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
loop16:
	CMP $16, R2
	BLT loop4
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	VFMLA V4.S4, V16.S4, V0.S4
	VFMLA V5.S4, V17.S4, V1.S4
	VFMLA V6.S4, V18.S4, V2.S4
	VFMLA V7.S4, V19.S4, V3.S4
	SUB $16, R2
	B loop16
loop4:
	CMP $4, R2
	BLT sum
	VLD1.P 16(R0), [V4.S4]
	VLD1.P 16(R1), [V16.S4]
	VFMLA V4.S4, V16.S4, V0.S4
	SUB $4, R2
	B loop4
sum:
	HSUM0
scalar:
	CBZ R2, done
	FMOVS.P 4(R0), F4
	FMOVS.P 4(R1), F5
	FMULS F4, F5, F5
	FADDS F5, F0, F0
	SUB $1, R2
	B scalar
done:
	FMOVS F0, ret+24(FP)
	RET

// func axpyF32NEON(alpha float32, x, y *float32, n int)
TEXT ·axpyF32NEON(SB), NOSPLIT, $0-32
	FMOVS alpha+0(FP), F0
	VDUP V0.S[0], V0.S4
	MOVD x+8(FP), R0
	MOVD y+16(FP), R1
	MOVD n+24(FP), R2
loop16:
	CMP $16, R2
	BLT loop4
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1 (R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	VFMLA V0.S4, V4.S4, V16.S4
	VFMLA V0.S4, V5.S4, V17.S4
	VFMLA V0.S4, V6.S4, V18.S4
	VFMLA V0.S4, V7.S4, V19.S4
	VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R1)
	SUB $16, R2
	B loop16
loop4:
	CMP $4, R2
	BLT scalar
	VLD1.P 16(R0), [V4.S4]
	VLD1 (R1), [V16.S4]
	VFMLA V0.S4, V4.S4, V16.S4
	VST1.P [V16.S4], 16(R1)
	SUB $4, R2
	B loop4
scalar:
	CBZ R2, done
	FMOVS.P 4(R0), F4
	FMOVS (R1), F5
	FMULS F0, F4, F4
	FADDS F4, F5, F5
	FMOVS.P F5, 4(R1)
	SUB $1, R2
	B scalar
done:
	RET
