//go:build !noasm

#include "textflag.h"
#include "avx2.h"

// avx512vnni kernels of the q4kx8 layout (repackQ4Kx8Rows; see dotq4kx8_amd64.s). For
// each sub-block pair jp the eight vectors' low nibbles (sub-block 2jp) go to Y16..Y23
// and their high nibbles (2jp+1) to Y24..Y31; a token's sub-block sums are then eight
// VPDPBUSDs each against broadcast activation bytes, int32 throughout, times the rows'
// scales with VPMULLD (|Σ q·a| ≤ 32·15·128 does not fit the int16 of AVX2's VPMADDWD).

// K8PFV: prefetch distance of the one-token kernel, about three super-block groups ahead.
#define K8PFV 4096

// KVUNPACK: sub-block pair jp of the super-block at SI into Y16..Y31, its rows' scales
// (int32) in Y12 (sub-block 2jp) and Y13 (2jp+1); Y7 holds 0x0F bytes.
#define KVUNPACK(jp) \
	VMOVDQU64 (192+256*jp+0)(SI), Y16 \
	VPSRLW $4, Y16, Y24 \
	VPANDD Y7, Y16, Y16 \
	VPANDD Y7, Y24, Y24 \
	VMOVDQU64 (192+256*jp+32)(SI), Y17 \
	VPSRLW $4, Y17, Y25 \
	VPANDD Y7, Y17, Y17 \
	VPANDD Y7, Y25, Y25 \
	VMOVDQU64 (192+256*jp+64)(SI), Y18 \
	VPSRLW $4, Y18, Y26 \
	VPANDD Y7, Y18, Y18 \
	VPANDD Y7, Y26, Y26 \
	VMOVDQU64 (192+256*jp+96)(SI), Y19 \
	VPSRLW $4, Y19, Y27 \
	VPANDD Y7, Y19, Y19 \
	VPANDD Y7, Y27, Y27 \
	VMOVDQU64 (192+256*jp+128)(SI), Y20 \
	VPSRLW $4, Y20, Y28 \
	VPANDD Y7, Y20, Y20 \
	VPANDD Y7, Y28, Y28 \
	VMOVDQU64 (192+256*jp+160)(SI), Y21 \
	VPSRLW $4, Y21, Y29 \
	VPANDD Y7, Y21, Y21 \
	VPANDD Y7, Y29, Y29 \
	VMOVDQU64 (192+256*jp+192)(SI), Y22 \
	VPSRLW $4, Y22, Y30 \
	VPANDD Y7, Y22, Y22 \
	VPANDD Y7, Y30, Y30 \
	VMOVDQU64 (192+256*jp+224)(SI), Y23 \
	VPSRLW $4, Y23, Y31 \
	VPANDD Y7, Y23, Y23 \
	VPANDD Y7, Y31, Y31 \
	VPMOVZXBD (64+16*jp)(SI), Y12 \
	VPMOVZXBD (72+16*jp)(SI), Y13

// KVTOK: one token's sums of sub-block pair jp (its Q8_K block at ap) times the rows'
// scales, into isum; two chains (low and high nibbles).
#define KVTOK(ap, jp, isum) \
	VPXORD Y4, Y4, Y4 \
	VPXORD Y5, Y5, Y5 \
	VPDPBUSD.BCST (4+64*jp+0)(ap), Y16, Y4 \
	VPDPBUSD.BCST (36+64*jp+0)(ap), Y24, Y5 \
	VPDPBUSD.BCST (4+64*jp+4)(ap), Y17, Y4 \
	VPDPBUSD.BCST (36+64*jp+4)(ap), Y25, Y5 \
	VPDPBUSD.BCST (4+64*jp+8)(ap), Y18, Y4 \
	VPDPBUSD.BCST (36+64*jp+8)(ap), Y26, Y5 \
	VPDPBUSD.BCST (4+64*jp+12)(ap), Y19, Y4 \
	VPDPBUSD.BCST (36+64*jp+12)(ap), Y27, Y5 \
	VPDPBUSD.BCST (4+64*jp+16)(ap), Y20, Y4 \
	VPDPBUSD.BCST (36+64*jp+16)(ap), Y28, Y5 \
	VPDPBUSD.BCST (4+64*jp+20)(ap), Y21, Y4 \
	VPDPBUSD.BCST (36+64*jp+20)(ap), Y29, Y5 \
	VPDPBUSD.BCST (4+64*jp+24)(ap), Y22, Y4 \
	VPDPBUSD.BCST (36+64*jp+24)(ap), Y30, Y5 \
	VPDPBUSD.BCST (4+64*jp+28)(ap), Y23, Y4 \
	VPDPBUSD.BCST (36+64*jp+28)(ap), Y31, Y5 \
	VPMULLD Y12, Y4, Y4 \
	VPMULLD Y13, Y5, Y5 \
	VPADDD Y4, isum, isum \
	VPADDD Y5, isum, isum

// KVMINS: the super-block's mins at SI as (m_2p, m_2p+1) word pairs into Y12..Y15.
#define KVMINS \
	VPMOVZXBW 128(SI), Y12 \
	VPMOVZXBW 144(SI), Y13 \
	VPMOVZXBW 160(SI), Y14 \
	VPMOVZXBW 176(SI), Y15

