//go:build !noasm

#include "textflag.h"

// avx512amx kernels of the q8x8 and q4x8 layouts. The Go assembler has no AMX mnemonics: each tile
// instruction is its bytes (from clang-19 -mamx-int8 and objdump; TestAMXEncodings
// disassembles them with binutils), with the instruction in AT&T syntax above it.

// AMXTOK: token j's int32 results of the block (at off(R9)), times the rows' scales (Y16)
// times the token's scale (at R12, then R12 steps to the next token's), into acc: the
// avx512vnni kernels' float order, so the results are theirs bit for bit.
#define AMXTOK(off, acc) \
	VCVTDQ2PS off(R9), Y17 \
	VMULPS.BCST (R12), Y16, Y18 \
	VFMADD231PS Y17, Y18, acc \
	ADDQ R13, R12

// AMXBLOCKF: the block's float step for the sixteen tokens (the stored tile at R9, the
// rows' scales as fp16 at -16(SI), token 0's scale at R8).
#define AMXBLOCKF \
	VCVTPH2PS -16(SI), Y16 \
	MOVQ R8, R12 \
	AMXTOK(0, Y0) \
	AMXTOK(32, Y1) \
	AMXTOK(64, Y2) \
	AMXTOK(96, Y3) \
	AMXTOK(128, Y4) \
	AMXTOK(160, Y5) \
	AMXTOK(192, Y6) \
	AMXTOK(224, Y7) \
	AMXTOK(256, Y8) \
	AMXTOK(288, Y9) \
	AMXTOK(320, Y10) \
	AMXTOK(352, Y11) \
	AMXTOK(384, Y12) \
	AMXTOK(416, Y13) \
	AMXTOK(448, Y14) \
	AMXTOK(480, Y15)

// AMXZERO: the sixteen tokens' accumulators Y0..Y15 to zero.
#define AMXZERO \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3 \
	VXORPS Y4, Y4, Y4 \
	VXORPS Y5, Y5, Y5 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7 \
	VXORPS Y8, Y8, Y8 \
	VXORPS Y9, Y9, Y9 \
	VXORPS Y10, Y10, Y10 \
	VXORPS Y11, Y11, Y11 \
	VXORPS Y12, Y12, Y12 \
	VXORPS Y13, Y13, Y13 \
	VXORPS Y14, Y14, Y14 \
	VXORPS Y15, Y15, Y15

// AMXSTORE: token j's eight results (Yj) to DX + j·BX.
#define AMXSTORE \
	VMOVUPS Y0, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y1, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y2, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y3, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y4, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y5, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y6, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y7, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y8, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y9, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y10, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y11, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y12, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y13, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y14, (DX) \
	ADDQ BX, DX \
	VMOVUPS Y15, (DX)

// func dotQ8_0x8x16AMX(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int, cfg *byte, c *int32)
// Two blocks a step, in tiles 0–2 and 3–5 with two stored C tiles (c, c+512), so that
// one block's tile work need not wait for the other's store; an odd last block alone.
TEXT ·dotQ8_0x8x16AMX(SB), NOSPLIT, $0-72
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ sa+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ astride+32(FP), AX
	MOVQ out+40(FP), DX
	MOVQ ostride+48(FP), BX
	MOVQ cfg+56(FP), R10
	MOVQ c+64(FP), R9
	MOVQ $32, R11            // the stride of the weight block's rows and of the stored tiles
	LEAQ (CX*8), R13         // sa: 8·nb bytes per token
	ADDQ $16, SI             // the quants, after the eight fp16 scales
	// ldtilecfg (%r10)
	BYTE $0xc4; BYTE $0xc2; BYTE $0x78; BYTE $0x49; BYTE $0x02
	AMXZERO
