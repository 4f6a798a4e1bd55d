package tensor

import (
	"fmt"
	"math"
	"sort"
	"sync"
)

// The IQ3 quantizers' search machinery, ggml's iq3xs_init_impl (run by ggml_quantize_init):
// for a grid of 4-value points whose coordinates are odd levels 2l+1 (l = 0..7), a map
// from every packed level quadruple to its grid index, and for each quadruple off the grid
// the grid points nearest to it. IQ3_XXS uses the 256-point grid, IQ3_S the 512-point one;
// each is built once, on first use.

// iq3Lattice is one grid's entry of ggml's iq3_data.
type iq3Lattice struct {
	// levels[k] are point k's four coordinates 2l+1.
	levels [][4]int8
	// kmap maps a quadruple packed as Σ l_i<<3i to its grid index, or, off the grid, to
	// -(1+o) with o the offset of its neighbour list: a count, then that many indices.
	kmap       [4096]int32
	neighbours []uint16
}

var (
	iq3xxsLatticeOnce, iq3sLatticeOnce sync.Once
	iq3xxsLatticeData, iq3sLatticeData *iq3Lattice
)

// iq3xxsLattice is the 256-point grid's search data (IQ3_XXS).
func iq3xxsLattice() *iq3Lattice {
	iq3xxsLatticeOnce.Do(func() {
		// iq3xxs_grid stores the magnitudes 4, 12, ..., 52, 62 of the levels l = 0..7.
		level := map[uint8]int8{4: 0, 12: 1, 20: 2, 28: 3, 36: 4, 44: 5, 52: 6, 62: 7}
		iq3xxsLatticeData = newIQ3Lattice(iq3xxsGrid[:], func(b uint8) int8 { return level[b] }, 2)
	})
	return iq3xxsLatticeData
}

// iq3sLattice is the 512-point grid's search data (IQ3_S).
func iq3sLattice() *iq3Lattice {
	iq3sLatticeOnce.Do(func() {
		// iq3s_grid stores the odd levels themselves.
		iq3sLatticeData = newIQ3Lattice(iq3sGrid[:], func(b uint8) int8 { return int8(b-1) / 2 }, 3)
	})
	return iq3sLatticeData
}

// newIQ3Lattice builds the map and neighbour lists of grid (the dequantization table,
// whose byte b has level levelOf(b)); an off-grid quadruple's list holds every point at
// the nwant smallest squared distances, nearest first, ties by index.
func newIQ3Lattice(grid []uint32, levelOf func(uint8) int8, nwant int) *iq3Lattice {
	g := &iq3Lattice{levels: make([][4]int8, len(grid))}
	for i := range g.kmap {
		g.kmap[i] = -1
	}
	for k, p := range grid {
		u := 0
		for i := 0; i < 4; i++ {
			l := levelOf(uint8(p >> (8 * i)))
			g.levels[k][i] = 2*l + 1
			u |= int(l) << (3 * i)
		}
		g.kmap[u] = int32(k)
	}
	type cand struct{ d2, j int }
	dist := make([]cand, len(grid))
	for u := range g.kmap {
		if g.kmap[u] >= 0 {
			continue
		}
		var pos [4]int
		for i := range pos {
			pos[i] = 2*((u>>(3*i))&7) + 1
		}
		for j, pg := range g.levels {
			d2 := 0
			for i := range pos {
				d := int(pg[i]) - pos[i]
				d2 += d * d
			}
			dist[j] = cand{d2, j}
		}
		sort.Slice(dist, func(a, b int) bool {
			return dist[a].d2 < dist[b].d2 || dist[a].d2 == dist[b].d2 && dist[a].j < dist[b].j
		})
		g.kmap[u] = -int32(len(g.neighbours) + 1)
		start := len(g.neighbours)
		g.neighbours = append(g.neighbours, 0)
		d2, nhave := dist[0].d2, 1
		for _, c := range dist {
			if c.d2 > d2 {
				if nhave == nwant {
					break
				}
				d2 = c.d2
				nhave++
			}
			g.neighbours = append(g.neighbours, uint16(c.j))
		}
		g.neighbours[start] = uint16(len(g.neighbours) - start - 1)
	}
	return g
}

// bestNeighbour is iq3_find_best_neighbour: among the grid points listed for the
// off-grid quadruple u, the one nearest to xval (weighted squared error at scale; the
// first of equals); it writes that point's levels to L and returns its index.
func (g *iq3Lattice) bestNeighbour(u int, xval, weight []float32, scale float32, L []int8) int {
	list := g.neighbours[-g.kmap[u]-1:]
	n := int(list[0])
	best, bestD2 := -1, float32(math.MaxFloat32)
	for _, k := range list[1 : 1+n] {
		pg := &g.levels[k]
		var d2 float32
		for i := 0; i < 4; i++ {
			diff := float32(scale*float32(pg[i])) - xval[i]
			d2 += float32(float32(weight[i]*diff) * diff)
		}
		if d2 < bestD2 {
			bestD2, best = d2, int(k)
		}
	}
	// ggml asserts that a point was found: only a NaN input makes every comparison
	// false, and then the first listed point is taken instead of stopping.
	if best < 0 {
		best = int(list[1])
	}
	for i := 0; i < 4; i++ {
		L[i] = (g.levels[best][i] - 1) / 2
	}
	return best
}

// index is the grid index of the level quadruple L[0:4] (always on the grid).
func (g *iq3Lattice) index(L []int8) int {
	return int(g.kmap[int(L[0])|int(L[1])<<3|int(L[2])<<6|int(L[3])<<9])
}

// iq3SubBlock is the state the IQ3 quantizers carry from one 32-value sub-block to the
// next (ggml keeps L and is_on_grid in variables outside its sub-block loop).
type iq3SubBlock struct {
	weight, waux, xval [32]float32
	L, Laux            [32]int8
	onGrid, onGridAux  [8]bool
}

// weights fills weight and waux for the sub-block xb: x² without an importance matrix,
// qw·sqrt(σ² + x²) with one (σ², sigma2 below, of the super-block).
func (s *iq3SubBlock) weights(xb, qw []float32, sigma2 float32) {
	for i, v := range xb {
		if qw == nil {
			s.weight[i] = v * v
		} else {
			s.weight[i] = qw[i] * sqrtf(sigma2+float32(v*v))
		}
	}
	for i, w := range s.weight {
		s.waux[i] = sqrtf(w)
	}
}

// sigma2 is 2·mean of x² over a super-block.
func sigma2(xbl []float32) float32 {
	var sumx2 float32
	for _, v := range xbl {
		sumx2 += float32(v * v)
	}
	return float32(2 * sumx2 / QK_K) // /QK_K compiles to a multiply that arm64 would fuse into the caller's σ²+x²
}

// iq3Level is l = clamp(nearest(((id·x) − 1)/2), 0, 7): the odd level 2l+1 nearest x·id.
func iq3Level(id, x float32) int8 {
	return int8(clampInt(nearestInt(0.5*(float32(id*x)-1)), 0, 7))
}

// sums is Σ w·x·q and Σ w·q² over the sub-block for the levels L (q = 2l+1).
func (s *iq3SubBlock) sums(L *[32]int8) (sumqx, sumq2 float32) {
	for i, w := range s.weight {
		q := float32(2*L[i] + 1)
		sumqx += float32(float32(w*s.xval[i]) * q)
		sumq2 += float32(float32(w*q) * q)
	}
	return sumqx, sumq2
}

// search is the scale search both IQ3 quantizers run on a sub-block whose magnitudes
// (xval) peak at max: the levels at 2·steps+1 trial scales around max/15, each snapped
// to the grid; the best by weighted error leaves its levels in L. Then the quadruples
// that were off the grid are re-snapped at the best scale (all of them when refineAll,
// as IQ3_S does) and the scale refitted. It returns the scale.
func (s *iq3SubBlock) search(g *iq3Lattice, max float32, steps int, refineAll bool) float32 {
	const kMaxQ = 8
	var best float32
	scale := max / (2*kMaxQ - 1)
	for is := -steps; is <= steps; is++ {
		id := (2*kMaxQ - 1 + float32(float32(is)*0.2)) / max
		thisScale := 1 / id
		for k := 0; k < 8; k++ {
			u := 0
			for i := 0; i < 4; i++ {
				l := iq3Level(id, s.xval[4*k+i])
				s.Laux[4*k+i] = l
				u |= int(l) << (3 * i)
			}
			s.onGridAux[k] = g.kmap[u] >= 0
			if !s.onGridAux[k] {
				g.bestNeighbour(u, s.xval[4*k:], s.waux[4*k:], thisScale, s.Laux[4*k:])
			}
		}
		sumqx, sumq2 := s.sums(&s.Laux)
		if sumq2 > 0 && float32(sumqx*sumqx) > float32(best*sumq2) {
			scale = sumqx / sumq2
			best = scale * sumqx
			s.L, s.onGrid = s.Laux, s.onGridAux
		}
	}
	offGrid := false
	for _, on := range s.onGrid {
		offGrid = offGrid || !on
	}
	if offGrid && scale > 0 {
		id := 1 / scale
		for k := 0; k < 8; k++ {
			if s.onGrid[k] && !refineAll {
				continue
			}
			u := 0
			for i := 0; i < 4; i++ {
				u |= int(iq3Level(id, s.xval[4*k+i])) << (3 * i)
			}
			gi := int(g.kmap[u])
			if gi < 0 {
				gi = g.bestNeighbour(u, s.xval[4*k:], s.waux[4*k:], scale, s.L[4*k:])
			}
			for i := 0; i < 4; i++ {
				s.L[4*k+i] = (g.levels[gi][i] - 1) / 2
			}
		}
		if sumqx, sumq2 := s.sums(&s.L); sumq2 > 0 {
			scale = sumqx / sumq2
		}
	}
	return scale
}

// checkWeighted validates the arguments of a Codec.QuantizeWeighted of type t.
func checkWeighted(t DType, dst []byte, src []float32, nPerRow int, weights []float32) error {
	if nPerRow <= 0 || nPerRow%t.BlockSize() != 0 {
		return fmt.Errorf("quantize %s: row length %d is not a positive multiple of the block size %d", t, nPerRow, t.BlockSize())
	}
	if len(src)%nPerRow != 0 {
		return fmt.Errorf("quantize %s: %d values are not whole rows of %d", t, len(src), nPerRow)
	}
	if weights != nil && len(weights) != nPerRow { // nil: the quantizer without weights
		return fmt.Errorf("quantize %s: %d importance weights for rows of %d", t, len(weights), nPerRow)
	}
	if need, _ := t.RowSize(len(src)); len(dst) < need {
		return fmt.Errorf("quantize %s: %d values need %d bytes, have %d", t, len(src), need, len(dst))
	}
	return nil
}
