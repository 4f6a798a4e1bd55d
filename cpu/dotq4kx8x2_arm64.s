#include "textflag.h"
#include "neon_arm64.h"

// dotQ4Kx8x2 is dotQ4Kx8 for two tokens: each quarter of a sub-block pair's quants (two
// vectors of eight rows) is unpacked once for both. Token t: activations V(8+4t)..V(11+4t),
// int32 sums V(16+4t)..V(19+4t), sumi V(24+2t), V(25+2t), results V(28+2t), V(29+2t).

// K42QUARTER(t0lo, t1lo, t0hi, t1hi, l0, l1): two vectors of the pair (R7, advanced),
// unpacked once, against lanes l0, l1 of each token's sub-block 2jp (t0lo, t1lo) and
// 2jp+1 (t0hi, t1hi) activations. V6: 0x0F bytes; clobbers V0..V4.
#define K42QUARTER(t0lo, t1lo, t0hi, t1hi, l0, l1) \
	VLD1.P 64(R7), [V0.B16, V1.B16, V2.B16, V3.B16] \
	VAND V6.B16, V0.B16, V4.B16 \
	SDOTE(16, 4, t0lo, l0) \
	SDOTE(20, 4, t1lo, l0) \
	VUSHR $4, V0.B16, V0.B16 \
	SDOTE(18, 0, t0hi, l0) \
	SDOTE(22, 0, t1hi, l0) \
	VAND V6.B16, V1.B16, V4.B16 \
	SDOTE(17, 4, t0lo, l0) \
	SDOTE(21, 4, t1lo, l0) \
	VUSHR $4, V1.B16, V1.B16 \
	SDOTE(19, 1, t0hi, l0) \
	SDOTE(23, 1, t1hi, l0) \
	VAND V6.B16, V2.B16, V4.B16 \
	SDOTE(16, 4, t0lo, l1) \
	SDOTE(20, 4, t1lo, l1) \
	VUSHR $4, V2.B16, V2.B16 \
	SDOTE(18, 2, t0hi, l1) \
	SDOTE(22, 2, t1hi, l1) \
	VAND V6.B16, V3.B16, V4.B16 \
	SDOTE(17, 4, t0lo, l1) \
	SDOTE(21, 4, t1lo, l1) \
	VUSHR $4, V3.B16, V3.B16 \
	SDOTE(19, 3, t0hi, l1) \
	SDOTE(23, 3, t1hi, l1)

// func dotQ4Kx8x2(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int)
TEXT ·dotQ4Kx8x2(SB), NOSPLIT, $0-56
	MOVD nsb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD a+16(FP), R3
	MOVD astride+24(FP), R2
	MOVD bs+32(FP), R9
	MOVD out+40(FP), R4
	MOVD ostride+48(FP), R13
	ADD R2, R3, R10 // token 1's activations
	LSL $4, R0, R14
	ADD R14, R9, R11 // token 1's bs, 8·nsb int16 on
	VEOR V28.B16, V28.B16, V28.B16
	VEOR V29.B16, V29.B16, V29.B16
	VEOR V30.B16, V30.B16, V30.B16
	VEOR V31.B16, V31.B16, V31.B16
	VMOVI $15, V6.B16
	CBZ R0, done
sb:
	ADD $64, R1, R5 // scales
	ADD $192, R1, R7 // quants
	ADD $4, R3, R6 // token 0's quants
	ADD $4, R10, R12 // token 1's
	VEOR V24.B16, V24.B16, V24.B16
	VEOR V25.B16, V25.B16, V25.B16
	VEOR V26.B16, V26.B16, V26.B16
	VEOR V27.B16, V27.B16, V27.B16
	MOVD $4, R8
