#include "textflag.h"
#include "neon_arm64.h"

// dotQ4Kx8: per super-block and pair jp of sub-blocks (2jp in the low nibbles, 2jp+1 in
// the high ones), eight vectors of eight rows × four bytes, 32 SDOTs into four int32
// vectors, each multiplied by its rows' sub-block scale (MLA) into sumi; the mins
// times bs (SMLAL on int16 pairs, ADDP) into summ; then
// out += d_a·(d·sumi − dmin·summ) four rows per vector. See dot_arm64.go and repackQ4Kx8Rows.

// K4HALF(a0, a1): four vectors of the pair (R7, advanced) against lanes of V(a0)
// (sub-block 2jp) and V(a1) (2jp+1), into V20, V21 (2jp) and V22, V23 (2jp+1).
#define K4HALF(a0, a1) \
	VLD1.P 64(R7), [V0.B16, V1.B16, V2.B16, V3.B16] \
	VLD1.P 64(R7), [V4.B16, V5.B16, V6.B16, V7.B16] \
	NIBBLES8 \
	SDOTE(20, 8, a0, 0) \
	SDOTE(21, 9, a0, 0) \
	SDOTE(22, 0, a1, 0) \
	SDOTE(23, 1, a1, 0) \
	SDOTE(20, 10, a0, 1) \
	SDOTE(21, 11, a0, 1) \
	SDOTE(22, 2, a1, 1) \
	SDOTE(23, 3, a1, 1) \
	SDOTE(20, 12, a0, 2) \
	SDOTE(21, 13, a0, 2) \
	SDOTE(22, 4, a1, 2) \
	SDOTE(23, 5, a1, 2) \
	SDOTE(20, 14, a0, 3) \
	SDOTE(21, 15, a0, 3) \
	SDOTE(22, 6, a1, 3) \
	SDOTE(23, 7, a1, 3)

// func dotQ4Kx8(nsb int, w *byte, a *byte, bs *int16, out *float32)
TEXT ·dotQ4Kx8(SB), NOSPLIT, $0-40
	MOVD nsb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD a+16(FP), R3
	MOVD bs+24(FP), R9
	MOVD out+32(FP), R4
	VEOR V26.B16, V26.B16, V26.B16 // rows 0-3
	VEOR V27.B16, V27.B16, V27.B16 // rows 4-7
	VMOVI $15, V28.B16
	CBZ R0, done
sb:
	ADD $64, R1, R5 // scales
	ADD $192, R1, R7 // quants
	ADD $4, R3, R6 // activation quants
	VEOR V24.B16, V24.B16, V24.B16 // sumi rows 0-3
	VEOR V25.B16, V25.B16, V25.B16 // rows 4-7
	MOVD $4, R8
pair:
	VLD1.P 64(R6), [V16.B16, V17.B16, V18.B16, V19.B16] // sub-block 2jp: V16, V17; 2jp+1: V18, V19
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16
	K4HALF(16, 18)
	K4HALF(17, 19)
	KSCALES
	SUBS $1, R8
	BNE pair
	KMINS
	MOVD R7, R1
	ADD $292, R3
	SUBS $1, R0
	BNE sb
done:
	VST1 [V26.S4, V27.S4], (R4)
	RET