amxq8pair:
	CMPQ CX, $2
	JLT amxq8single
	// tileloadd (%rdi,%rax,1),%tmm0: 16 tokens' 32 quants of block i
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x04; BYTE $0x07
	// tileloadd (%rsi,%r11,1),%tmm1: block i's 256 weight quants
	BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x0c; BYTE $0x1e
	// tilezero %tmm2
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xd0
	// tdpbssd %tmm1,%tmm0,%tmm2: tmm2[j][r] = Σ_k a[j][k]·w[r][k], signed bytes
	BYTE $0xc4; BYTE $0xe2; BYTE $0x73; BYTE $0x5e; BYTE $0xd0
	// tileloadd 0x22(%rdi,%rax,1),%tmm3: block i+1's tokens
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x5c; BYTE $0x07; BYTE $0x22
	// tileloadd 0x110(%rsi,%r11,1),%tmm4: block i+1's
	BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0xa4; BYTE $0x1e; BYTE $0x10; BYTE $0x01; BYTE $0x00; BYTE $0x00
	// tilezero %tmm5
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xe8
	// tdpbssd %tmm4,%tmm3,%tmm5
	BYTE $0xc4; BYTE $0xe2; BYTE $0x5b; BYTE $0x5e; BYTE $0xeb
	// tilestored %tmm2,(%r9,%r11,1)
	BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x14; BYTE $0x19
	// tilestored %tmm5,0x200(%r9,%r11,1)
	BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0xac; BYTE $0x19; BYTE $0x00; BYTE $0x02; BYTE $0x00; BYTE $0x00
	AMXBLOCKF
	ADDQ $272, SI
	ADDQ $8, R8
	ADDQ $512, R9
	AMXBLOCKF
	SUBQ $512, R9
	ADDQ $272, SI
	ADDQ $8, R8
	ADDQ $68, DI
	SUBQ $2, CX
	JMP amxq8pair
amxq8single:
	TESTQ CX, CX
	JZ amxq8done
	// tileloadd (%rdi,%rax,1),%tmm0
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x04; BYTE $0x07
	// tileloadd (%rsi,%r11,1),%tmm1
	BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x0c; BYTE $0x1e
	// tilezero %tmm2
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xd0
	// tdpbssd %tmm1,%tmm0,%tmm2
	BYTE $0xc4; BYTE $0xe2; BYTE $0x73; BYTE $0x5e; BYTE $0xd0
	// tilestored %tmm2,(%r9,%r11,1)
	BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x14; BYTE $0x19
	AMXBLOCKF
amxq8done:
	// tilerelease
	BYTE $0xc4; BYTE $0xe2; BYTE $0x78; BYTE $0x49; BYTE $0xc0
	AMXSTORE
	VZEROUPPER
	RET

// AMXQ4CONST: Z20 = 0x0F bytes, Z21 = 0x08 bytes (R12 clobbered).
#define AMXQ4CONST \
	MOVL $0x0f0f0f0f, R12 \
	VPBROADCASTD R12, Z20 \
	MOVL $0x08080808, R12 \
	VPBROADCASTD R12, Z21

// AMXQ4UNPACK: the q4x8 block's quants at SI, less 8, as signed bytes to R14 in the
// q8x8 order: vectors 0..3's low nibbles (Z22, Z23), then their high ones (Z24, Z25).
#define AMXQ4UNPACK \
	VMOVDQU64 (SI), Z22 \
	VMOVDQU64 64(SI), Z23 \
	VPSRLW $4, Z22, Z24 \
	VPSRLW $4, Z23, Z25 \
	VPANDQ Z20, Z22, Z22 \
	VPANDQ Z20, Z23, Z23 \
	VPANDQ Z20, Z24, Z24 \
	VPANDQ Z20, Z25, Z25 \
	VPSUBB Z21, Z22, Z22 \
	VPSUBB Z21, Z23, Z23 \
	VPSUBB Z21, Z24, Z24 \
	VPSUBB Z21, Z25, Z25 \
	VMOVDQU64 Z22, (R14) \
	VMOVDQU64 Z23, 64(R14) \
	VMOVDQU64 Z24, 128(R14) \
	VMOVDQU64 Z25, 192(R14)

// func amxQ4_0UnpackAsm(q *byte, wq *int8): AMXQ4UNPACK alone, which runs without AMX
// (AVX-512BW), for TestAMXModels.
TEXT ·amxQ4_0UnpackAsm(SB), NOSPLIT, $0-16
	MOVQ q+0(FP), SI
	MOVQ wq+8(FP), R14
	AMXQ4CONST
	AMXQ4UNPACK
	VZEROUPPER
	RET

