package cpu

import (
	"encoding/binary"
	"runtime"

	"github.com/inferno-go/inferno/tensor"
)

// Eight-row interleaved layouts. Where this build has their kernels (AVX2, or arm64's
// dot product) a quantized weight is rewritten at load into groups of eight interleaved
// rows (q4x8, q8x8, q4kx8, ...: one instruction multiplies eight rows by broadcast
// activations, as llama.cpp's Q4_0x8 does). Each weight type's kernel file (dotq4_0x8.go
// and its .s files, ...) describes its layout and kernels in one x8Type and registers it
// from init; MatMul and the tests know the types only through x8Types.

// x8Type is one weight type's interleaved layout, the activation side data its kernels
// take, and this build's kernels for it.
type x8Type struct {
	dt         tensor.DType
	block      int                                   // elements per block of the layout: a row has nb = k/block
	groupBytes func(nb int) int                      // bytes of a group of eight rows
	repack     func(out, src []byte, nb, r0, r1 int) // rows [r0, r1) of src (the file's bytes) into out, the last group padded with zero rows

	side    sideKind                  // the typed buffer of activation side data the kernels read
	sideLen int                       // its elements per layout block
	prepare func(mm *matmulOp, t int) // quantize token t's activations (mm.act) and write its side data

	amd64, arm64 x8Kernels // the kernels of each architecture (amd64: the avx2 set)
	// sets are this machine's kernels by kernel set (registerX8): amd64 for avx2, the
	// AVX-512 ones (vnniKernels) for avx512vnni where the type has them, else amd64's.
	sets map[string]*x8Kernels
	kern *x8Kernels // those of the set New's backends run (kernelSet)
}

// x8Kernels are a layout's kernels of one kernel set: one token at a time, and
// optionally `tokens` at a time (the prompt kernel, which unpacks the weights once for
// them all), with the activation side data they read (registerX8 fills in the type's
// where a set's kernels do not name their own).
type x8Kernels struct {
	one    x8Kernel
	many   x8Kernel // nil: one-token kernel only
	tokens int
	// mid, where set, takes midTokens (fewer than tokens) at a time where many's do not
	// fit: the AMX kernels' sixteen leave up to fifteen, which the VNNI kernels take four
	// at a time
	mid       x8Kernel
	midTokens int

	side    sideKind
	sideLen int
	prepare func(mm *matmulOp, t int)
	sk      setKernels // the set's activation quantizers, which prepare runs (registerX8)
}

// x8Kernel multiplies the group of eight rows at w by token t's activations (tokens t,
// t+1, ... for a many-token kernel), writing token t+i's eight results at out + i·ostride
// bytes.
type x8Kernel func(mm *matmulOp, w *byte, t int, out *float32, ostride int)

// x8Types are the layouts this machine has kernels for (in some kernel set): empty
// under noasm, without AVX2 on amd64 or the dot product on arm64.
var x8Types = map[tensor.DType]*x8Type{}

// registerX8 records xt if this machine runs its kernels.
func registerX8(xt x8Type) {
	if !hasX8Kernels {
		return
	}
	if x8Types[xt.dt] != nil || xt.block == 0 || xt.groupBytes == nil || xt.repack == nil || xt.prepare == nil ||
		xt.side != sideNone && xt.sideLen == 0 {
		panic("cpu: bad or duplicate x8 layout for " + xt.dt.String())
	}
	xt.sets = map[string]*x8Kernels{}
	add := func(set string, k x8Kernels) {
		if k.one == nil {
			return
		}
		if k.prepare == nil {
			k.side, k.sideLen, k.prepare = xt.side, xt.sideLen, xt.prepare
		}
		k.sk = setKernelsOf(set)
		// matmulX8 takes a partial group's results for every token of a call in an
		// x8Tail: at most x8MaxTokens tokens
		if k.many != nil && (k.tokens < 2 || k.tokens > x8MaxTokens) ||
			k.mid != nil && (k.many == nil || k.midTokens < 2 || k.midTokens >= k.tokens) || k.side != sideNone && k.sideLen == 0 {
			panic("cpu: bad " + set + " kernels for " + xt.dt.String())
		}
		xt.sets[set] = &k
	}
	switch runtime.GOARCH {
	case "amd64":
		add(SetAVX2, xt.amd64)
		if hasAVX512VNNI {
			add(SetAVX512VNNI, xt.amd64) // a type without kernels of its own runs the AVX2 ones
			add(SetAVX512VNNI, vnniKernels[xt.dt])
		}
		if hasAMXInt8 { // AMX for the types that have it, else the avx512vnni set's kernels
			add(SetAVX512AMX, xt.amd64)
			add(SetAVX512AMX, vnniKernels[xt.dt])
			add(SetAVX512AMX, amxKernels[xt.dt])
		}
	case "arm64":
		add(SetNEON, xt.arm64)
	}
	if len(xt.sets) == 0 {
		return // no kernels of this architecture for the type
	}
	xt.kern = xt.sets[kernelSet] // nil in the portable set
	x8Types[xt.dt] = &xt
}

