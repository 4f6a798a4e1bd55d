package cpu

import (
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/tensor"
)

// forKernelSets runs f as a subtest for each assembly kernel set of this architecture
// (avx2, avx512vnni and avx512amx on amd64, neon on arm64), skipping, with the reason, a set this
// build or CPU cannot run; under CI=true an assembly build must run the baseline set
// (avx2, neon), so CI cannot pass without testing it.
func forKernelSets(t *testing.T, f func(t *testing.T, set string)) {
	sets := map[string][]string{"amd64": {SetAVX2, SetAVX512VNNI, SetAVX512AMX}, "arm64": {SetNEON}}[runtime.GOARCH]
	if len(sets) == 0 {
		t.Skipf("SKIP: no assembly kernel sets on %s", runtime.GOARCH)
	}
	for i, set := range sets {
		t.Run(set, func(t *testing.T) {
			if !slices.Contains(KernelSets(), set) {
				// CI's amd64 machines have AVX2; on arm64 it also runs a CPU without the dot
				// product (qemu -cpu cortex-a53) on purpose, to test the portable fallback
				if i == 0 && asmBuild && runtime.GOARCH == "amd64" && os.Getenv("CI") == "true" {
					t.Fatalf("CI must run the %s kernels; this CPU cannot (it runs %v)", set, KernelSets())
				}
				t.Skipf("SKIP: this build or CPU cannot run the %s kernels (it runs %v)", set, KernelSets())
			}
			f(t, set)
		})
	}
}

// TestChooseKernelSet: no INFERNO_CPU_KERNELS picks the best set; a set this machine
// runs is taken; an unknown name or one it cannot run is an error naming the variable
// and the sets it can run.
func TestChooseKernelSet(t *testing.T) {
	avail := KernelSets()
	if avail[len(avail)-1] != SetPortable {
		t.Fatalf("KernelSets %v: portable must be last", avail)
	}
	if s, err := chooseKernelSet(""); s != avail[0] || err != nil {
		t.Errorf("no choice: %q, %v; want %q", s, err, avail[0])
	}
	for _, want := range avail {
		if s, err := chooseKernelSet(want); s != want || err != nil {
			t.Errorf("%s: %q, %v", want, s, err)
		}
	}
	bad := map[string][]string{"avx": allKernelSets, "AVX2 ": allKernelSets} // each wrong name and the sets its error lists
	for _, s := range allKernelSets {
		if !slices.Contains(avail, s) {
			bad[s] = avail
		}
	}
	for want, list := range bad {
		s, err := chooseKernelSet(want)
		if err == nil || !strings.Contains(err.Error(), KernelSetEnv) || !strings.Contains(err.Error(), strings.Join(list, ", ")) {
			t.Errorf("%q: %v; want an error naming %s and %v", want, err, KernelSetEnv, list)
		}
		if s != avail[0] {
			t.Errorf("%q: falls back to %q, want %q", want, s, avail[0])
		}
	}
}

// exactScales are the byte offsets of each weight block's fp16 scale fields (d, and
// dmin or m), which TestX8KernelsExact sets to 1 and TestX8Kernels to extremes.
var exactScales = map[tensor.DType][]int{
	tensor.Q4_0: {0}, tensor.Q8_0: {0}, tensor.Q4_1: {0, 2}, tensor.Q5_0: {0}, tensor.Q5_1: {0, 2},
	tensor.IQ4_NL: {0}, tensor.IQ4_XS: {0}, tensor.Q2_K: {80, 82}, tensor.Q3_K: {108},
	tensor.Q4_K: {0, 2}, tensor.Q5_K: {0, 2}, tensor.Q6_K: {208},
	tensor.IQ3_XXS: {0}, tensor.IQ3_S: {0}, tensor.TQ1_0: {52}, tensor.TQ2_0: {64},
	tensor.IQ2_XXS: {0}, tensor.IQ2_XS: {0}, tensor.IQ2_S: {0}, tensor.IQ1_S: {0},
}

// setBlockScales sets the fp16 scale fields of block blk of type dt (d, and dmin or m)
// to h; false if the test does not know them. IQ1_M spreads d over the top nibbles of
// its four scale words (bytes 48..55).
func setBlockScales(dt tensor.DType, blk []byte, h uint16) bool {
	if dt == tensor.IQ1_M {
		for k := 0; k < 4; k++ {
			blk[49+2*k] = blk[49+2*k]&0x0f | byte(h>>(4*k)&0xf)<<4
		}
		return true
	}
	offs, ok := exactScales[dt]
	for _, o := range offs {
		blk[o], blk[o+1] = byte(h), byte(h>>8)
	}
	return ok
}

