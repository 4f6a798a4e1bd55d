//go:build !noasm && (amd64 || arm64)

package cpu

import (
	"encoding/binary"
	"fmt"

	"github.com/inferno-go/inferno/tensor"
)

// IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S and IQ1_M run on two layouts of one design, with one
// kernel each per architecture. Their values are d·sc·q with q eight at a time a signed
// grid entry, so at load each eight values become a table index. IQ2's signs are
// independent of the grid entry: gridx8 holds the index of their magnitudes in the
// type's table of distinct magnitude patterns and a byte of signs, and the kernel
// applies the signs to the activations. IQ1's values 8·g ± 1 are the entry and its
// shift: gridsx8 holds the index of the signed entry (2·grid index + shift) alone. The
// kernels gather four table entries per 32 values and multiply as ggml's AVX2 kernels
// do; the prompt kernels share the gathers among four tokens. The grids' magnitudes (up
// to 43) and odd levels fit no existing layout without an int8 copy of every value (4×
// the file); gridx8 holds 116 bytes per row and super-block against the files' 66
// (IQ2_XXS, 1.76×), 74 (IQ2_XS, 1.57×) and 82 (IQ2_S, 1.41×), gridsx8 84 against 50
// (IQ1_S, 1.68×) and 56 (IQ1_M, 1.5×). The integer sums are exact; the float order is
// not tensor's (one sum per row and super-block, not ggml's eight lanes), so results
// agree with its reference dot to rounding, bit for bit where nothing rounds.
func init() {
	if !hasX8Kernels {
		return
	}
	for _, dt := range []tensor.DType{tensor.IQ2_XXS, tensor.IQ2_XS, tensor.IQ2_S} {
		tab := newGridTable(dt)
		one := func(mm *matmulOp, w *byte, t int, out *float32, _ int) {
			var sums [8]int32
			dotGridX8(mm.nb, w, &mm.act[t*mm.arb], &tab.mags[0], &gridSignMasks[0], &sums[0], out)
		}
		four := func(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
			var sums [4 * 8]int32
			dotGridX8x4(mm.nb, w, &mm.act[t*mm.arb], mm.arb, &tab.mags[0], &gridSignMasks[0], &sums[0], out, ostride)
		}
		k := x8Kernels{one: one, many: four, tokens: 4}
		registerX8(x8Type{dt: dt, block: 256, groupBytes: gridx8GroupBytes, repack: repackGridx8(dt, tab),
			prepare: prepareQ8K, amd64: k, arm64: k})
	}
	tab := newGridSTable(tensor.IQ1_S) // IQ1_M's grid is IQ1_S's
	one := func(mm *matmulOp, w *byte, t int, out *float32, _ int) {
		var sums [8]int32
		dotGridSX8(mm.nb, w, &mm.act[t*mm.arb], &tab.vals[0], &sums[0], out)
	}
	four := func(mm *matmulOp, w *byte, t int, out *float32, ostride int) {
		var sums [4 * 8]int32
		dotGridSX8x4(mm.nb, w, &mm.act[t*mm.arb], mm.arb, &tab.vals[0], &sums[0], out, ostride)
	}
	k := x8Kernels{one: one, many: four, tokens: 4}
	for _, dt := range []tensor.DType{tensor.IQ1_S, tensor.IQ1_M} {
		registerX8(x8Type{dt: dt, block: 256, groupBytes: gridsx8GroupBytes, repack: repackGridSx8(dt, tab),
			prepare: prepareQ8K, amd64: k, arm64: k})
	}
}

// The gridx8 layout: per group of eight rows and super-block, d[8] float32 (the type's
// level scale, tensor.Codec.KLevels' d), then per row 112 bytes: the sixteen 16-element
// group scales (uint8), the 32 table indices of its eight-value groups (uint16) and
// their 32 sign bytes (bit j: value j negative).
const (
	gridx8RowBytes = 112
	gridx8SBBytes  = 32 + 8*gridx8RowBytes
)

func gridx8GroupBytes(nsb int) int { return nsb * gridx8SBBytes }