// vnniKernels are the avx512vnni set's kernels by type (added from their files'
// package-level declarations, which run before any init); a type without them runs
// its AVX2 kernels in that set.
var vnniKernels = map[tensor.DType]x8Kernels{}

// addVNNI records type dt's avx512vnni kernels (from a package-level var declaration).
func addVNNI(dt tensor.DType, k x8Kernels) bool {
	vnniKernels[dt] = k
	return true
}

// amxKernels are the avx512amx set's kernels by type (addAMX, as addVNNI); a type
// without them runs its avx512vnni kernels in that set.
var amxKernels = map[tensor.DType]x8Kernels{}

// addAMX records type dt's avx512amx kernels (from a package-level var declaration).
func addAMX(dt tensor.DType, k x8Kernels) bool {
	amxKernels[dt] = k
	return true
}

// x8MaxTokens is the most tokens a many-token kernel takes per call (the AMX tiles' 16).
const x8MaxTokens = 16

// sideKind names the typed buffer a layout's kernels read besides the activations.
type sideKind int

const (
	sideNone      sideKind = iota
	sideScales             // float32: each Q8_0 block's scale
	sideScaleSums          // q8ScaleSum: each Q8_0 block's scale and 8·Σq
	sideQ8_1               // q8_1Scale: each Q8_1 block's d and s
	sideSums16             // int16: sums of groups of each Q8_K super-block's quants
	sideSums32             // int32: likewise, where they may not fit an int16
)

// q8ScaleSum is what the q4x8 and q5x8 kernels take per Q8_0 activation block: its
// scale, and 8·Σq for the weights' offset (their nibbles are used unsigned).
type q8ScaleSum struct {
	d    float32
	sum8 int32
}

// q8_1Scale is a Q8_1 activation block's d and s (d·Σq) as float32.
type q8_1Scale struct{ d, s float32 }

// sideBufs are the side-data buffers of a MatMul (one per kind, grown as needed).
type sideBufs struct {
	scales    []float32
	scaleSums []q8ScaleSum
	q8_1      []q8_1Scale
	sums16    []int16
	sums32    []int32
}

func grow[T any](buf *[]T, n int) []T {
	if len(*buf) < n {
		*buf = make([]T, n)
	}
	return *buf
}

// setX8 points mm (whose k and ntok are set) at layout xt, its kernels kern and
// side-data buffers from bufs for every token.
func (mm *matmulOp) setX8(xt *x8Type, kern *x8Kernels, bufs *sideBufs) {
	mm.xt, mm.kern, mm.nb = xt, kern, mm.k/xt.block
	mm.sideStride = mm.nb * kern.sideLen
	n := mm.ntok * mm.sideStride
	mm.side = sideBufs{}
	switch kern.side {
	case sideScales:
		mm.side.scales = grow(&bufs.scales, n)
	case sideScaleSums:
		mm.side.scaleSums = grow(&bufs.scaleSums, n)
	case sideQ8_1:
		mm.side.q8_1 = grow(&bufs.q8_1, n)
	case sideSums16:
		mm.side.sums16 = grow(&bufs.sums16, n)
	case sideSums32:
		mm.side.sums32 = grow(&bufs.sums32, n)
	}
}