// KVFIN: acc += d_a·(d·isum − dmin·Σ_j m_j·bs_j) for the token whose Q8_K block is at
// ap and eight sub-block sums at bsp.
#define KVFIN(ap, bsp, isum, acc) \
	VPBROADCASTD 0(bsp), Y6 \
	VPMADDWD Y6, Y12, Y4 \
	VPBROADCASTD 4(bsp), Y6 \
	VPMADDWD Y6, Y13, Y6 \
	VPADDD Y6, Y4, Y4 \
	VPBROADCASTD 8(bsp), Y6 \
	VPMADDWD Y6, Y14, Y6 \
	VPADDD Y6, Y4, Y4 \
	VPBROADCASTD 12(bsp), Y6 \
	VPMADDWD Y6, Y15, Y6 \
	VPADDD Y6, Y4, Y4 \
	VCVTDQ2PS isum, isum \
	VCVTDQ2PS Y4, Y4 \
	VBROADCASTSS (ap), Y5 \
	VMULPS (SI), Y5, Y6 \
	VFMADD231PS isum, Y6, acc \
	VMULPS 32(SI), Y5, Y6 \
	VFNMADD231PS Y4, Y6, acc

// func dotQ4Kx8VNNI(nsb int, w *byte, a *byte, bs *int16, out *float32)
TEXT ·dotQ4Kx8VNNI(SB), NOSPLIT, $0-40
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ bs+24(FP), BX
	MOVQ out+32(FP), DX
	VMOVDQU ·nibmask(SB), Y7
	VXORPS Y0, Y0, Y0
kvsb:
	TESTQ CX, CX
	JZ kvdone
	VPXOR Y8, Y8, Y8
	PREFETCHT0 (K8PFV+0)(SI)
	PREFETCHT0 (K8PFV+64)(SI)
	PREFETCHT0 (K8PFV+128)(SI)
	PREFETCHT0 (K8PFV+192)(SI)
	PREFETCHT0 (K8PFV+256)(SI)
	KVUNPACK(0)
	KVTOK(DI, 0, Y8)
	PREFETCHT0 (K8PFV+304)(SI)
	PREFETCHT0 (K8PFV+368)(SI)
	PREFETCHT0 (K8PFV+432)(SI)
	PREFETCHT0 (K8PFV+496)(SI)
	PREFETCHT0 (K8PFV+560)(SI)
	KVUNPACK(1)
	KVTOK(DI, 1, Y8)
	PREFETCHT0 (K8PFV+608)(SI)
	PREFETCHT0 (K8PFV+672)(SI)
	PREFETCHT0 (K8PFV+736)(SI)
	PREFETCHT0 (K8PFV+800)(SI)
	PREFETCHT0 (K8PFV+864)(SI)
	KVUNPACK(2)
	KVTOK(DI, 2, Y8)
	PREFETCHT0 (K8PFV+912)(SI)
	PREFETCHT0 (K8PFV+976)(SI)
	PREFETCHT0 (K8PFV+1040)(SI)
	PREFETCHT0 (K8PFV+1104)(SI)
	PREFETCHT0 (K8PFV+1168)(SI)
	KVUNPACK(3)
	KVTOK(DI, 3, Y8)
	KVMINS
	KVFIN(DI, BX, Y8, Y0)
	ADDQ $1216, SI
	ADDQ $292, DI
	ADDQ $16, BX
	DECQ CX
	JMP kvsb
kvdone:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ4Kx8x4VNNI(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int)
TEXT ·dotQ4Kx8x4VNNI(SB), NOSPLIT, $0-56
	MOVQ nsb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ astride+24(FP), AX
	MOVQ bs+32(FP), BX
	MOVQ out+40(FP), DX
	LEAQ (DI)(AX*1), R11
	LEAQ (R11)(AX*1), R13
	LEAQ (R13)(AX*1), R14
	MOVQ CX, R12
	SHLQ $4, R12                 // bs stride in bytes: 8 int16 per super-block
	LEAQ (BX)(R12*1), R8
	LEAQ (R8)(R12*1), R9
	LEAQ (R9)(R12*1), R10
	VMOVDQU ·nibmask(SB), Y7
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
kv4sb:
	TESTQ CX, CX
	JZ kv4done
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	KVUNPACK(0)
	KVTOK(DI, 0, Y8)
	KVTOK(R11, 0, Y9)
	KVTOK(R13, 0, Y10)
	KVTOK(R14, 0, Y11)
	KVUNPACK(1)
	KVTOK(DI, 1, Y8)
	KVTOK(R11, 1, Y9)
	KVTOK(R13, 1, Y10)
	KVTOK(R14, 1, Y11)
	KVUNPACK(2)
	KVTOK(DI, 2, Y8)
	KVTOK(R11, 2, Y9)
	KVTOK(R13, 2, Y10)
	KVTOK(R14, 2, Y11)
	KVUNPACK(3)
	KVTOK(DI, 3, Y8)
	KVTOK(R11, 3, Y9)
	KVTOK(R13, 3, Y10)
	KVTOK(R14, 3, Y11)
	KVMINS
	KVFIN(DI, BX, Y8, Y0)
	KVFIN(R11, R8, Y9, Y1)
	KVFIN(R13, R9, Y10, Y2)
	KVFIN(R14, R10, Y11, Y3)
	ADDQ $1216, SI
	ADDQ $292, DI
	ADDQ $292, R11
	ADDQ $292, R13
	ADDQ $292, R14
	ADDQ $16, BX
	ADDQ $16, R8
	ADDQ $16, R9
	ADDQ $16, R10
	DECQ CX
	JMP kv4sb
kv4done:
	MOVQ ostride+48(FP), AX
	VMOVUPS Y0, (DX)
	ADDQ AX, DX
	VMOVUPS Y1, (DX)
	ADDQ AX, DX
	VMOVUPS Y2, (DX)
	ADDQ AX, DX
	VMOVUPS Y3, (DX)
	VZEROUPPER
	RET