// func dotQ4_0x8x16AMX(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int, cfg *byte, c *int32, wq *int8)
// The q4x8 blocks' nibbles, less 8, are written as signed bytes in the q8x8 order to wq
// (block i) and wq+256 (block i+1), which tmm1 and tmm4 load; the rest is the Q8_0
// kernel's.
TEXT ·dotQ4_0x8x16AMX(SB), NOSPLIT, $0-80
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ sa+16(FP), R8
	MOVQ a+24(FP), DI
	MOVQ astride+32(FP), AX
	MOVQ out+40(FP), DX
	MOVQ ostride+48(FP), BX
	MOVQ cfg+56(FP), R10
	MOVQ c+64(FP), R9
	MOVQ wq+72(FP), R14
	MOVQ $32, R11
	LEAQ (CX*8), R13
	ADDQ $16, SI
	AMXQ4CONST
	// ldtilecfg (%r10)
	BYTE $0xc4; BYTE $0xc2; BYTE $0x78; BYTE $0x49; BYTE $0x02
	AMXZERO
amxq4pair:
	CMPQ CX, $2
	JLT amxq4single
	AMXQ4UNPACK
	ADDQ $144, SI
	ADDQ $256, R14
	AMXQ4UNPACK
	SUBQ $144, SI
	SUBQ $256, R14
	// tileloadd (%rdi,%rax,1),%tmm0: 16 tokens' 32 quants of block i
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x04; BYTE $0x07
	// tileloadd (%r14,%r11,1),%tmm1: block i's quants as bytes at wq
	BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0x0c; BYTE $0x1e
	// tilezero %tmm2
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xd0
	// tdpbssd %tmm1,%tmm0,%tmm2: tmm2[j][r] = Σ_k a[j][k]·w[r][k], signed bytes
	BYTE $0xc4; BYTE $0xe2; BYTE $0x73; BYTE $0x5e; BYTE $0xd0
	// tileloadd 0x22(%rdi,%rax,1),%tmm3: block i+1's tokens
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x5c; BYTE $0x07; BYTE $0x22
	// tileloadd 0x100(%r14,%r11,1),%tmm4: block i+1's at wq+256
	BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0xa4; BYTE $0x1e; BYTE $0x00; BYTE $0x01; BYTE $0x00; BYTE $0x00
	// tilezero %tmm5
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xe8
	// tdpbssd %tmm4,%tmm3,%tmm5
	BYTE $0xc4; BYTE $0xe2; BYTE $0x5b; BYTE $0x5e; BYTE $0xeb
	// tilestored %tmm2,(%r9,%r11,1)
	BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x14; BYTE $0x19
	// tilestored %tmm5,0x200(%r9,%r11,1)
	BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0xac; BYTE $0x19; BYTE $0x00; BYTE $0x02; BYTE $0x00; BYTE $0x00
	AMXBLOCKF
	ADDQ $144, SI
	ADDQ $8, R8
	ADDQ $512, R9
	AMXBLOCKF
	SUBQ $512, R9
	ADDQ $144, SI
	ADDQ $8, R8
	ADDQ $68, DI
	SUBQ $2, CX
	JMP amxq4pair
amxq4single:
	TESTQ CX, CX
	JZ amxq4done
	AMXQ4UNPACK
	// tileloadd (%rdi,%rax,1),%tmm0
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x04; BYTE $0x07
	// tileloadd (%r14,%r11,1),%tmm1
	BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0x0c; BYTE $0x1e
	// tilezero %tmm2
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xd0
	// tdpbssd %tmm1,%tmm0,%tmm2
	BYTE $0xc4; BYTE $0xe2; BYTE $0x73; BYTE $0x5e; BYTE $0xd0
	// tilestored %tmm2,(%r9,%r11,1)
	BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x14; BYTE $0x19
	AMXBLOCKF
amxq4done:
	// tilerelease
	BYTE $0xc4; BYTE $0xe2; BYTE $0x78; BYTE $0x49; BYTE $0xc0
	AMXSTORE
	VZEROUPPER
	RET
