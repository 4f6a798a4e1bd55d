//go:build !noasm && (amd64 || arm64)

package cpu

import (
	"encoding/binary"

	"github.com/inferno-go/inferno/tensor"
)

// TQ1_0 holds the same ternary values as TQ2_0 in fewer bytes; both are repacked into
// tq2x8 and share its kernels.
func init() {
	k := x8Kernels{one: tq2x8One}
	for _, dt := range []tensor.DType{tensor.TQ1_0, tensor.TQ2_0} {
		registerX8(x8Type{dt: dt, block: 256, groupBytes: tq2x8GroupBytes, repack: repackTQx8(dt),
			side: sideSums32, sideLen: 1, prepare: prepareTQ2x8, amd64: k, arm64: k})
	}
}

// prepareTQ2x8 quantizes token t to Q8_K with Σa of each super-block: the kernel takes
// the codes c = q + 1 (0..2) and subtracts Σa once.
func prepareTQ2x8(mm *matmulOp, t int) {
	prepareQ8K(mm, t)
	a, sums := mm.actRow(t), mm.sums32Row(t)
	for s := 0; s < mm.nb; s++ {
		var sum int32
		for g := 0; g < 16; g++ {
			sum += int32(int16(binary.LittleEndian.Uint16(a[s*292+260+2*g:])))
		}
		sums[s] = sum
	}
}

// tq2x8GroupBytes is the size of one group of eight rows of nsb super-blocks in the
// tq2x8 layout: exactly eight TQ2_0 rows (TQ1_0's take 22% more).
func tq2x8GroupBytes(nsb int) int { return nsb * 528 }

// repackTQx8 returns the repack of dt's rows (TQ1_0 or TQ2_0) into tq2x8: in groups of
// eight rows, per super-block d[8] as fp16, then per 16-element group g its four vectors'
// codes c = q + 1 (Vk: elements 16g+4k..+3 of rows 0..7, row r at bytes 4r..4r+3) packed
// as L_g = V0 | V1<<2 | V2<<4 | V3<<6 — q2kx8's quants. See dottq2_0x8_amd64.s.
func repackTQx8(dt tensor.DType) func(out, src []byte, nsb, r0, r1 int) {
	return repackLevels(dt, 528, func(d []byte, r, s int, dr float32, q *[tensor.QK_K]int32, sc *[16]int32) {
		ri := r % 8
		binary.LittleEndian.PutUint16(d[2*ri:], tensor.FP32ToFP16(dr)) // dr came from fp16: exact
		for g := 0; g < 16; g++ {
			for e := 0; e < 4; e++ {
				var l byte
				for k := 0; k < 4; k++ {
					l |= byte(q[16*g+4*k+e]+1) << (2 * k)
				}
				d[16+32*g+4*ri+e] = l
			}
		}
	})
}

func tq2x8One(mm *matmulOp, w *byte, t int, out *float32, _ int) {
	dotTQ2x8(mm.nb, w, &mm.act[t*mm.arb], &mm.side.sums32[t*mm.sideStride], out)
}

// dotTQ2x8 is one Q8_K activation row against a group of eight tq2x8 rows of nsb
// super-blocks; c holds each super-block's Σa:
//
//	for r := range 8 { out[r] = Σ_sb d_a * d[r] * (Σ c·a − Σa) }
//
//go:noescape
func dotTQ2x8(nsb int, w *byte, a *byte, c *int32, out *float32)