// TestX8KernelsExact: in every kernel set, every interleaved layout's kernels equal
// tensor's reference dot exactly when nothing is rounded: weight blocks of random bytes
// (every quant value, Q8_0's −128 too, every sub-block scale) with fp16 scales of 1,
// and activations of small integers with one ±127 per block, so that the activation
// scales are ±1 and every float is an integer (a quarter for IQ3_XXS, an eighth for the
// IQ2 and IQ1 types) below 2^24. An offset, a sign or a lost bit in a kernel's integer
// arithmetic shows as a difference of at least 1.
func TestX8KernelsExact(t *testing.T) {
	forKernelSets(t, func(t *testing.T, set string) {
		r := rand.New(rand.NewPCG(17, 17))
		const rows, ntok = 16, 16
		for _, dt := range tensor.WeightTypes() {
			xt := x8Types[dt]
			if xt == nil {
				continue
			}
			if !setBlockScales(dt, make([]byte, dt.TypeSize()), 0) {
				t.Fatalf("%s: exactScales lacks its scale fields", dt)
			}
			kern := xt.sets[set]
			vt, _ := tensor.VecDotType(dt)
			for _, n := range []int{256, 2048} {
				rb, _ := dt.RowSize(n)
				bs := dt.TypeSize()
				raw := make([]byte, rows*rb)
				for i := range raw {
					raw[i] = byte(r.Uint32())
				}
				for b := 0; b < len(raw); b += bs {
					setBlockScales(dt, raw[b:b+bs], 0x3c00) // fp16 1.0
				}
				nb := n / xt.block
				w := make([]byte, rows/8*xt.groupBytes(nb))
				xt.repack(w, raw, nb, 0, rows)
				x := make([]float32, ntok*n)
				for i := range x {
					x[i] = float32(r.IntN(17) - 8)
					if i%32 == 0 {
						x[i] = float32(127 * (1 - 2*r.IntN(2)))
					}
				}
				arb, _ := vt.RowSize(n)
				mm := &matmulOp{ntok: ntok, k: n, vt: vt, arb: arb, act: make([]byte, ntok*arb),
					x: &Tensor{rows: ntok, cols: n, dt: tensor.F32, f32: x}}
				mm.setX8(xt, kern, &sideBufs{})
				for tk := 0; tk < ntok; tk++ {
					kern.prepare(mm, tk)
				}
				for g := 0; g < rows/8; g++ {
					wg := &w[g*xt.groupBytes(nb)]
					var one, many [ntok][8]float32
					for tk := 0; tk < ntok; tk++ {
						kern.one(mm, wg, tk, &one[tk][0], 32)
						if kern.many != nil && tk%kern.tokens == 0 {
							kern.many(mm, wg, tk, &many[tk][0], 32)
						}
					}
					for tk := 0; tk < ntok; tk++ {
						for ri := 0; ri < 8; ri++ {
							row := 8*g + ri
							want, _ := tensor.Dot(dt, n, raw[row*rb:(row+1)*rb], mm.actRow(tk))
							// integers, or eighths where a type's scales are (IQ3_XXS: (0.5+s)/2; IQ2, IQ1: (2s+1)/8)
							integer := math.Abs(float64(want)) < 1<<24 && want == float32(int32(want))
							eighth := math.Abs(float64(8*want)) < 1<<24 && 8*want == float32(int32(8*want))
							if !integer && !eighth {
								t.Fatalf("%s n=%d: reference %v is not an exact eighth: the test's premise fails", dt, n, want)
							}
							if one[tk][ri] != want {
								t.Errorf("%s %s n=%d row %d token %d: one-token kernel %v, reference %v", set, dt, n, row, tk, one[tk][ri], want)
							}
							if kern.many != nil && many[tk][ri] != want {
								t.Errorf("%s %s n=%d row %d token %d: %d-token kernel %v, reference %v", set, dt, n, row, tk, kern.tokens, many[tk][ri], want)
							}
						}
					}
				}
			}
		}
	})
}
