//go:build !noasm

#include "textflag.h"

// The avx512vnni set's F16 and BF16 dots, in ggml_vec_dot_f16's and ggml_vec_dot_bf16's
// AVX-512 order (an AVX-512 build of llama.cpp): the same lanes, accumulators and sums,
// so that one token's result has their bits. Each returns the float64 sum ggml holds
// before its leftovers, which dotHalf64 adds in float64.

// ZSUM16 adds the sixteen lanes of z into x's first as _mm512_reduce_add_ps does (gcc
// and clang alike): halves added down to four lanes, then (0+2)+(1+3). y and x are z's
// lower halves; ty and tx a scratch register's.
#define ZSUM16(z, y, x, ty, tx) \
	VEXTRACTF64X4 $1, z, ty \
	VADDPS ty, y, y \
	VEXTRACTF128 $1, y, tx \
	VADDPS tx, x, x \
	VPERMILPS $0x4e, x, tx \
	VADDPS tx, x, x \
	VMOVSHDUP x, tx \
	VADDSS tx, x, x

// func dotF16AVX512(n int, w, a *byte) float64
// n is a multiple of 64: four accumulators of sixteen lanes, as GGML_F16_STEP 64.
TEXT ·dotF16AVX512(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
f16z64:
	TESTQ CX, CX
	JZ f16sum
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
f16sum: // GGML_F32x16_REDUCE: (sum0+sum2) + (sum1+sum3)
	VADDPS Z2, Z0, Z0
	VADDPS Z3, Z1, Z1
	VADDPS Z1, Z0, Z0
	ZSUM16(Z0, Y0, X0, Y1, X1)
	VCVTSS2SD X0, X0, X0
	VMOVSD X0, ret+24(FP)
	VZEROUPPER
	RET

// BF16TOZ widens the sixteen bfloat16 at m to float32 in z (the top half of a float32).
#define BF16TOZ(m, z) \
	VPMOVZXWD m, z \
	VPSLLD $16, z, z

// BF16FINISH returns float64(Σ Z0) + float64(Σ Z1), as ggml adds its two accumulators'
// sums to its float64 sum (from +0).
#define BF16FINISH \
	ZSUM16(Z0, Y0, X0, Y2, X2) \
	ZSUM16(Z1, Y1, X1, Y2, X2) \
	VCVTSS2SD X0, X0, X0 \
	VCVTSS2SD X1, X1, X1 \
	VXORPD X2, X2, X2 \
	VADDSD X0, X2, X2 \
	VADDSD X1, X2, X2 \
	VMOVSD X2, ret+24(FP) \
	VZEROUPPER \
	RET

// func dotBF16AVX512(n int, w, a *byte) float64
// n is a multiple of 32: ggml's AVX512F path (no AVX512-BF16), two accumulators of
// sixteen lanes (here with FMA, where ggml writes a multiply and an add, which the
// compiler may or may not fuse).
TEXT ·dotBF16AVX512(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
bf16z32:
	TESTQ CX, CX
	JZ bf16sum
	BF16TOZ(0(SI), Z4)
	BF16TOZ(32(SI), Z5)
	BF16TOZ(0(DI), Z8)
	BF16TOZ(32(DI), Z9)
	VFMADD231PS Z8, Z4, Z0
	VFMADD231PS Z9, Z5, Z1
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JMP bf16z32
bf16sum:
	BF16FINISH

// func dotBF16AVX512BF16(n int, w, a *byte) float64
// n is a multiple of 64: ggml's AVX512-BF16 path, two accumulators, each VDPBF16PS
// adding a dword's two products to a float32 lane (denormals read and written as zero,
// round to nearest even whatever MXCSR says). The Go assembler lacks VDPBF16PS, hence
// the bytes.
TEXT ·dotBF16AVX512BF16(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
dpbf64:
	TESTQ CX, CX
	JZ dpbfsum
	VMOVDQU32 0(SI), Z4
	VMOVDQU32 64(SI), Z5
	VMOVDQU32 0(DI), Z8
	VMOVDQU32 64(DI), Z9
	BYTE $0x62; BYTE $0xd2; BYTE $0x5e; BYTE $0x48; BYTE $0x52; BYTE $0xc0 // VDPBF16PS Z8, Z4, Z0
	BYTE $0x62; BYTE $0xd2; BYTE $0x56; BYTE $0x48; BYTE $0x52; BYTE $0xc9 // VDPBF16PS Z9, Z5, Z1
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $64, CX
	JMP dpbf64
dpbfsum:
	BF16FINISH