// gridSignMasks expands a sign byte into eight bytes, 0xFF where the bit is set: the
// kernels negate activation a as (a ^ m) − m.
var gridSignMasks = func() (t [256 * 8]byte) {
	for s := range 256 {
		for j := range 8 {
			if s&(1<<j) != 0 {
				t[8*s+j] = 0xFF
			}
		}
	}
	return t
}()

// gridTable is an IQ2 type's distinct magnitude patterns of eight values (8 bytes each,
// what the kernels gather) and, for each pattern of the three magnitude levels (a
// base-3 number, digit j for value j), its entry or −1.
type gridTable struct {
	levels [3]int32 // the three magnitudes, ascending
	mags   []byte
	index  [6561]int16
}

// newGridTable builds dt's table from its grid: the IQ2 grid entries themselves
// (magnitudes 8, 25, 43).
func newGridTable(dt tensor.DType) *gridTable {
	t := &gridTable{levels: [3]int32{8, 25, 43}}
	for i := range t.index {
		t.index[i] = -1
	}
	for _, g := range tensor.IQGrid(dt) {
		var m [8]int32
		for j := range m {
			m[j] = int32(g[j])
		}
		p, ok := t.pattern(&m)
		if !ok {
			panic(fmt.Sprintf("cpu: %s grid entry %v has a magnitude outside %v", dt, g, t.levels))
		}
		if t.index[p] < 0 {
			t.index[p] = int16(len(t.mags) / 8)
			for _, v := range m {
				t.mags = append(t.mags, byte(v))
			}
		}
	}
	return t
}

// pattern is the base-3 number of magnitudes m, false if one is not a level.
func (t *gridTable) pattern(m *[8]int32) (int, bool) {
	p := 0
	for j := 7; j >= 0; j-- {
		l := 0
		for l < 3 && t.levels[l] != m[j] {
			l++
		}
		if l == 3 {
			return 0, false
		}
		p = 3*p + l
	}
	return p, true
}

// repackGridx8 returns the repack of dt's rows into gridx8 through the type's levels.
// Every eight values a file can hold are a grid entry (signed), so every pattern is in
// the table.
func repackGridx8(dt tensor.DType, tab *gridTable) func(out, src []byte, nsb, r0, r1 int) {
	return repackLevels(dt, gridx8SBBytes, func(d []byte, r, s int, dw float32, q *[tensor.QK_K]int32, sc *[16]int32) {
		ri := r % 8
		putF32(d[4*ri:], dw)
		row := d[32+gridx8RowBytes*ri : 32+gridx8RowBytes*(ri+1)]
		for g, v := range sc {
			row[g] = byte(v) // 1..31
		}
		for l := 0; l < 32; l++ {
			var m [8]int32
			var signs byte
			for j := range m {
				v := q[8*l+j]
				if v < 0 {
					v, signs = -v, signs|1<<j
				}
				m[j] = v
			}
			p, ok := tab.pattern(&m)
			if !ok || tab.index[p] < 0 {
				panic(fmt.Sprintf("cpu: %s row %d super-block %d: values %v are not on the grid", dt, r, s, m))
			}
			binary.LittleEndian.PutUint16(row[16+2*l:], uint16(tab.index[p]))
			row[80+l] = signs
		}
	})
}

// The gridsx8 layout (IQ1_S, IQ1_M): per group of eight rows and super-block, d[8]
// float32, then per row 80 bytes: the sixteen group scales (uint8) and the 32 indices
// (uint16) of its eight-value groups' signed table entries.
const (
	gridsx8RowBytes = 80
	gridsx8SBBytes  = 32 + 8*gridsx8RowBytes
)

func gridsx8GroupBytes(nsb int) int { return nsb * gridsx8SBBytes }

// gridSTable is the IQ1 grid's signed entries 8·g + 1 (entry 2i) and 8·g − 1 (2i+1),
// int8, and for each pattern of grid values (a base-3 number of g+1, digit j for value
// j) its grid index or −1.
type gridSTable struct {
	vals  []byte
	index [6561]int16
}

