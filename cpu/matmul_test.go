package cpu

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/inferno-go/inferno/tensor"
)

// benchWeight makes a rows × cols weight of type dt by repeating one quantized block of
// 64 rows (speed does not depend on the values; quantizing 64 M floats would).
func benchWeight(b *testing.B, be *Backend, dt tensor.DType, rows, cols int) *Tensor {
	r := rand.New(rand.NewPCG(7, 7))
	const tileRows = 64
	sz, _ := dt.RowSize(tileRows * cols)
	tile := make([]byte, sz)
	if err := quantizeAny(dt, randVec(r, tileRows*cols), tile); err != nil { // unit importance weights where the type requires them
		b.Fatal(err)
	}
	raw := make([]byte, sz*(rows/tileRows))
	for off := 0; off < len(raw); off += sz {
		copy(raw[off:], tile)
	}
	w, err := be.Weight("w", dt, rows, cols, raw)
	if err != nil {
		b.Fatal(err)
	}
	return w.(*Tensor)
}

// BenchmarkMatVec is decode's matrix × vector on a weight far larger than the caches
// (32768 × 2048), reporting GB/s of weights in the file's encoding: against the
// machine's memory bandwidth it says how close generation can get to its limit.
//
// The "cached" case (256 × 2048, a TinyLlama K or V projection, which stays in L2
// across calls) is the kernel's own speed: the most the memory could be asked for.
func BenchmarkMatVec(b *testing.B) {
	const cols = 2048
	for _, dt := range tensor.WeightTypes() {
		for _, c := range []struct {
			name          string
			rows, threads int
		}{{"t1", 32768, 1}, {"t2", 32768, 2}, {"cached/t1", 256, 1}} {
			rows, threads := c.rows, c.threads
			b.Run(fmt.Sprintf("%s/%s", dt, c.name), func(b *testing.B) {
				be := New(threads)
				defer be.Close()
				w := benchWeight(b, be, dt, rows, cols)
				x := act(be, 1, cols, randVec(rand.New(rand.NewPCG(1, 2)), cols))
				out := be.Activation(1, rows)
				b.SetBytes(int64(len(w.raw)))
				for b.Loop() {
					be.MatMul(out, w, x)
				}
			})
		}
	}
}

// BenchmarkMatMulPrompt is prompt processing's matrix × matrix: 512 tokens through a
// 2048 × 2048 weight, reporting GFLOP/s (2·rows·cols·tokens per call), for the types
// whose interleaved layout has a many-token kernel in this build.
func BenchmarkMatMulPrompt(b *testing.B) {
	const rows, cols, ntok = 2048, 2048, 512
	for _, dt := range tensor.WeightTypes() {
		if xt := x8Types[dt]; xt == nil || xt.kern == nil || xt.kern.many == nil {
			continue
		}
		b.Run(dt.String(), func(b *testing.B) {
			be := New(0)
			defer be.Close()
			w := benchWeight(b, be, dt, rows, cols)
			x := act(be, ntok, cols, randVec(rand.New(rand.NewPCG(1, 3)), ntok*cols))
			out := be.Activation(ntok, rows)
			for b.Loop() {
				be.MatMul(out, w, x)
			}
			b.ReportMetric(2*rows*cols*ntok*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkMatMulSets is a TinyLlama-sized prompt matmul (512 tokens through the
// 2048 × 2048 attention and 5632 × 2048 feed-forward weights) in each assembly kernel
// set this CPU runs, on 16 threads (INFERNO_BENCH_THREADS overrides), for Q8_0 and
// Q4_0: the AMX set against avx512vnni on a host that has both.
func BenchmarkMatMulSets(b *testing.B) {
	const cols, ntok = 2048, 512
	threads := 16
	if s := os.Getenv("INFERNO_BENCH_THREADS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("INFERNO_BENCH_THREADS=%q: not a thread count", s)
		}
		threads = n
	}
	for _, set := range KernelSets() {
		if set == SetPortable {
			continue
		}
		for _, dt := range []tensor.DType{tensor.Q8_0, tensor.Q4_0} {
			for _, rows := range []int{2048, 5632} {
				b.Run(fmt.Sprintf("%s/%s/%dx%d", set, dt, rows, cols), func(b *testing.B) {
					be := newBackendSet(threads, set)
					defer be.Close()
					w := benchWeight(b, be, dt, rows, cols)
					x := act(be, ntok, cols, randVec(rand.New(rand.NewPCG(1, 3)), ntok*cols))
					out := be.Activation(ntok, rows)
					for b.Loop() {
						be.MatMul(out, w, x)
					}
					b.ReportMetric(2*float64(rows)*cols*ntok*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
