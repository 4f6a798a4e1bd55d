//go:build !noasm

#include "textflag.h"

// The avx512vnni set's F16 and BF16 dots: sixteen halves of each operand per ZMM
// (VCVTPH2PS; BF16 widened by a 16-bit shift, or paired by VDPBF16PS where the CPU has
// AVX512-BF16), four accumulators; n is a multiple of 8, and the last 8 (when n is not
// a multiple of 16) go through YMM after the ZMM sums are folded to 8 lanes.

// ymmsum folds Y0's eight lanes into X0's first and stores it as the result.
#define YMMSUM \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0 \
	VMOVSS X0, ret+24(FP) \
	VZEROUPPER \
	RET

// ZMMFOLD adds Z0..Z3 and folds the sum to Y0 (a VEX write to Y0 clears Z0's top half,
// which is no longer needed).
#define ZMMFOLD \
	VADDPS Z1, Z0, Z0 \
	VADDPS Z3, Z2, Z2 \
	VADDPS Z2, Z0, Z0 \
	VEXTRACTF64X4 $1, Z0, Y1 \
	VADDPS Y1, Y0, Y0

// func dotF16AVX512(n int, w, a *byte) float32
TEXT ·dotF16AVX512(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
f16z64:
	CMPQ CX, $64
	JLT f16z16
	VCVTPH2PS 0(SI), Z4
	VCVTPH2PS 32(SI), Z5
	VCVTPH2PS 64(SI), Z6
	VCVTPH2PS 96(SI), Z7
	VCVTPH2PS 0(DI), Z8
	VCVTPH2PS 32(DI), Z9
	VCVTPH2PS 64(DI), Z10
	VCVTPH2PS 96(DI), Z11
	VFMADD231PS Z8, Z4, Z0
	VFMADD231PS Z9, Z5, Z1
	VFMADD231PS Z10, Z6, Z2
	VFMADD231PS Z11, Z7, Z3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $64, CX
	JMP f16z64
f16z16:
	CMPQ CX, $16
	JLT f16fold
	VCVTPH2PS (SI), Z4
	VCVTPH2PS (DI), Z8
	VFMADD231PS Z8, Z4, Z0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JMP f16z16
f16fold:
	ZMMFOLD
	CMPQ CX, $8
	JLT f16sum
	VCVTPH2PS (SI), Y4
	VCVTPH2PS (DI), Y8
	VFMADD231PS Y8, Y4, Y0
f16sum:
	YMMSUM

// BF16TOZ widens the sixteen bfloat16 at m to float32 in Z (the top half of a float32).
#define BF16TOZ(m, z) \
	VPMOVZXWD m, z \
	VPSLLD $16, z, z

// func dotBF16AVX512(n int, w, a *byte) float32
TEXT ·dotBF16AVX512(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
bf16z64:
	CMPQ CX, $64
	JLT bf16z16
	BF16TOZ(0(SI), Z4)
	BF16TOZ(32(SI), Z5)
	BF16TOZ(64(SI), Z6)
	BF16TOZ(96(SI), Z7)
	BF16TOZ(0(DI), Z8)
	BF16TOZ(32(DI), Z9)
	BF16TOZ(64(DI), Z10)
	BF16TOZ(96(DI), Z11)
	VFMADD231PS Z8, Z4, Z0
	VFMADD231PS Z9, Z5, Z1
	VFMADD231PS Z10, Z6, Z2
	VFMADD231PS Z11, Z7, Z3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $64, CX
	JMP bf16z64
bf16z16:
	CMPQ CX, $16
	JLT bf16fold
	BF16TOZ((SI), Z4)
	BF16TOZ((DI), Z8)
	VFMADD231PS Z8, Z4, Z0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JMP bf16z16
bf16fold:
	ZMMFOLD
	CMPQ CX, $8
	JLT bf16sum
	VPMOVZXWD (SI), Y4
	VPSLLD $16, Y4, Y4
	VPMOVZXWD (DI), Y8
	VPSLLD $16, Y8, Y8
	VFMADD231PS Y8, Y4, Y0
bf16sum:
	YMMSUM

// func dotBF16AVX512BF16(n int, w, a *byte) float32
// VDPBF16PS adds the two products of each dword's pair of bfloat16s to a float32 lane
// (denormals read and written as zero, round to nearest even, whatever MXCSR says), as
// ggml's vec_dot_bf16 does on such a CPU; the Go assembler lacks it, hence the bytes.
TEXT ·dotBF16AVX512BF16(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
dpbf128:
	CMPQ CX, $128
	JLT dpbf32
	VMOVDQU32 0(SI), Z4
	VMOVDQU32 64(SI), Z5
	VMOVDQU32 128(SI), Z6
	VMOVDQU32 192(SI), Z7
	VMOVDQU32 0(DI), Z8
	VMOVDQU32 64(DI), Z9
	VMOVDQU32 128(DI), Z10
	VMOVDQU32 192(DI), Z11
	BYTE $0x62; BYTE $0xd2; BYTE $0x5e; BYTE $0x48; BYTE $0x52; BYTE $0xc0 // VDPBF16PS Z8, Z4, Z0
	BYTE $0x62; BYTE $0xd2; BYTE $0x56; BYTE $0x48; BYTE $0x52; BYTE $0xc9 // VDPBF16PS Z9, Z5, Z1
	BYTE $0x62; BYTE $0xd2; BYTE $0x4e; BYTE $0x48; BYTE $0x52; BYTE $0xd2 // VDPBF16PS Z10, Z6, Z2
	BYTE $0x62; BYTE $0xd2; BYTE $0x46; BYTE $0x48; BYTE $0x52; BYTE $0xdb // VDPBF16PS Z11, Z7, Z3
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $128, CX
	JMP dpbf128
dpbf32:
	CMPQ CX, $32
	JLT dpbffold
	VMOVDQU32 (SI), Z4
	VMOVDQU32 (DI), Z8
	BYTE $0x62; BYTE $0xd2; BYTE $0x5e; BYTE $0x48; BYTE $0x52; BYTE $0xc0 // VDPBF16PS Z8, Z4, Z0
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JMP dpbf32
dpbffold:
	ZMMFOLD
dpbf8: // up to three steps of 8, widened as in dotBF16AVX2
	CMPQ CX, $8
	JLT dpbfsum
	VPMOVZXWD (SI), Y4
	VPSLLD $16, Y4, Y4
	VPMOVZXWD (DI), Y8
	VPSLLD $16, Y8, Y8
	VFMADD231PS Y8, Y4, Y0
	ADDQ $16, SI
	ADDQ $16, DI
	SUBQ $8, CX
	JMP dpbf8
dpbfsum:
	YMMSUM