// actRow and xRow are token t's quantized and float activations.
func (mm *matmulOp) actRow(t int) []byte  { return mm.act[t*mm.arb : t*mm.arb+mm.arb] }
func (mm *matmulOp) xRow(t int) []float32 { return mm.x.f32[t*mm.k : (t+1)*mm.k] }

// The prepare functions of the layouts: each quantizes token t's activations to the
// weight type's partner and writes the side data its kernels take.

func prepareQ8_0Scales(mm *matmulOp, t int) {
	s := t * mm.sideStride
	quantizeQ8_0Scales(&mm.kern.sk, mm.xRow(t), mm.nb, mm.actRow(t), mm.side.scales[s:s+mm.sideStride])
}

func prepareQ8_0ScaleSums(mm *matmulOp, t int) {
	s := t * mm.sideStride
	quantizeQ8_0ScaleSums(&mm.kern.sk, mm.xRow(t), mm.nb, mm.actRow(t), mm.side.scaleSums[s:s+mm.sideStride])
}

func prepareQ8_1(mm *matmulOp, t int) {
	s := t * mm.sideStride
	quantizeQ8_1Scales(&mm.kern.sk, mm.xRow(t), mm.nb, mm.actRow(t), mm.side.q8_1[s:s+mm.sideStride])
}

func prepareQ8K(mm *matmulOp, t int) { quantizeQ8K(&mm.kern.sk, mm.xRow(t), mm.actRow(t)) }

// sums16Row and sums32Row are token t's side data of those kinds.
func (mm *matmulOp) sums16Row(t int) []int16 {
	return mm.side.sums16[t*mm.sideStride : (t+1)*mm.sideStride]
}
func (mm *matmulOp) sums32Row(t int) []int32 {
	return mm.side.sums32[t*mm.sideStride : (t+1)*mm.sideStride]
}

// quantizeQ8_0Scales is tensor.QuantizeQ8_0Act of nb blocks of x into dst, also
// writing each block's scale to sc (in one assembly pass where set sk has it).
func quantizeQ8_0Scales(sk *setKernels, x []float32, nb int, dst []byte, sc []float32) {
	if sk.q8_0 != nil {
		sk.q8_0(&x[0], nb, &dst[0], &sc[0], 1)
		return
	}
	tensor.QuantizeQ8_0Act(x[:32*nb], dst[:34*nb])
	q8_0Scales(dst, nb, sc)
}

// quantizeQ8_0ScaleSums is quantizeQ8_0Scales writing q8ScaleSums.
func quantizeQ8_0ScaleSums(sk *setKernels, x []float32, nb int, dst []byte, ss []q8ScaleSum) {
	if sk.q8_0 != nil {
		sk.q8_0(&x[0], nb, &dst[0], &ss[0].d, 2) // the assembly writes d, then sum8
		return
	}
	tensor.QuantizeQ8_0Act(x[:32*nb], dst[:34*nb])
	q8_0ScaleSums(dst, nb, ss)
}

// quantizeQ8_1Scales is tensor.QuantizeQ8_1Act of nb blocks of x into dst, also
// writing each block's d and s to ds (in one assembly pass where set sk has it).
func quantizeQ8_1Scales(sk *setKernels, x []float32, nb int, dst []byte, ds []q8_1Scale) {
	if sk.q8_1 != nil {
		sk.q8_1(&x[0], nb, &dst[0], &ds[0].d)
		return
	}
	tensor.QuantizeQ8_1Act(x[:32*nb], dst[:36*nb])
	q8_1Scales(dst, nb, ds)
}

// q8_0Scales writes the scale of each of the nb Q8_0 blocks of a to sc.
func q8_0Scales(a []byte, nb int, sc []float32) {
	for i := 0; i < nb; i++ {
		sc[i] = tensor.FP16ToFP32(binary.LittleEndian.Uint16(a[34*i:]))
	}
}

