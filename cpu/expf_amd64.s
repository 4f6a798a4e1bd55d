//go:build !noasm

#include "textflag.h"

// Constants of ggml_v_expf, eight lanes each.
DATA expr<>+0(SB)/8, $0x4b4000004b400000
DATA expr<>+8(SB)/8, $0x4b4000004b400000
DATA expr<>+16(SB)/8, $0x4b4000004b400000
DATA expr<>+24(SB)/8, $0x4b4000004b400000
GLOBL expr<>(SB), RODATA|NOPTR, $32
DATA explog2e<>+0(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA explog2e<>+8(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA explog2e<>+16(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA explog2e<>+24(SB)/8, $0x3fb8aa3b3fb8aa3b
GLOBL explog2e<>(SB), RODATA|NOPTR, $32
DATA expln2hi<>+0(SB)/8, $0x3f3172003f317200
DATA expln2hi<>+8(SB)/8, $0x3f3172003f317200
DATA expln2hi<>+16(SB)/8, $0x3f3172003f317200
DATA expln2hi<>+24(SB)/8, $0x3f3172003f317200
GLOBL expln2hi<>(SB), RODATA|NOPTR, $32
DATA expln2lo<>+0(SB)/8, $0x35bfbe8e35bfbe8e
DATA expln2lo<>+8(SB)/8, $0x35bfbe8e35bfbe8e
DATA expln2lo<>+16(SB)/8, $0x35bfbe8e35bfbe8e
DATA expln2lo<>+24(SB)/8, $0x35bfbe8e35bfbe8e
GLOBL expln2lo<>(SB), RODATA|NOPTR, $32
DATA expc4<>+0(SB)/8, $0x3c0720103c072010
DATA expc4<>+8(SB)/8, $0x3c0720103c072010
DATA expc4<>+16(SB)/8, $0x3c0720103c072010
DATA expc4<>+24(SB)/8, $0x3c0720103c072010
GLOBL expc4<>(SB), RODATA|NOPTR, $32
DATA expc3<>+0(SB)/8, $0x3d2b9f173d2b9f17
DATA expc3<>+8(SB)/8, $0x3d2b9f173d2b9f17
DATA expc3<>+16(SB)/8, $0x3d2b9f173d2b9f17
DATA expc3<>+24(SB)/8, $0x3d2b9f173d2b9f17
GLOBL expc3<>(SB), RODATA|NOPTR, $32
DATA expc2<>+0(SB)/8, $0x3e2aaf333e2aaf33
DATA expc2<>+8(SB)/8, $0x3e2aaf333e2aaf33
DATA expc2<>+16(SB)/8, $0x3e2aaf333e2aaf33
DATA expc2<>+24(SB)/8, $0x3e2aaf333e2aaf33
GLOBL expc2<>(SB), RODATA|NOPTR, $32
DATA expc1<>+0(SB)/8, $0x3efffedb3efffedb
DATA expc1<>+8(SB)/8, $0x3efffedb3efffedb
DATA expc1<>+16(SB)/8, $0x3efffedb3efffedb
DATA expc1<>+24(SB)/8, $0x3efffedb3efffedb
GLOBL expc1<>(SB), RODATA|NOPTR, $32
DATA expc0<>+0(SB)/8, $0x3f7ffff63f7ffff6
DATA expc0<>+8(SB)/8, $0x3f7ffff63f7ffff6
DATA expc0<>+16(SB)/8, $0x3f7ffff63f7ffff6
DATA expc0<>+24(SB)/8, $0x3f7ffff63f7ffff6
GLOBL expc0<>(SB), RODATA|NOPTR, $32
DATA expone<>+0(SB)/8, $0x3f8000003f800000
DATA expone<>+8(SB)/8, $0x3f8000003f800000
DATA expone<>+16(SB)/8, $0x3f8000003f800000
DATA expone<>+24(SB)/8, $0x3f8000003f800000
GLOBL expone<>(SB), RODATA|NOPTR, $32
DATA expabs<>+0(SB)/8, $0x7fffffff7fffffff
DATA expabs<>+8(SB)/8, $0x7fffffff7fffffff
DATA expabs<>+16(SB)/8, $0x7fffffff7fffffff
DATA expabs<>+24(SB)/8, $0x7fffffff7fffffff
GLOBL expabs<>(SB), RODATA|NOPTR, $32
DATA exp126<>+0(SB)/8, $0x42fc000042fc0000
DATA exp126<>+8(SB)/8, $0x42fc000042fc0000
DATA exp126<>+16(SB)/8, $0x42fc000042fc0000
DATA exp126<>+24(SB)/8, $0x42fc000042fc0000
GLOBL exp126<>(SB), RODATA|NOPTR, $32

// func expSubAVX2(x *float32, n int, m float32) int
TEXT ·expSubAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Y15
	VMOVUPS expr<>(SB), Y14
	VMOVUPS explog2e<>(SB), Y13
	VMOVUPS expln2hi<>(SB), Y12
	VMOVUPS expln2lo<>(SB), Y11
	XORQ AX, AX
exploop:
	CMPQ AX, CX
	JGE expdone
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS Y15, Y0, Y0           // x - m
	VMOVAPS Y14, Y1
	VFMADD231PS Y13, Y0, Y1      // z = x·log2e + r
	VSUBPS Y14, Y1, Y2           // n = z - r
	VMOVAPS Y0, Y3
	VFNMADD231PS Y12, Y2, Y3
	VFNMADD231PS Y11, Y2, Y3     // b = x - n·ln2hi - n·ln2lo
	VANDPS expabs<>(SB), Y2, Y4
	VCMPPS $0x1e, exp126<>(SB), Y4, Y4
	VMOVMSKPS Y4, DX
	TESTL DX, DX
	JNZ expdone                  // |n| > 126 in a lane: the caller finishes this block
	VMULPS Y3, Y3, Y4            // u = b²
	VMOVUPS expc4<>(SB), Y5
	VFMADD213PS expc3<>(SB), Y3, Y5
	VMOVUPS expc2<>(SB), Y6
	VFMADD213PS expc1<>(SB), Y3, Y6
	VFMADD213PS Y6, Y4, Y5
	VMULPS expc0<>(SB), Y3, Y7   // c0·b
	VFMADD213PS Y7, Y4, Y5       // j, without the polynomial's 1
	VPSLLD $23, Y1, Y1
	VPADDD expone<>(SB), Y1, Y1  // k = 2^n from z's low bits
	VFMADD213PS Y1, Y1, Y5       // j·k + k
	VMOVUPS Y5, (SI)(AX*4)
	ADDQ $8, AX
	JMP exploop
expdone:
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET
