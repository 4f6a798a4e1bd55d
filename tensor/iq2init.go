package tensor

import (
	"encoding/binary"
	"math"
	"sync"
)

// The grids of IQ2_XXS, IQ2_XS, IQ2_S (values 8, 25, 43) and IQ1_S/IQ1_M (values −1, 0, 1)
// are stored as ggml-quants.c's kgrid tables: eight 2-bit levels l per entry. Dequantizers
// read the expanded ggml-common.h tables (iq2xxs_grid, …, iq1s_grid; expandGrid), the
// quantizers what ggml_quantize_init builds (iq2xs_init_impl): the grid as odd levels
// 2l+1, a map from the 16-bit level pattern to its grid index, and for each pattern
// not on the grid the list of its nearest grid entries.

// expandGrid turns kgrid entries into eight bytes each, level l -> values[l].
func expandGrid(kgrid []uint16, values [3]int8) [][8]int8 {
	g := make([][8]int8, len(kgrid))
	for k, e := range kgrid {
		for i := 0; i < 8; i++ {
			g[k][i] = values[(e>>(2*i))&3]
		}
	}
	return g
}

// IQGrid is the dequantization grid of IQ2_XXS, IQ2_XS, IQ2_S (magnitudes 8, 25, 43) or
// IQ1_S/IQ1_M (values −1, 0, 1), eight values per entry, as ggml-common.h holds it; nil
// for another type. Callers must not modify it.
func IQGrid(t DType) [][8]int8 {
	switch t {
	case IQ2_XXS:
		return gridIQ2XXS
	case IQ2_XS:
		return gridIQ2XS
	case IQ2_S:
		return gridIQ2S
	case IQ1_S, IQ1_M:
		return gridIQ1S
	}
	return nil
}

// iqQuantGrid is one of ggml's iq2_data entries.
type iqQuantGrid struct {
	pos [][8]int8 // grid entries as odd levels 2l+1
	// kmap[u] for a level pattern u (eight 2-bit levels): its grid index when >= 0, else
	// -(offset+1) of its neighbour list in neighbours: count, then grid indices.
	kmap       []int32
	neighbours []uint16
}

const iqKmapSize = 43692 // ggml's kmap_size: past 0xAAAA, the largest pattern of levels 0..2

var iqGrids [4]struct {
	once sync.Once
	g    *iqQuantGrid
}

// iqGridFor is ggml_quantize_init's grid for IQ2_XXS, IQ2_XS, IQ2_S or IQ1_S/IQ1_M, built
// once on first use.
func iqGridFor(t DType) *iqQuantGrid {
	var idx, nwant int
	var kgrid []uint16
	switch t {
	case IQ2_XXS:
		idx, nwant, kgrid = 0, 2, kgridIQ2XXS[:]
	case IQ2_XS:
		idx, nwant, kgrid = 1, 2, kgridIQ2XS[:]
	case IQ1_S, IQ1_M:
		idx, nwant, kgrid = 2, 3, kgridIQ1S[:]
	case IQ2_S:
		idx, nwant, kgrid = 3, 1, kgridIQ2S[:]
	default:
		panic("tensor: no i-quant grid for " + t.String())
	}
	e := &iqGrids[idx]
	e.once.Do(func() { e.g = buildIQGrid(kgrid, nwant) })
	return e.g
}

// buildIQGrid is iq2xs_init_impl: for every pattern off the grid, the grid entries at the
// nwant smallest squared distances (all entries at each of those distances), ordered by
// distance then index.
func buildIQGrid(kgrid []uint16, nwant int) *iqQuantGrid {
	g := &iqQuantGrid{pos: expandGrid(kgrid, [3]int8{1, 3, 5}), kmap: make([]int32, iqKmapSize)}
	for i := range g.kmap {
		g.kmap[i] = -1
	}
	for i, e := range kgrid {
		g.kmap[e] = int32(i)
	}
	// Sorting by (distance, index) and keeping the entries at the nwant smallest distances
	// is, with distances below 289, the same as taking those distances in order and the
	// entries at each in index order.
	dist := make([]int, len(kgrid))
	for u := 0; u < iqKmapSize; u++ {
		if g.kmap[u] >= 0 {
			continue
		}
		var pos [8]int
		for k := 0; k < 8; k++ {
			pos[k] = 2*((u>>(2*k))&3) + 1
		}
		var seen [8*36 + 1]bool
		for j := range g.pos {
			d2 := 0
			for k := 0; k < 8; k++ {
				d := int(g.pos[j][k]) - pos[k]
				d2 += d * d
			}
			dist[j] = d2
			seen[d2] = true
		}
		g.kmap[u] = -int32(len(g.neighbours) + 1)
		start := len(g.neighbours)
		g.neighbours = append(g.neighbours, 0)
		for d2, nhave := 0, 0; d2 < len(seen) && nhave < nwant; d2++ {
			if !seen[d2] {
				continue
			}
			nhave++
			for j, d := range dist {
				if d == d2 {
					g.neighbours = append(g.neighbours, uint16(j))
				}
			}
		}
		g.neighbours[start] = uint16(len(g.neighbours) - start - 1)
	}
	return g
}

// lookup returns the grid index of level pattern u, or -1 and its neighbour list.
func (g *iqQuantGrid) lookup(u uint16) (int, []uint16) {
	k := g.kmap[u]
	if k >= 0 {
		return int(k), nil
	}
	off := int(-k - 1)
	n := int(g.neighbours[off])
	return -1, g.neighbours[off+1 : off+1+n]
}

// levels writes grid entry i's levels (0..2) to L.
func (g *iqQuantGrid) levels(i int, L []int8) {
	for k := 0; k < 8; k++ {
		L[k] = (g.pos[i][k] - 1) / 2
	}
}

// findBestNeighbour is iq2_find_best_neighbour: the neighbour minimising the weighted
// squared error at this scale (first one on ties); its levels go to L.
func (g *iqQuantGrid) findBestNeighbour(nb []uint16, xval, weight []float32, scale float32, L []int8) int {
	best := float32(math.MaxFloat32)
	idx := -1
	for _, j := range nb {
		var d2 float32
		for i := 0; i < 8; i++ {
			diff := float32(scale*float32(g.pos[j][i])) - xval[i]
			d2 += float32(weight[i] * diff * diff)
		}
		if d2 < best {
			best, idx = d2, int(j)
		}
	}
	if idx < 0 { // only non-finite input (ggml asserts)
		idx = int(nb[0])
	}
	g.levels(idx, L)
	return idx
}

// findBestNeighbourIQ1 is iq1_find_best_neighbour2: as findBestNeighbour, with level l
// standing for xg[l]. (ggml's fallback over the whole grid, for when no neighbour has a
// finite error, is unreachable with finite input and not reproduced.)
func (g *iqQuantGrid) findBestNeighbourIQ1(nb []uint16, xval, weight []float32, scale float32, xg *[3]float32, L []int8) int {
	best := float32(math.MaxFloat32)
	idx := -1
	for _, j := range nb {
		var d2 float32
		for i := 0; i < 8; i++ {
			q := xg[(g.pos[j][i]-1)/2]
			diff := float32(scale*q) - xval[i]
			d2 += float32(weight[i] * diff * diff)
		}
		if d2 < best {
			best, idx = d2, int(j)
		}
	}
	if idx < 0 {
		idx = int(nb[0])
	}
	g.levels(idx, L)
	return idx
}

// iqSignFlip is the sign handling of IQ2_XXS and IQ2_XS: xval = |x| for a group of eight,
// signs as bits; an odd number of negatives flips the element of least weight·x² (its
// xval turns negative) so that seven bits determine the eighth (ksignsIQ2XS).
func iqSignFlip(xb, weight, xval []float32) uint8 {
	var s uint8
	nflip := 0
	for i := 0; i < 8; i++ {
		if xb[i] >= 0 {
			xval[i] = xb[i]
		} else {
			xval[i] = -xb[i]
			nflip++
			s |= 1 << i
		}
	}
	if nflip%2 != 0 {
		imin := 0
		mn := weight[0] * xb[0] * xb[0]
		for i := 1; i < 8; i++ {
			if ax := weight[i] * xb[i] * xb[i]; ax < mn {
				mn, imin = ax, i
			}
		}
		xval[imin] = -xval[imin]
		s ^= 1 << imin
	}
	return s & 127
}

func sqrtf(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// superBlockSumSq is Σx² over one super-block, summed in order as ggml does.
func superBlockSumSq(x []float32) float32 {
	var s float32
	for _, v := range x[:QK_K] {
		s += float32(v * v)
	}
	return s
}

// onGrid is the grid index of levels L[0:8], which the quantizers have put on the grid.
// Only non-finite input leaves them off it (ggml aborts); that block gets entry 0.
func (g *iqQuantGrid) onGrid(L []int8) int {
	var u int
	for i := 0; i < 8; i++ {
		u |= int(uint8(L[i])) << (2 * i)
	}
	if u >= len(g.kmap) || g.kmap[u] < 0 {
		return 0
	}
	return int(g.kmap[u])
}

func max32(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}

func f32le(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

// The i-quant dot products add in the order of ggml's AVX2 kernels (which the vectors
// and llama.cpp on x86 use), so that they are bit-exact with them: per super-block, eight
// int32 lanes (lane k: elements 4k..4k+3 of every 32, times their group scale), each
// lane accumulated with a float32 FMA of the super-block's d, the lanes added pairwise
// at the end (hsum_float_8).

// avx2Lanes is the eight lanes of integer levels q, group scales sc and Q8_K values q8.
func avx2Lanes(q *[QK_K]int32, sc *[16]int32, q8 []byte) (l [8]int32) {
	for e := 0; e < QK_K; e++ {
		l[(e%32)/4] += sc[e/16] * q[e] * int32(int8(q8[e]))
	}
	return l
}

// fmaLanes is acc[k] = fma(d, float32(lanes[k]), acc[k]).
func fmaLanes(acc *[8]float32, d float32, lanes *[8]int32) {
	for k := range acc {
		acc[k] = fmaf32(d, float32(lanes[k]), acc[k])
	}
}

// hsum8 is hsum_float_8: (x4+x0 + x6+x2) + (x5+x1 + x7+x3).
func hsum8(x *[8]float32) float32 {
	r0, r1, r2, r3 := x[4]+x[0], x[5]+x[1], x[6]+x[2], x[7]+x[3]
	return (r0 + r2) + (r1 + r3)
}

// iq2Dot is ggml_vec_dot_iq2_{xxs,xs,s}_q8_K in its AVX2 order (avx2Lanes), bit-exact on
// x86: blocks of blockBytes decoded to levels and group scales by levels.
func iq2Dot(n int, w, a []byte, blockBytes int, levels func(b []byte, q *[QK_K]int32, sc, mn *[16]int32) (d, dmin float32)) float32 {
	var k kBlock
	var acc [8]float32
	for i := 0; i < n/QK_K; i++ {
		b, y := w[i*blockBytes:], a[i*292:]
		levels(b, &k.q, &k.sc, &k.mn)
		lanes := avx2Lanes(&k.q, &k.sc, y[4:])
		fmaLanes(&acc, f16(b)*f32le(y), &lanes)
	}
	return 0.125 * hsum8(&acc)
}