// q8_0ScaleSums writes the scale and 8·Σq of each of the nb Q8_0 blocks of a to ss.
func q8_0ScaleSums(a []byte, nb int, ss []q8ScaleSum) {
	for i := 0; i < nb; i++ {
		blk := a[34*i : 34*i+34]
		var sum int32
		for _, q := range blk[2:] {
			sum += int32(int8(q))
		}
		ss[i] = q8ScaleSum{tensor.FP16ToFP32(binary.LittleEndian.Uint16(blk)), 8 * sum}
	}
}

// q8_1Scales writes each Q8_1 block's d and s (d·Σq) of a (nb blocks) to ds.
func q8_1Scales(a []byte, nb int, ds []q8_1Scale) {
	for i := 0; i < nb; i++ {
		ds[i] = q8_1Scale{tensor.FP16ToFP32(binary.LittleEndian.Uint16(a[36*i:])), tensor.FP16ToFP32(binary.LittleEndian.Uint16(a[36*i+2:]))}
	}
}

// quantizeF16 is tensor.QuantizeF16, in assembly where set sk has it (but for the last
// len(x)%8).
func quantizeF16(sk *setKernels, x []float32, dst []byte) {
	m := 0
	if sk.f16 != nil {
		if m = len(x) &^ 7; m > 0 {
			sk.f16(&x[0], m, &dst[0])
		}
	}
	tensor.QuantizeF16(x[m:], dst[2*m:])
}

// quantizeQ8K is tensor.QuantizeQ8_K, in assembly where set sk has it.
func quantizeQ8K(sk *setKernels, x []float32, dst []byte) {
	if sk.q8K != nil && len(x) >= 256 {
		sk.q8K(&x[0], len(x)/256, &dst[0])
		return
	}
	tensor.QuantizeQ8_K(x, dst)
}

// q8KSums writes the eight 32-element sums of each Q8_K super-block of a (nsb of them)
// to bs, from the block's sixteen 16-element bsums.
func q8KSums(a []byte, nsb int, bs []int16) {
	for s := 0; s < nsb; s++ {
		blk := a[s*292 : (s+1)*292]
		for j := 0; j < 8; j++ {
			bs[8*s+j] = int16(binary.LittleEndian.Uint16(blk[260+4*j:])) + int16(binary.LittleEndian.Uint16(blk[262+4*j:]))
		}
	}
}

// q8KGroupSums32 writes, for each Q8_K super-block of a (nsb of them) and each of its
// sixteen 16-element groups, mul·Σa: what the q3kx8 and q2kx8 kernels subtract per
// group for the quants' offset or the mins.
func q8KGroupSums32(a []byte, nsb int, c []int32, mul int32) {
	for s := 0; s < nsb; s++ {
		blk := a[s*292 : (s+1)*292]
		for g := 0; g < 16; g++ {
			c[16*s+g] = mul * int32(int16(binary.LittleEndian.Uint16(blk[260+2*g:])))
		}
	}
}

// matmulX8 runs the interleaved-layout kernels over groups [lo, hi) of eight rows: as
// many tokens per call as the layout's many-token kernel takes while a band of groups
// stays in cache, then one at a time.
func (b *Backend) matmulX8(worker, lo, hi int) {
	mm := &b.mm
	kern := mm.kern
	nout, gb, many := mm.nout, mm.w.x8Bytes, kern.tokens
	tmp := &b.x8Tail[worker] // the last group's results when nout is not a multiple of 8
	const band = 4
	for g0 := lo; g0 < hi; g0 += band {
		g1 := min(g0+band, hi)
		for t := 0; t < mm.ntok; {
			n, dot := 1, kern.one
			switch {
			case kern.many != nil && t+many <= mm.ntok:
				n, dot = many, kern.many
			case kern.mid != nil && t+kern.midTokens <= mm.ntok:
				n, dot = kern.midTokens, kern.mid
			}
			for g := g0; g < g1; g++ {
				w := &mm.w.x8[g*gb]
				if 8*g+8 <= nout {
					dot(mm, w, t, &mm.d.f32[t*nout+8*g], 4*nout)
					continue
				}
				dot(mm, w, t, &tmp[0], 32)
				for i := 0; i < n; i++ {
					copy(mm.d.f32[(t+i)*nout+8*g:(t+i+1)*nout], tmp[8*i:8*i+8])
				}
			}
			t += n
		}
	}
}
