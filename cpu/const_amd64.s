//go:build !noasm

#include "textflag.h"

// Constants shared by the AVX2 kernels: 0x0F bytes, 1 words.
DATA ·nibmask+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·nibmask+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·nibmask+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·nibmask+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL ·nibmask(SB), RODATA|NOPTR, $32

DATA ·ones16+0(SB)/8, $0x0001000100010001
DATA ·ones16+8(SB)/8, $0x0001000100010001
DATA ·ones16+16(SB)/8, $0x0001000100010001
DATA ·ones16+24(SB)/8, $0x0001000100010001
GLOBL ·ones16(SB), RODATA|NOPTR, $32

// 0x80 bytes: XORed into signed bytes, the +128 offset that makes them VPDPBUSD's
// unsigned operand (the avx512vnni kernels).
DATA ·signbit8+0(SB)/8, $0x8080808080808080
DATA ·signbit8+8(SB)/8, $0x8080808080808080
DATA ·signbit8+16(SB)/8, $0x8080808080808080
DATA ·signbit8+24(SB)/8, $0x8080808080808080
GLOBL ·signbit8(SB), RODATA|NOPTR, $32

// The gridx8 kernels' word shuffle: a broadcast pair of byte scales (sc[2j], sc[2j+1])
// into sc[2j] in the low lane's words and sc[2j+1] in the high lane's.
DATA ·gridScaleShuf+0(SB)/8, $0x8000800080008000
DATA ·gridScaleShuf+8(SB)/8, $0x8000800080008000
DATA ·gridScaleShuf+16(SB)/8, $0x8001800180018001
DATA ·gridScaleShuf+24(SB)/8, $0x8001800180018001
GLOBL ·gridScaleShuf(SB), RODATA|NOPTR, $32
