//go:build !noasm

#include "textflag.h"
#include "neon_arm64.h"

// ABSMAX8: the largest |x| of V0..V7 into F16 (clobbers V16..V23).
#define ABSMAX8 \
	FABS4S(16, 0) \
	FABS4S(17, 1) \
	FABS4S(18, 2) \
	FABS4S(19, 3) \
	FABS4S(20, 4) \
	FABS4S(21, 5) \
	FABS4S(22, 6) \
	FABS4S(23, 7) \
	FMAX4S(16, 16, 17) \
	FMAX4S(18, 18, 19) \
	FMAX4S(20, 20, 21) \
	FMAX4S(22, 22, 23) \
	FMAX4S(16, 16, 18) \
	FMAX4S(20, 20, 22) \
	FMAX4S(16, 16, 20) \
	FMAXV4S(16, 16)

// ROUND8: V0..V7 times the broadcast V20, rounded to int32 (ties to even).
#define ROUND8 \
	FMUL4S(0, 0, 20) \
	FMUL4S(1, 1, 20) \
	FMUL4S(2, 2, 20) \
	FMUL4S(3, 3, 20) \
	FMUL4S(4, 4, 20) \
	FMUL4S(5, 5, 20) \
	FMUL4S(6, 6, 20) \
	FMUL4S(7, 7, 20) \
	FCVTNS4S(0, 0) \
	FCVTNS4S(1, 1) \
	FCVTNS4S(2, 2) \
	FCVTNS4S(3, 3) \
	FCVTNS4S(4, 4) \
	FCVTNS4S(5, 5) \
	FCVTNS4S(6, 6) \
	FCVTNS4S(7, 7)

// NARROW8: the int32 V0..V7 (within int8) as 32 bytes in V12, V13.
#define NARROW8 \
	SQXTN4H(8, 0) \
	SQXTN28H(8, 1) \
	SQXTN4H(9, 2) \
	SQXTN28H(9, 3) \
	SQXTN4H(10, 4) \
	SQXTN28H(10, 5) \
	SQXTN4H(11, 6) \
	SQXTN28H(11, 7) \
	SQXTN8B(12, 8) \
	SQXTN216B(12, 9) \
	SQXTN8B(13, 10) \
	SQXTN216B(13, 11)

// func quantizeQ8_0NEON(x *float32, nb int, dst *byte, sc *float32, sstride int)
// nb blocks of 32 floats into Q8_0 blocks as tensor.QuantizeQ8_0Act does (fp16 d =
// amax/127, q = round-to-even(x·127/amax)); block i's d as float32 goes to
// sc[i·sstride], and when sstride is 2, 8·Σq as an int32 to sc[i·sstride+1].
TEXT ·quantizeQ8_0NEON(SB), NOSPLIT, $0-40
	MOVD x+0(FP), R0
	MOVD nb+8(FP), R1
	MOVD dst+16(FP), R2
	MOVD sc+24(FP), R3
	MOVD sstride+32(FP), R4
	LSL $2, R4, R4
	MOVW $0x42FE0000, R5 // 127.0
	FMOVS R5, F30
	CBZ R1, q0done
q0loop:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	ABSMAX8
	FDIVS F30, F16, F17 // d = amax/127
	FCVTSH F17, F18
	VMOV V18.H[0], R5
	MOVH R5, (R2)
	FCVTHS F18, F19
	FMOVS F19, (R3) // d as the fp16 stores it
	VEOR V20.B16, V20.B16, V20.B16
	FCMPS $(0.0), F16
	BEQ q0scale // amax 0: id 0
	FDIVS F16, F30, F20 // id = 127/amax
q0scale:
	VDUP V20.S[0], V20.S4
	ROUND8
	CMP $8, R4
	BNE q0pack
	ADD4S(24, 0, 1)
	ADD4S(25, 2, 3)
	ADD4S(26, 4, 5)
	ADD4S(27, 6, 7)
	ADD4S(24, 24, 25)
	ADD4S(26, 26, 27)
	ADD4S(24, 24, 26)
	ADDV4S(24, 24)
	VMOV V24.S[0], R5
	LSLW $3, R5, R5
	MOVW R5, 4(R3) // 8·Σq
