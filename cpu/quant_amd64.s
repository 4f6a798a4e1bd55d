//go:build !noasm

#include "textflag.h"

DATA absmask<>+0(SB)/4, $0x7fffffff
GLOBL absmask<>(SB), RODATA|NOPTR, $4
DATA f127<>+0(SB)/4, $127.0
GLOBL f127<>(SB), RODATA|NOPTR, $4
// packperm<>: VPERMD order that undoes the lane interleaving of VPACKSSDW+VPACKSSWB.
DATA packperm<>+0(SB)/4, $0
DATA packperm<>+4(SB)/4, $4
DATA packperm<>+8(SB)/4, $1
DATA packperm<>+12(SB)/4, $5
DATA packperm<>+16(SB)/4, $2
DATA packperm<>+20(SB)/4, $6
DATA packperm<>+24(SB)/4, $3
DATA packperm<>+28(SB)/4, $7
GLOBL packperm<>(SB), RODATA|NOPTR, $32

// func quantizeQ8_0AVX2(x *float32, nb int, dst *byte, sc *float32, sstride int)
// nb blocks of 32 floats into Q8_0 blocks (fp16 d = amax/127, q = round-to-even(x·127/amax)),
// as tensor.QuantizeQ8_0Act does; block i's d as float32 goes to sc[i·sstride], and when
// sstride is 2, 8·Σq as an int32 to sc[i·sstride+1].
TEXT ·quantizeQ8_0AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVQ sc+24(FP), R8
	MOVQ sstride+32(FP), R9
	SHLQ $2, R9
	VBROADCASTSS absmask<>(SB), Y15
	VMOVSS f127<>(SB), X14
	VMOVDQU packperm<>(SB), Y13
qloop:
	TESTQ CX, CX
	JZ qdone
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS Y15, Y0, Y4
	VANDPS Y15, Y1, Y5
	VMAXPS Y5, Y4, Y4
	VANDPS Y15, Y2, Y5
	VMAXPS Y5, Y4, Y4
	VANDPS Y15, Y3, Y5
	VMAXPS Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0x4e, X4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0xb1, X4, X5
	VMAXPS X5, X4, X4            // amax in every lane
	VDIVSS X14, X4, X6           // d = amax / 127
	VCVTPS2PH $0, X6, X7
	VPEXTRW $0, X7, AX
	MOVW AX, (DI)
	VCVTPH2PS X7, X7
	VMOVSS X7, (R8)
	VXORPS X9, X9, X9
	VUCOMISS X9, X4
	JEQ qscale                   // amax 0: id 0
	VDIVSS X4, X14, X9           // id = 127 / amax
qscale:
	VBROADCASTSS X9, Y9
	VMULPS Y9, Y0, Y0
	VMULPS Y9, Y1, Y1
	VMULPS Y9, Y2, Y2
	VMULPS Y9, Y3, Y3
	VCVTPS2DQ Y0, Y0             // round to nearest even (Go's MXCSR default)
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	CMPQ R9, $8
	JNE qpack
	VPADDD Y1, Y0, Y10
	VPADDD Y3, Y2, Y11
	VPADDD Y11, Y10, Y10
	VEXTRACTI128 $1, Y10, X11
	VPADDD X11, X10, X10
	VPSHUFD $0x4e, X10, X11
	VPADDD X11, X10, X10
	VPSHUFD $0xb1, X10, X11
	VPADDD X11, X10, X10
	VMOVD X10, AX
	SHLL $3, AX
	MOVL AX, 4(R8)
