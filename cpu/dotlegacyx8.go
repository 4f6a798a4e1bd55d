//go:build !noasm && (amd64 || arm64)

package cpu

import (
	"encoding/binary"

	"github.com/inferno-go/inferno/tensor"
)

func init() {
	q50 := x8Kernels{one: q5_0x8One}
	registerX8(x8Type{dt: tensor.Q5_0, block: 32, groupBytes: q5x8GroupBytes, repack: repackQ5_0x8Rows,
		side: sideScaleSums, sideLen: 1, prepare: prepareQ8_0ScaleSums, amd64: q50, arm64: q50})
	q41 := x8Kernels{one: q4_1x8One}
	registerX8(x8Type{dt: tensor.Q4_1, block: 32, groupBytes: q41x8GroupBytes, repack: repackQ4_1x8Rows,
		side: sideQ8_1, sideLen: 1, prepare: prepareQ8_1, amd64: q41, arm64: q41})
	q51 := x8Kernels{one: q5_1x8One}
	registerX8(x8Type{dt: tensor.Q5_1, block: 32, groupBytes: q51x8GroupBytes, repack: repackQ5_1x8Rows,
		side: sideQ8_1, sideLen: 1, prepare: prepareQ8_1, amd64: q51, arm64: q51})
}

// The q5x8, q41x8 and q51x8 layouts (Q5_0, Q4_1, Q5_1) extend q4x8: per block of a group
// of eight rows, the rows' fp16 d (and for Q4_1/Q5_1 then their fp16 m), the q4x8
// nibble vectors, and for the 5-bit types one vector of fifth bits: row r's byte e holds
// in bit 2v the fifth bit of element 4v+e and in bit 2v+1 that of element 16+4v+e (the
// low and high nibbles of nibble vector v). Each is exactly the file's size.

func q5x8GroupBytes(nb int) int  { return nb * 176 }
func q41x8GroupBytes(nb int) int { return nb * 160 }
func q51x8GroupBytes(nb int) int { return nb * 192 }

// putLegacyX8 writes row ri's part of one block d of a q5x8/q41x8/q51x8 group: its fp16
// d (and m at 16 when hasM), its 16 nibble bytes qs at nib, and when qh is not nil its
// fifth bits at hb.
func putLegacyX8(d []byte, ri int, dm []byte, hasM bool, qs []byte, nib int, qh []byte, hb int) {
	copy(d[2*ri:2*ri+2], dm[0:2])
	if hasM {
		copy(d[16+2*ri:16+2*ri+2], dm[2:4])
	}
	for v := 0; v < 4; v++ {
		copy(d[nib+32*v+4*ri:nib+32*v+4*ri+4], qs[4*v:4*v+4])
	}
	if qh == nil {
		return
	}
	h := binary.LittleEndian.Uint32(qh)
	for e := 0; e < 4; e++ {
		var b byte
		for v := 0; v < 4; v++ {
			b |= byte(h>>(4*v+e)&1)<<(2*v) | byte(h>>(16+4*v+e)&1)<<(2*v+1)
		}
		d[hb+4*ri+e] = b
	}
}

// repackQ5_0x8Rows repacks Q5_0 rows [r0, r1) into q5x8 (see putLegacyX8).
func repackQ5_0x8Rows(out, src []byte, nb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		for i := 0; i < nb; i++ {
			b := src[(r*nb+i)*22:]
			putLegacyX8(out[(r/8*nb+i)*176:], r%8, b, false, b[6:22], 16, b[2:6], 144)
		}
	}
}

// repackQ4_1x8Rows repacks Q4_1 rows [r0, r1) into q41x8 (see putLegacyX8).
func repackQ4_1x8Rows(out, src []byte, nb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		for i := 0; i < nb; i++ {
			b := src[(r*nb+i)*20:]
			putLegacyX8(out[(r/8*nb+i)*160:], r%8, b, true, b[4:20], 32, nil, 0)
		}
	}
}

// repackQ5_1x8Rows repacks Q5_1 rows [r0, r1) into q51x8 (see putLegacyX8).
func repackQ5_1x8Rows(out, src []byte, nb, r0, r1 int) {
	for r := r0; r < r1; r++ {
		for i := 0; i < nb; i++ {
			b := src[(r*nb+i)*24:]
			putLegacyX8(out[(r/8*nb+i)*192:], r%8, b, true, b[8:24], 32, b[4:8], 160)
		}
	}
}

func q5_0x8One(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ5_0x8(mm.nb, w, &mm.side.scaleSums[t*mm.sideStride].d, &mm.act[t*mm.arb], out)
}

func q4_1x8One(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ4_1x8(mm.nb, w, &mm.side.q8_1[t*mm.sideStride].d, &mm.act[t*mm.arb], out)
}

func q5_1x8One(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotQ5_1x8(mm.nb, w, &mm.side.q8_1[t*mm.sideStride].d, &mm.act[t*mm.arb], out)
}

// dotQ5_0x8 is dotQ4_0x8 for a group of eight Q5_0 rows in the q5x8 layout (quants
// 0..31, stored +16).
//
//go:noescape
func dotQ5_0x8(nb int, w *byte, sa *float32, a *byte, out *float32)

// dotQ4_1x8 is one Q8_1 activation row against a group of eight Q4_1 rows in the q41x8
// layout; ds holds per block the activation's q8_1Scale (d and s = d·Σa):
//
//	for r := range 8 { for i := range nb { out[r] += w.d[r][i]*ds[i].d*float32(Σ_j q·a) + w.m[r][i]*ds[i].s } }
//
//go:noescape
func dotQ4_1x8(nb int, w *byte, ds *float32, a *byte, out *float32)

// dotQ5_1x8 is dotQ4_1x8 for a group of eight Q5_1 rows in the q51x8 layout.
//
//go:noescape
func dotQ5_1x8(nb int, w *byte, ds *float32, a *byte, out *float32)
