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

// The avx512vnni set's activation quantizers: quantizeQ8_0AVX2 and quantizeQ8_KAVX2
// sixteen floats per instruction, and Q8_1 (Go in the avx2 set). Every step that
// decides a byte is the AVX2 one (the same maxima, the same scalar divisions, VCVTPS2DQ
// rounding to nearest even under Go's MXCSR, signed saturation to bytes), so the bytes
// are the same.

// func quantizeQ8_0AVX512(x *float32, nb int, dst *byte, sc *float32, sstride int)
TEXT ·quantizeQ8_0AVX512(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVQ sc+24(FP), R8
	MOVQ sstride+32(FP), R9
	SHLQ $2, R9
	VPBROADCASTD absmask<>(SB), Z15
	VMOVSS f127<>(SB), X14
q0loop:
	TESTQ CX, CX
	JZ q0done
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VPANDD Z15, Z0, Z4
	VPANDD Z15, Z1, Z5
	VMAXPS Z5, Z4, Z4
	VEXTRACTF64X4 $1, Z4, Y5
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
	JEQ q0scale                  // amax 0: id 0
	VDIVSS X4, X14, X9           // id = 127 / amax
q0scale:
	VBROADCASTSS X9, Z9
	VMULPS Z9, Z0, Z0
	VMULPS Z9, Z1, Z1
	VCVTPS2DQ Z0, Z0             // round to nearest even (Go's MXCSR default)
	VCVTPS2DQ Z1, Z1
	CMPQ R9, $8
	JNE q0pack
	VPADDD Z1, Z0, Z10
	VEXTRACTI64X4 $1, Z10, Y11
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
q0pack:
	VPMOVSDB Z0, 2(DI)
	VPMOVSDB Z1, 18(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	ADDQ R9, R8
	DECQ CX
	JMP q0loop
q0done:
	VZEROUPPER
	RET

// qsadidx<>: VPERMQ order that puts the interleaved group sums of Q8KBSUMS in order.
DATA qsadidx<>+0(SB)/8, $0
DATA qsadidx<>+8(SB)/8, $2
DATA qsadidx<>+16(SB)/8, $4
DATA qsadidx<>+24(SB)/8, $6
DATA qsadidx<>+32(SB)/8, $1
DATA qsadidx<>+40(SB)/8, $3
DATA qsadidx<>+48(SB)/8, $5
DATA qsadidx<>+56(SB)/8, $7
GLOBL qsadidx<>(SB), RODATA|NOPTR, $64
DATA b80<>+0(SB)/4, $0x80808080
GLOBL b80<>(SB), RODATA|NOPTR, $4
DATA q2048<>+0(SB)/8, $2048
GLOBL q2048<>(SB), RODATA|NOPTR, $8

// Q8KBSUMS writes the eight 16-element sums of the 128 quants at off(R11) as int16 to
// soff(R12): VPSADBW sums eight bytes made unsigned (+128 each, taken off after) per
// qword; the unpacks add a group's two qwords, interleaving the groups of the two
// vectors, which qsadidx (Z13) undoes. Clobbers Z0..Z3.
#define Q8KBSUMS(off, soff) \
	VPXORD off(R11), Z12, Z0 \
	VPXORD off+64(R11), Z12, Z1 \
	VPSADBW Z11, Z0, Z0 \
	VPSADBW Z11, Z1, Z1 \
	VPUNPCKLQDQ Z1, Z0, Z2 \
	VPUNPCKHQDQ Z1, Z0, Z3 \
	VPADDQ Z3, Z2, Z2 \
	VPERMQ Z2, Z13, Z2 \
	VPSUBQ Z10, Z2, Z2 \
	VPMOVQW Z2, soff(R12)

// func quantizeQ8_KAVX512(x *float32, nsb int, dst *byte)
TEXT ·quantizeQ8_KAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ nsb+8(FP), CX
	MOVQ dst+16(FP), DI
	VPBROADCASTD absmask<>(SB), Z15
	VPBROADCASTD i127<>(SB), Z14
	VMOVDQU64 qsadidx<>(SB), Z13
	VPBROADCASTD b80<>(SB), Z12
	VPXORD Z11, Z11, Z11
	VPBROADCASTQ q2048<>(SB), Z10
kzsb:
	TESTQ CX, CX
	JZ kzdone
	// amax over the 256 values, four vectors at a time
	VPANDD (SI), Z15, Z4
	VPANDD 64(SI), Z15, Z5
	VPANDD 128(SI), Z15, Z6
	VPANDD 192(SI), Z15, Z7
	MOVQ $256, AX
kzmax:
	VPANDD (SI)(AX*1), Z15, Z0
	VMAXPS Z0, Z4, Z4
	VPANDD 64(SI)(AX*1), Z15, Z0
	VMAXPS Z0, Z5, Z5
	VPANDD 128(SI)(AX*1), Z15, Z0
	VMAXPS Z0, Z6, Z6
	VPANDD 192(SI)(AX*1), Z15, Z0
	VMAXPS Z0, Z7, Z7
	ADDQ $256, AX
	CMPQ AX, $1024
	JLT kzmax
	VMAXPS Z5, Z4, Z4
	VMAXPS Z7, Z6, Z6
	VMAXPS Z6, Z4, Z4
	VEXTRACTF64X4 $1, Z4, Y5
	VMAXPS Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0x4e, X4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0xb1, X4, X5
	VMAXPS X5, X4, X4            // amax in every lane
	VXORPS X9, X9, X9
	VUCOMISS X9, X4
	JEQ kzzero
	VBROADCASTSS X4, Z4
	// max: the first element whose magnitude is amax
	XORQ AX, AX
kzfind:
	VPANDD (SI)(AX*4), Z15, Z0
	VCMPPS $0, Z4, Z0, K1        // equal
	KMOVW K1, BX
	TESTL BX, BX
	JNZ kzfound
	ADDQ $16, AX
	JMP kzfind
kzfound:
	BSFL BX, BX
	ADDQ BX, AX
	VMOVSS (SI)(AX*4), X5        // max
	VMOVSS fm127<>(SB), X6
	VDIVSS X5, X6, X6            // iscale = −127/max
	VMOVSS f1<>(SB), X7
	VDIVSS X6, X7, X7            // d = 1/iscale
	VMOVSS X7, (DI)
	VBROADCASTSS X6, Z6
	LEAQ 4(DI), R11              // the quants
	LEAQ 260(DI), R12            // the sixteen 16-element sums
	MOVQ $4, R10
kzchunk:
	VMULPS (SI), Z6, Z0
	VMULPS 64(SI), Z6, Z1
	VMULPS 128(SI), Z6, Z2
	VMULPS 192(SI), Z6, Z3
	VCVTPS2DQ Z0, Z0             // round to nearest even (Go's MXCSR default)
	VCVTPS2DQ Z1, Z1
	VCVTPS2DQ Z2, Z2
	VCVTPS2DQ Z3, Z3
	VPMINSD Z14, Z0, Z0
	VPMINSD Z14, Z1, Z1
	VPMINSD Z14, Z2, Z2
	VPMINSD Z14, Z3, Z3
	VPMOVSDB Z0, 0(R11)
	VPMOVSDB Z1, 16(R11)
	VPMOVSDB Z2, 32(R11)
	VPMOVSDB Z3, 48(R11)
	ADDQ $256, SI
	ADDQ $64, R11
	DECQ R10
	JNZ kzchunk
	LEAQ 4(DI), R11
	Q8KBSUMS(0, 0)
	Q8KBSUMS(128, 16)
	ADDQ $292, DI
	DECQ CX
	JMP kzsb
kzzero:
	VPXORD Z0, Z0, Z0            // 292 zero bytes
	VMOVDQU64 Z0, (DI)
	VMOVDQU64 Z0, 64(DI)
	VMOVDQU64 Z0, 128(DI)
	VMOVDQU64 Z0, 192(DI)
	VMOVDQU Y0, 256(DI)
	MOVL $0, 288(DI)
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JMP kzsb
kzdone:
	VZEROUPPER
	RET

// func quantizeQ8_1AVX512(x *float32, nb int, dst *byte, ds *float32)
// nb blocks of 32 floats into Q8_1 blocks as tensor.QuantizeQ8_1Act does (quantizeQ8_0's
// d and q, then s = fp16(float32(Σq)·d) with d before its rounding to fp16); block i's d
// and s as float32 (from their fp16) go to ds[2i] and ds[2i+1] (a q8_1Scale).
TEXT ·quantizeQ8_1AVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVQ ds+24(FP), R8
	VPBROADCASTD absmask<>(SB), Z15
	VMOVSS f127<>(SB), X14
q1loop:
	TESTQ CX, CX
	JZ q1done
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VPANDD Z15, Z0, Z4
	VPANDD Z15, Z1, Z5
	VMAXPS Z5, Z4, Z4
	VEXTRACTF64X4 $1, Z4, Y5
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
	JEQ q1scale                  // amax 0: id 0
	VDIVSS X4, X14, X9           // id = 127 / amax
q1scale:
	VBROADCASTSS X9, Z9
	VMULPS Z9, Z0, Z0
	VMULPS Z9, Z1, Z1
	VCVTPS2DQ Z0, Z0             // round to nearest even (Go's MXCSR default)
	VCVTPS2DQ Z1, Z1
	VPADDD Z1, Z0, Z10           // Σq
	VEXTRACTI64X4 $1, Z10, Y11
	VPADDD Y11, Y10, Y10
	VEXTRACTI128 $1, Y10, X11
	VPADDD X11, X10, X10
	VPSHUFD $0x4e, X10, X11
	VPADDD X11, X10, X10
	VPSHUFD $0xb1, X10, X11
	VPADDD X11, X10, X10
	VCVTDQ2PS X10, X10           // exact: |Σq| ≤ 32·127
	VMULSS X6, X10, X10          // s = Σq·d
	VCVTPS2PH $0, X10, X10
	VPEXTRW $0, X10, AX
	MOVW AX, 2(DI)
	VCVTPH2PS X10, X10
	VMOVSS X10, 4(R8)
	VPMOVSDB Z0, 4(DI)
	VPMOVSDB Z1, 20(DI)
	ADDQ $128, SI
	ADDQ $36, DI
	ADDQ $8, R8
	DECQ CX
	JMP q1loop
q1done:
	VZEROUPPER
	RET

// func quantizeF16AVX2(x *float32, n int, dst *byte)
// n (a multiple of 8) floats to fp16, rounding to nearest even: ggml_fp32_to_fp16_row's
// VCVTPS2PH, the bits of tensor.QuantizeF16.
TEXT ·quantizeF16AVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ dst+16(FP), DI
h8avx2:
	TESTQ CX, CX
	JZ h8avx2done
	VMOVUPS (SI), Y0
	VCVTPS2PH $0, Y0, (DI)
	ADDQ $32, SI
	ADDQ $16, DI
	SUBQ $8, CX
	JMP h8avx2
h8avx2done:
	VZEROUPPER
	RET

// func quantizeF16AVX512(x *float32, n int, dst *byte)
// quantizeF16AVX2 sixteen at a time (the last 8 through YMM).
TEXT ·quantizeF16AVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ dst+16(FP), DI
h16:
	CMPQ CX, $16
	JLT h16tail
	VMOVUPS (SI), Z0
	VCVTPS2PH $0, Z0, (DI)
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JMP h16
h16tail:
	TESTQ CX, CX
	JZ h16done
	VMOVUPS (SI), Y0
	VCVTPS2PH $0, Y0, (DI)
h16done:
	VZEROUPPER
	RET
