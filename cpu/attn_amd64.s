//go:build !noasm

#include "textflag.h"

// func attnScoresAVX2(q, k *float32, kstride, n, hd int, scale float32, out *float32)
// out[j] = scale · Σ_e q[e]·k[j·kstride+e] for j < n; hd a positive multiple of 8.
// Four keys share each load of q and one horizontal reduction.
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
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMULPS X15, X0, X0
	VMOVUPS X0, (R8)
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
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMULSS X15, X0, X0
	VMOVSS X0, (R8)
	ADDQ $4, R8
	ADDQ BX, DI
	DECQ CX
	JMP sc1
scdone:
	VZEROUPPER
	RET

// func attnAccumAVX2(p, v *float32, vstride, n, hd int, acc *float32)
// acc[e] += Σ_j p[j]·v[j·vstride+e] for e < hd (a positive multiple of 32), j in order:
// the same fused multiply-adds as one axpy per key, with acc kept in registers.
TEXT ·attnAccumAVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), SI
	MOVQ v+8(FP), DI
	MOVQ vstride+16(FP), BX
	SHLQ $2, BX
	MOVQ n+24(FP), R12
	MOVQ hd+32(FP), DX
	MOVQ acc+40(FP), R8
accchunk:
	VMOVUPS (R8), Y0
	VMOVUPS 32(R8), Y1
	VMOVUPS 64(R8), Y2
	VMOVUPS 96(R8), Y3
	MOVQ DI, R9
	XORQ CX, CX
	TESTQ R12, R12
	JZ accstore
acckey:
	VBROADCASTSS (SI)(CX*4), Y4
	VFMADD231PS (R9), Y4, Y0
	VFMADD231PS 32(R9), Y4, Y1
	VFMADD231PS 64(R9), Y4, Y2
	VFMADD231PS 96(R9), Y4, Y3
	ADDQ BX, R9
	INCQ CX
	CMPQ CX, R12
	JLT acckey
accstore:
	VMOVUPS Y0, (R8)
	VMOVUPS Y1, 32(R8)
	VMOVUPS Y2, 64(R8)
	VMOVUPS Y3, 96(R8)
	ADDQ $128, R8
	ADDQ $128, DI
	SUBQ $32, DX
	JG accchunk
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