qpack:
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y13, Y0
	VMOVDQU Y0, 2(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	ADDQ R9, R8
	DECQ CX
	JMP qloop
qdone:
	VZEROUPPER
	RET

DATA fm127<>+0(SB)/4, $-127.0
GLOBL fm127<>(SB), RODATA|NOPTR, $4
DATA f1<>+0(SB)/4, $1.0
GLOBL f1<>(SB), RODATA|NOPTR, $4
DATA i127<>+0(SB)/4, $127
GLOBL i127<>(SB), RODATA|NOPTR, $4

// func quantizeQ8_KAVX2(x *float32, nsb int, dst *byte)
// nsb super-blocks of 256 floats into Q8_K blocks as tensor.QuantizeQ8_K does: max is
// the first element of largest magnitude, iscale = −127/max, q = min(127,
// round-to-even(iscale·x)), d = 1/iscale, and the sixteen 16-element sums of q.
TEXT ·quantizeQ8_KAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ nsb+8(FP), CX
	MOVQ dst+16(FP), DI
	VBROADCASTSS absmask<>(SB), Y15
	VPBROADCASTD i127<>(SB), Y14
	VMOVDQU packperm<>(SB), Y13
kqsb:
	TESTQ CX, CX
	JZ kqdone
	// amax over the 256 values, four vectors at a time
	VANDPS (SI), Y15, Y4
	VANDPS 32(SI), Y15, Y5
	VANDPS 64(SI), Y15, Y6
	VANDPS 96(SI), Y15, Y7
	MOVQ $128, AX
kqmax:
	VANDPS (SI)(AX*1), Y15, Y0
	VMAXPS Y0, Y4, Y4
	VANDPS 32(SI)(AX*1), Y15, Y0
	VMAXPS Y0, Y5, Y5
	VANDPS 64(SI)(AX*1), Y15, Y0
	VMAXPS Y0, Y6, Y6
	VANDPS 96(SI)(AX*1), Y15, Y0
	VMAXPS Y0, Y7, Y7
	ADDQ $128, AX
	CMPQ AX, $1024
	JLT kqmax
	VMAXPS Y5, Y4, Y4
	VMAXPS Y7, Y6, Y6
	VMAXPS Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0x4e, X4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0xb1, X4, X5
	VMAXPS X5, X4, X4            // amax in every lane
	VXORPS X9, X9, X9
	VUCOMISS X9, X4
	JEQ kqzero
	VINSERTF128 $1, X4, Y4, Y4
	// max: the first element whose magnitude is amax
	XORQ AX, AX
kqfind:
	VANDPS (SI)(AX*4), Y15, Y0
	VCMPPS $0, Y4, Y0, Y0        // equal
	VMOVMSKPS Y0, BX
	TESTL BX, BX
	JNZ kqfound
	ADDQ $8, AX
	JMP kqfind
kqfound:
	BSFL BX, BX
	ADDQ BX, AX
	VMOVSS (SI)(AX*4), X5        // max
	VMOVSS fm127<>(SB), X6
	VDIVSS X5, X6, X6            // iscale = −127/max
	VMOVSS f1<>(SB), X7
	VDIVSS X6, X7, X7            // d = 1/iscale
	VMOVSS X7, (DI)
	VBROADCASTSS X6, Y6
	LEAQ 4(DI), R11              // quants of 32-element chunk c (8 of them)
	LEAQ 260(DI), R12            // its two 16-element sums
	MOVQ $8, R10
kqchunk:
	VMULPS (SI), Y6, Y0
	VMULPS 32(SI), Y6, Y1
	VMULPS 64(SI), Y6, Y2
	VMULPS 96(SI), Y6, Y3
	VCVTPS2DQ Y0, Y0             // round to nearest even (Go's MXCSR default)
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPMINSD Y14, Y0, Y0
	VPMINSD Y14, Y1, Y1
	VPMINSD Y14, Y2, Y2
	VPMINSD Y14, Y3, Y3
	VPADDD Y1, Y0, Y8            // the chunk's two 16-element sums, as int16
	VPADDD Y3, Y2, Y9
	VPHADDD Y9, Y8, Y8
	VEXTRACTI128 $1, Y8, X9
	VPADDD X9, X8, X8
	VPHADDD X8, X8, X8
	VPACKSSDW X8, X8, X8
	VMOVD X8, BX
	MOVL BX, (R12)
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y13, Y0
	VMOVDQU Y0, (R11)
	ADDQ $128, SI
	ADDQ $32, R11
	ADDQ $4, R12
	DECQ R10
	JNZ kqchunk
kqnext:
	ADDQ $292, DI
	DECQ CX
	JMP kqsb
kqzero:
	VPXOR Y0, Y0, Y0             // 292 zero bytes
	VMOVDQU Y0, (DI)
	VMOVDQU Y0, 32(DI)
	VMOVDQU Y0, 64(DI)
	VMOVDQU Y0, 96(DI)
	VMOVDQU Y0, 128(DI)
	VMOVDQU Y0, 160(DI)
	VMOVDQU Y0, 192(DI)
	VMOVDQU Y0, 224(DI)
	VMOVDQU Y0, 256(DI)
	MOVL $0, 288(DI)
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JMP kqsb
kqdone:
	VZEROUPPER
	RET