pair:
	VLD1.P 64(R6), [V8.B16, V9.B16, V10.B16, V11.B16] // token 0: sub-block 2jp V8, V9; 2jp+1 V10, V11
	VLD1.P 64(R12), [V12.B16, V13.B16, V14.B16, V15.B16] // token 1
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16
	K42QUARTER(8, 12, 10, 14, 0, 1)
	K42QUARTER(8, 12, 10, 14, 2, 3)
	K42QUARTER(9, 13, 11, 15, 0, 1)
	K42QUARTER(9, 13, 11, 15, 2, 3)
	VLD1.P 16(R5), [V0.B16] // scales of sub-blocks 2jp, 2jp+1, one byte per row
	VUXTL V0.B8, V1.H8
	VUXTL2 V0.B16, V2.H8
	VUXTL V1.H4, V3.S4
	VUXTL2 V1.H8, V4.S4
	MLA4S(24, 16, 3)
	MLA4S(25, 17, 4)
	MLA4S(26, 20, 3)
	MLA4S(27, 21, 4)
	VUXTL V2.H4, V3.S4
	VUXTL2 V2.H8, V4.S4
	MLA4S(24, 18, 3)
	MLA4S(25, 19, 4)
	MLA4S(26, 22, 3)
	MLA4S(27, 23, 4)
	SUBS $1, R8
	BNE pair
	// mins: per pair jp, each row's two mins side by side, times (bs[2jp], bs[2jp+1])
	VLD1 (R5), [V0.B16, V1.B16, V2.B16, V3.B16]
	VLD1.P 16(R9), [V4.B16]
	VLD1.P 16(R11), [V5.B16]
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	UXTL8H(16, 0)
	UXTL28H(17, 0)
	KMINACC(16, 17, 4, 0, 18, 8)
	KMINACC(16, 17, 5, 0, 19, 12)
	UXTL8H(16, 1)
	UXTL28H(17, 1)
	KMINACC(16, 17, 4, 1, 18, 8)
	KMINACC(16, 17, 5, 1, 19, 12)
	UXTL8H(16, 2)
	UXTL28H(17, 2)
	KMINACC(16, 17, 4, 2, 18, 8)
	KMINACC(16, 17, 5, 2, 19, 12)
	UXTL8H(16, 3)
	UXTL28H(17, 3)
	KMINACC(16, 17, 4, 3, 18, 8)
	KMINACC(16, 17, 5, 3, 19, 12)
	ADDP4S(8, 8, 9) // token 0 summ rows 0-3
	ADDP4S(10, 10, 11) // rows 4-7
	ADDP4S(12, 12, 13) // token 1
	ADDP4S(14, 14, 15)
	SCVTF4S(24, 24)
	SCVTF4S(25, 25)
	SCVTF4S(26, 26)
	SCVTF4S(27, 27)
	SCVTF4S(8, 8)
	SCVTF4S(10, 10)
	SCVTF4S(12, 12)
	SCVTF4S(14, 14)
	VLD1 (R1), [V0.S4, V1.S4, V2.S4, V3.S4] // d rows 0-3, 4-7, dmin rows 0-3, 4-7
	FMUL4S(24, 24, 0)
	FMUL4S(25, 25, 1)
	FMUL4S(26, 26, 0)
	FMUL4S(27, 27, 1)
	VFMLS V8.S4, V2.S4, V24.S4
	VFMLS V10.S4, V3.S4, V25.S4
	VFMLS V12.S4, V2.S4, V26.S4
	VFMLS V14.S4, V3.S4, V27.S4
	VLD1R (R3), [V4.S4] // token 0's d_a
	VLD1R (R10), [V5.S4] // token 1's
	VFMLA V24.S4, V4.S4, V28.S4
	VFMLA V25.S4, V4.S4, V29.S4
	VFMLA V26.S4, V5.S4, V30.S4
	VFMLA V27.S4, V5.S4, V31.S4
	MOVD R7, R1
	ADD $292, R3
	ADD $292, R10
	SUBS $1, R0
	BNE sb
done:
	VST1 [V28.S4, V29.S4], (R4)
	ADD R13, R4
	VST1 [V30.S4, V31.S4], (R4)
	RET