func newGridSTable(dt tensor.DType) *gridSTable {
	t := &gridSTable{}
	for i := range t.index {
		t.index[i] = -1
	}
	grid := tensor.IQGrid(dt)
	t.vals = make([]byte, 16*len(grid))
	for i, g := range grid {
		p := 0
		for j := 7; j >= 0; j-- {
			p = 3*p + int(g[j]) + 1
		}
		t.index[p] = int16(i)
		for j := range 8 {
			t.vals[16*i+j] = byte(int8(8*g[j] + 1))
			t.vals[16*i+8+j] = byte(int8(8*g[j] - 1))
		}
	}
	return t
}

// repackGridSx8 returns the repack of dt's rows (IQ1_S or IQ1_M) into gridsx8 through
// the type's levels (8·g ± 1, one shift per eight values, g on the grid).
func repackGridSx8(dt tensor.DType, tab *gridSTable) func(out, src []byte, nsb, r0, r1 int) {
	return repackLevels(dt, gridsx8SBBytes, func(d []byte, r, s int, dw float32, q *[tensor.QK_K]int32, sc *[16]int32) {
		ri := r % 8
		putF32(d[4*ri:], dw)
		row := d[32+gridsx8RowBytes*ri : 32+gridsx8RowBytes*(ri+1)]
		for g, v := range sc {
			row[g] = byte(v) // 1..15
		}
		for l := 0; l < 32; l++ {
			v := q[8*l : 8*l+8]
			shift, neg := int32(1), 0
			if v[0]&7 == 7 { // −1 mod 8
				shift, neg = -1, 1
			}
			p, ok := 0, true
			for j := 7; j >= 0; j-- {
				g := (v[j] - shift) / 8
				ok = ok && v[j] == 8*g+shift && g >= -1 && g <= 1
				p = 3*p + int(g) + 1
			}
			if !ok || tab.index[p] < 0 {
				panic(fmt.Sprintf("cpu: %s row %d super-block %d: values %v are not on the grid", dt, r, s, v))
			}
			binary.LittleEndian.PutUint16(row[16+2*l:], uint16(2*int(tab.index[p])+neg))
		}
	})
}

// dotGridX8 is one Q8_K activation row a against a group of eight gridx8 rows of nsb
// super-blocks, with the type's magnitude table mags, gridSignMasks and a scratch sums:
//
//	out[0:8] = 0
//	for sb := range nsb {
//		for r := range 8 {
//			sums[r] = 0
//			for l := range 32 { // eight values at a time
//				for j := range 8 {
//					a := a_q[8l+j]
//					if signs[r][l]&(1<<j) != 0 { a = -a }
//					sums[r] += sc[r][l/2] * mags[8·idx[r][l]+j] * a
//				}
//			}
//			out[r] += d_a · d[r] · float32(sums[r])
//		}
//	}
//
//go:noescape
func dotGridX8(nsb int, w, a, mags, signs *byte, sums *int32, out *float32)

// dotGridX8x4 is dotGridX8 for four tokens, their activation rows astride bytes apart
// from a and their results ostride bytes apart from out (sums: 32 int32 of scratch):
//
//	for i := range 4 {
//		dotGridX8(nsb, w, a + i·astride, mags, signs, sums[8i:], out + i·ostride)
//	}
//
//go:noescape
func dotGridX8x4(nsb int, w, a *byte, astride int, mags, signs *byte, sums *int32, out *float32, ostride int)

// dotGridSX8 is dotGridX8 on gridsx8 rows, the signs in the table's entries vals:
//
//	out[0:8] = 0
//	for sb := range nsb {
//		for r := range 8 {
//			sums[r] = 0
//			for l := range 32 {
//				for j := range 8 {
//					sums[r] += sc[r][l/2] * int8(vals[8·idx[r][l]+j]) * a_q[8l+j]
//				}
//			}
//			out[r] += d_a · d[r] · float32(sums[r])
//		}
//	}
//
//go:noescape
func dotGridSX8(nsb int, w, a, vals *byte, sums *int32, out *float32)

// dotGridSX8x4 is dotGridSX8 for four tokens, as dotGridX8x4 is dotGridX8's.
//
//go:noescape
func dotGridSX8x4(nsb int, w, a *byte, astride int, vals *byte, sums *int32, out *float32, ostride int)
