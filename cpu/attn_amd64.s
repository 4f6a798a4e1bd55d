//go:build !noasm

#include "textflag.h"

// func attnScoresAVX2(q, k *float32, kstride, n, hd int, scale float32, out *float32)
// out[j] = scale · Σ_e q[e]·k[j·kstride+e] for j < n; hd a positive multiple of 8.
// Lane e%8 accumulates by FMA; the lanes are added as hsum8 (tinyBLAS's order). Four
// keys share each load of q.
TEXT ·attnScoresAVX2(SB), NOSPLIT, $0-56
	MOVQ q+0(FP), SI
	MOVQ k+8(FP), DI
	MOVQ kstride+16(FP), BX
	SHLQ $2, BX
	MOVQ n+24(FP), CX
	MOVQ hd+32(FP), R12
	SHLQ $2, R12
	VBROADCASTSS scale+40(FP), Y15
	MOVQ out+48(FP), R8
sc4:
	CMPQ CX, $4
	JLT sc1
	LEAQ (DI)(BX*1), R9
	LEAQ (R9)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX
sc4inner:
	VMOVUPS (SI)(AX*1), Y4
	VFMADD231PS (DI)(AX*1), Y4, Y0
	VFMADD231PS (R9)(AX*1), Y4, Y1
	VFMADD231PS (R10)(AX*1), Y4, Y2
	VFMADD231PS (R11)(AX*1), Y4, Y3
	ADDQ $32, AX
	CMPQ AX, R12
	JLT sc4inner
	// each key's lanes added as hsum8: hi+lo, then (0+2)+(1+3)
	VEXTRACTF128 $1, Y0, X5
	VADDPS X5, X0, X0
	VMOVHLPS X0, X0, X5
	VADDPS X5, X0, X0
	VMOVSHDUP X0, X5
	VADDSS X5, X0, X0
	VMULSS X15, X0, X0
	VMOVSS X0, (R8)
	VEXTRACTF128 $1, Y1, X5
	VADDPS X5, X1, X1
	VMOVHLPS X1, X1, X5
	VADDPS X5, X1, X1
	VMOVSHDUP X1, X5
	VADDSS X5, X1, X1
	VMULSS X15, X1, X1
	VMOVSS X1, 4(R8)
	VEXTRACTF128 $1, Y2, X5
	VADDPS X5, X2, X2
	VMOVHLPS X2, X2, X5
	VADDPS X5, X2, X2
	VMOVSHDUP X2, X5
	VADDSS X5, X2, X2
	VMULSS X15, X2, X2
	VMOVSS X2, 8(R8)
	VEXTRACTF128 $1, Y3, X5
	VADDPS X5, X3, X3
	VMOVHLPS X3, X3, X5
	VADDPS X5, X3, X3
	VMOVSHDUP X3, X5
	VADDSS X5, X3, X3
	VMULSS X15, X3, X3
	VMOVSS X3, 12(R8)
	ADDQ $16, R8
	LEAQ (R11)(BX*1), DI
	SUBQ $4, CX
	JMP sc4
sc1:
	TESTQ CX, CX
	JZ scdone
	VXORPS Y0, Y0, Y0
	XORQ AX, AX
sc1inner:
	VMOVUPS (SI)(AX*1), Y4
	VFMADD231PS (DI)(AX*1), Y4, Y0
	ADDQ $32, AX
	CMPQ AX, R12
	JLT sc1inner
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMULSS X15, X0, X0
	VMOVSS X0, (R8)
	ADDQ $4, R8
	ADDQ BX, DI
	DECQ CX
	JMP sc1
scdone:
	VZEROUPPER
	RET

// func scaleRoundF16AVX2(x *float32, n int, s float32)
// x[i] = float32(float16(x[i]·s)) (round to nearest even) for i < n, a multiple of 8.
TEXT ·scaleRoundF16AVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y15
	TESTQ CX, CX
	JZ srdone
srloop:
	VMULPS (SI), Y15, Y0
	VCVTPS2PH $0, Y0, X1
	VCVTPH2PS X1, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ srloop
srdone:
	VZEROUPPER
	RET

// func attnValuesAVX2(p, v *float32, vstride, n, hd int, out *float32)
// out[e] = hsum8 over lanes l of Σ_{j<n, j%8=l} p[j]·v[j·vstride+e] (each lane by FMA,
// key order), for e < hd, a positive multiple of 8. Eight elements at a time, the
// eight lanes in Y0–Y7 over all keys.
TEXT ·attnValuesAVX2(SB), NOSPLIT, $0-48
	MOVQ vstride+16(FP), BX
	SHLQ $2, BX
	MOVQ hd+32(FP), R12
	MOVQ out+40(FP), R8
	XORQ R13, R13                     // byte offset of this block of 8 elements
avblock:
	MOVQ p+0(FP), SI
	MOVQ v+8(FP), DI
	ADDQ R13, DI
	MOVQ n+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
av8:
	CMPQ CX, $8
	JLT avtail
	VBROADCASTSS 0(SI), Y8
	VFMADD231PS (DI), Y8, Y0
	ADDQ BX, DI
	VBROADCASTSS 4(SI), Y8
	VFMADD231PS (DI), Y8, Y1
	ADDQ BX, DI
	VBROADCASTSS 8(SI), Y8
	VFMADD231PS (DI), Y8, Y2
	ADDQ BX, DI
	VBROADCASTSS 12(SI), Y8
	VFMADD231PS (DI), Y8, Y3
	ADDQ BX, DI
	VBROADCASTSS 16(SI), Y8
	VFMADD231PS (DI), Y8, Y4
	ADDQ BX, DI
	VBROADCASTSS 20(SI), Y8
	VFMADD231PS (DI), Y8, Y5
	ADDQ BX, DI
	VBROADCASTSS 24(SI), Y8
	VFMADD231PS (DI), Y8, Y6
	ADDQ BX, DI
	VBROADCASTSS 28(SI), Y8
	VFMADD231PS (DI), Y8, Y7
	ADDQ BX, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP av8
avtail: // fewer than 8 keys left: lanes 0, 1, ... in order
	TESTQ CX, CX
	JZ avsum
	VBROADCASTSS 0(SI), Y8
	VFMADD231PS (DI), Y8, Y0
	ADDQ BX, DI
	DECQ CX
	JZ avsum
	VBROADCASTSS 4(SI), Y8
	VFMADD231PS (DI), Y8, Y1
	ADDQ BX, DI
	DECQ CX
	JZ avsum
	VBROADCASTSS 8(SI), Y8
	VFMADD231PS (DI), Y8, Y2
	ADDQ BX, DI
	DECQ CX
	JZ avsum
	VBROADCASTSS 12(SI), Y8
	VFMADD231PS (DI), Y8, Y3
	ADDQ BX, DI
	DECQ CX
	JZ avsum
	VBROADCASTSS 16(SI), Y8
	VFMADD231PS (DI), Y8, Y4
	ADDQ BX, DI
	DECQ CX
	JZ avsum
	VBROADCASTSS 20(SI), Y8
	VFMADD231PS (DI), Y8, Y5
	ADDQ BX, DI
	DECQ CX
	JZ avsum
	VBROADCASTSS 24(SI), Y8
	VFMADD231PS (DI), Y8, Y6
avsum: // ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), as hsum8
	VADDPS Y4, Y0, Y0
	VADDPS Y6, Y2, Y2
	VADDPS Y2, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y7, Y3, Y3
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (R8)(R13*1)
	ADDQ $32, R13
	MOVQ R12, AX
	SHLQ $2, AX
	CMPQ R13, AX
	JLT avblock
	VZEROUPPER
	RET
