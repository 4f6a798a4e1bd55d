//go:build !noasm && (amd64 || arm64)

package cpu

import "github.com/inferno-go/inferno/tensor"

// IQ3_XXS and IQ3_S run on Q6_K's eight-row layout and kernels: their values are
// d·sc·q with q within Q6_K's −32..31 (IQ3_S: ±1..15; IQ3_XXS: its even magnitudes
// halved, ±2..31, with d doubled) and integer sub-block scales 1..31 within its int8
// group scales, so the grid lookups happen once, at load. The layout holds twice the
// bytes of the files' rows (a measured speed is not recorded yet).
func init() {
	k := x8Kernels{one: q6kx8One, many: q6kx8Two, tokens: 2}
	for _, it := range []struct {
		dt   tensor.DType
		half bool
	}{{tensor.IQ3_XXS, true}, {tensor.IQ3_S, false}} {
		registerX8(x8Type{dt: it.dt, block: 256, groupBytes: q6kx8GroupBytes, repack: repackLevelsQ6Kx8(it.dt, it.half),
			side: sideSums16, sideLen: 32, prepare: prepareQ6Kx8, amd64: k, arm64: k})
	}
}

// repackLevelsQ6Kx8 returns the repack of dt's rows into the q6kx8 layout from the
// type's levels (tensor.Codec.KLevels: value = d·sc·q, no mins), the levels halved and
// d doubled when half. The layout is repackQ6Kx8Rows's: d[8] float32, each row's group
// scale twice per 16-element group, then the quants q+32 as low nibbles and high bits.
func repackLevelsQ6Kx8(dt tensor.DType, half bool) func(out, src []byte, nsb, r0, r1 int) {
	return repackLevels(dt, 1824, func(d []byte, r, s int, dw float32, q *[tensor.QK_K]int32, sc *[16]int32) {
		ri := r % 8
		if half {
			dw *= 2
			for i := range q {
				q[i] /= 2 // even magnitudes: exact
			}
		}
		putF32(d[4*ri:], dw)
		for g := 0; g < 16; g++ {
			d[32+16*g+2*ri], d[32+16*g+2*ri+1] = byte(int8(sc[g])), byte(int8(sc[g]))
			quad := d[288+96*g : 288+96*g+96]
			for e := 0; e < 4; e++ { // element e of each of the group's vectors
				var v [4]byte
				for k := range v {
					v[k] = byte(q[16*g+4*k+e] + 32)
				}
				quad[4*ri+e] = v[0]&0xf | (v[1]&0xf)<<4
				quad[32+4*ri+e] = v[2]&0xf | (v[3]&0xf)<<4
				quad[64+4*ri+e] = v[0]>>4 | (v[1]>>4)<<2 | (v[2]>>4)<<4 | (v[3]>>4)<<6
			}
		}
	})
}