q0pack:
	NARROW8
	ADD $2, R2
	VST1.P [V12.B16, V13.B16], 32(R2)
	ADD R4, R3
	SUBS $1, R1
	BNE q0loop
q0done:
	RET

// func quantizeQ8_KNEON(x *float32, nsb int, dst *byte)
// nsb super-blocks of 256 floats into Q8_K blocks as tensor.QuantizeQ8_K does: max is
// the first element of largest magnitude, iscale = −127/max, q = min(127,
// round-to-even(iscale·x)), d = 1/iscale, and the sixteen 16-element sums of q.
TEXT ·quantizeQ8_KNEON(SB), NOSPLIT, $0-24
	MOVD x+0(FP), R0
	MOVD nsb+8(FP), R1
	MOVD dst+16(FP), R2
	MOVW $0xC2FE0000, R5 // −127.0
	FMOVS R5, F30
	MOVW $0x3F800000, R5 // 1.0
	FMOVS R5, F31
	MOVW $127, R5
	VDUP R5, V29.S4
	CBZ R1, kqdone
kqsb:
	// amax over the 256 values
	MOVD R0, R6
	VEOR V24.B16, V24.B16, V24.B16
	MOVD $8, R7
kqmax:
	VLD1.P 64(R6), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R6), [V4.S4, V5.S4, V6.S4, V7.S4]
	ABSMAX8
	VDUP V16.S[0], V16.S4
	FMAX4S(24, 24, 16)
	SUBS $1, R7
	BNE kqmax
	FMOVS F24, F16 // amax (every lane of V24 holds it)
	FCMPS $(0.0), F16
	BEQ kqzero
	// max: the first element whose magnitude is amax
	VDUP V16.S[0], V16.S4
	MOVD R0, R6
kqfind:
	VLD1.P 16(R6), [V0.S4]
	FABS4S(0, 0)
	FCMEQ4S(0, 0, 16)
	UMAXV4S(0, 0)
	VMOV V0.S[0], R5
	CBZW R5, kqfind
	SUB $16, R6
kqlane:
	FMOVS.P 4(R6), F1
	FABSS F1, F2
	FCMPS F16, F2
	BNE kqlane
	FDIVS F1, F30, F20 // iscale = −127/max
	FDIVS F20, F31, F21 // d = 1/iscale
	FMOVS F21, (R2)
	VDUP V20.S[0], V20.S4
	ADD $4, R2, R8 // quants
	ADD $260, R2, R9 // bsums
	MOVD $8, R7
kqchunk:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	ROUND8
	SMIN4S(0, 0, 29)
	SMIN4S(1, 1, 29)
	SMIN4S(2, 2, 29)
	SMIN4S(3, 3, 29)
	SMIN4S(4, 4, 29)
	SMIN4S(5, 5, 29)
	SMIN4S(6, 6, 29)
	SMIN4S(7, 7, 29)
	ADD4S(24, 0, 1) // the chunk's two 16-element sums
	ADD4S(25, 2, 3)
	ADD4S(24, 24, 25)
	ADDV4S(24, 24)
	VMOV V24.S[0], R5
	MOVH.P R5, 2(R9)
	ADD4S(24, 4, 5)
	ADD4S(25, 6, 7)
	ADD4S(24, 24, 25)
	ADDV4S(24, 24)
	VMOV V24.S[0], R5
	MOVH.P R5, 2(R9)
	NARROW8
	VST1.P [V12.B16, V13.B16], 32(R8)
	SUBS $1, R7
	BNE kqchunk
	ADD $292, R2
	SUBS $1, R1
	BNE kqsb
	RET
kqzero:
	VEOR V0.B16, V0.B16, V0.B16 // 292 zero bytes
	VEOR V1.B16, V1.B16, V1.B16
	MOVD R2, R6
	MOVD $9, R7
kqz:
	VST1.P [V0.B16, V1.B16], 32(R6)
	SUBS $1, R7
	BNE kqz
	MOVW ZR, (R6)
	ADD $1024, R0
	ADD $292, R2
	SUBS $1, R1
	BNE kqsb
kqdone:
	RET
