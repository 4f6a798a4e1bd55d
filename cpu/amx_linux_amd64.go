//go:build !noasm

package cpu

import (
	"syscall"

	"golang.org/x/sys/cpu"

	"github.com/inferno-go/inferno/tensor"
)

// The avx512amx set: AMX-INT8 tiles multiply sixteen tokens by a group of eight q8x8
// rows per Q8_0 block (TDPBSSD, signed by signed bytes: no offset to correct), the
// int32 tile is stored and its block scales applied in float with AVX-512, as
// llama.cpp's AMX path does. One token at a time, and the types without AMX kernels,
// run the avx512vnni kernels.

// hasAMXInt8: the CPU has AMX-TILE and AMX-INT8 (CPUID leaf 7 EDX bits 24, 25), the
// avx512vnni set runs, and Linux let this process use the tile data (without that
// permission the first tile instruction faults).
var hasAMXInt8 = hasAVX512VNNI && cpu.X86.HasAMXTile && cpu.X86.HasAMXInt8 && requestAMXTileData() == nil

// requestAMXTileData asks Linux for the AMX tile data state (arch_prctl
// ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): a permission of the whole process.
func requestAMXTileData() error {
	const archReqXcompPerm, xfeatureXTileData = 0x1023, 18
	if _, _, e := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXTileData, 0); e != 0 {
		return e
	}
	return nil
}

var _ = addAMX(tensor.Q8_0, x8Kernels{one: q8_0x8OneVNNI, many: q8_0x8SixteenAMX, tokens: amxTokens,
	mid: q8_0x8FourVNNI, midTokens: 4, side: sideScaleSums, sideLen: 1, prepare: prepareQ8_0VNNI})

var _ = addAMX(tensor.Q4_0, x8Kernels{one: q4_0x8OneVNNI, many: q4_0x8SixteenAMX, tokens: amxTokens,
	mid: q4_0x8FourVNNI, midTokens: 4})

// q8_0x8SixteenAMX is tokens t..t+15 against a group of q8x8 rows; it reads the
// avx512vnni side data (the scales; the −128·Σa there is for the one-token kernel).
func q8_0x8SixteenAMX(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	var c amxQ8_0Tiles // the int32 tiles of two blocks, stored for the float step
	dotQ8_0x8x16AMX(mm.nb, w, &mm.side.scaleSums[t*mm.sideStride].d, &mm.act[t*mm.arb+2], mm.arb,
		out, ostride, &amxQ8_0Config[0], &c[0][0][0])
}

// dotQ8_0x8x16AMX is sixteen Q8_0 activation rows (their quants from a, astride bytes
// apart; their scales from sa, 8·nb bytes apart per token, 8 per block) against a group
// of eight q8x8 rows at w, token j's eight results at out + j·ostride bytes: the tiles
// as cfg (amxQ8_0Config) says, c two 16×8 int32 scratch tiles (amxModel is the same
// in Go).
//
//go:noescape
func dotQ8_0x8x16AMX(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int, cfg *byte, c *int32)

// q4_0x8SixteenAMX is tokens t..t+15 against a group of q4x8 rows (the Q4_0 side data:
// the scales, and 8·Σa, which this kernel does not need: it takes 8 off the quants).
func q4_0x8SixteenAMX(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
	var c amxQ8_0Tiles
	var wq [2][256]int8 // two blocks' quants as bytes, B's layout
	dotQ4_0x8x16AMX(mm.nb, w, &mm.side.scaleSums[t*mm.sideStride].d, &mm.act[t*mm.arb+2], mm.arb,
		out, ostride, &amxQ8_0Config[0], &c[0][0][0], &wq[0][0])
}

// dotQ4_0x8x16AMX is dotQ8_0x8x16AMX for a group of q4x8 rows, each block's nibbles
// written less 8 to wq in the q8x8 block's order and loaded from there (amxQ4_0Model).
//
//go:noescape
func dotQ4_0x8x16AMX(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int, cfg *byte, c *int32, wq *int8)

// amxQ4_0UnpackAsm is the Q4_0 kernel's unpacking of one q4x8 block's 128 bytes of
// nibbles (q) into wq, alone: it needs AVX-512BW only (hasAVX512VNNI), not AMX.
//
//go:noescape
func amxQ4_0UnpackAsm(q *byte, wq *int8)
