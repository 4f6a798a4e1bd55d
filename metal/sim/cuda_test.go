package sim

import (
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/inferno-go/inferno/kernels"
)

// loadCUDA builds testdata/basics.cu with kernels/cuda/prelude.cuh, as kernels.cu is
// built; defines are put before it.
func loadCUDA(t *testing.T, defines string) *Library {
	t.Helper()
	needClang(t)
	src, err := os.ReadFile("testdata/basics.cu")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"cuda/prelude.cuh": kernels.CUDASources()["cuda/prelude.cuh"],
		"cuda/basics.cu":   defines + string(src),
	}
	l, err := LoadCUDA(files, "cuda/basics.cu")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func valueBuf(t *testing.T, b []byte) *Buffer {
	v, err := NewBuffer(len(b))
	if err != nil {
		t.Fatal(err)
	}
	copy(v.Data, b)
	return v
}

func TestCUDAEntryPoints(t *testing.T) {
	l := loadCUDA(t, "")
	want := map[string][]int{"ids": {-1}, "block_sum": {-1, -1, 8}, "unwritten": {-1}, "shuffles": {-1},
		"divergent": {-1}, "dynamic": {-1}, "times_2": {-1}, "times_3": {-1}, "atomics": {-1, -1, -1}, "tile2d": {-1, -1}, "bounded": {-1}}
	if len(l.Params) != len(want) {
		t.Errorf("entry points %v, want %v", l.Params, want)
	}
	for k, p := range want {
		if got, ok := l.Params[k]; !ok || !slices.Equal(got, p) {
			t.Errorf("%s: parameters %v, want %v", k, got, p)
		}
	}

	// ids, 3-D
	grid, block := [3]int{2, 3, 2}, [3]int{4, 2, 3}
	n := 2 * 3 * 2 * 4 * 2 * 3
	out, err := NewBuffer(4 * 8 * n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Run(Dispatch{Kernel: "ids", Buffers: []*Buffer{out}, Grid: grid, Threads: block, Strict: true}); err != nil {
		t.Fatal(err)
	}
	u := unsafe.Slice((*uint32)(out.Ptr()), 8*n)
	i := 0
	for bz := 0; bz < 2; bz++ {
		for by := 0; by < 3; by++ {
			for bx := 0; bx < 2; bx++ {
				for tz := 0; tz < 3; tz++ {
					for ty := 0; ty < 2; ty++ {
						for tx := 0; tx < 4; tx++ {
							w := []uint32{uint32(bx), uint32(by), uint32(bz), uint32(tx), uint32(ty), uint32(tz), 423, 232}
							for k := range w {
								if u[8*i+k] != w[k] {
									t.Fatalf("ids: thread %d: %v, want %v", i, u[8*i:8*i+8], w)
								}
							}
							i++
						}
					}
				}
			}
		}
	}

	// shuffles, as PTX's shfl.sync defines them
	sh, err := NewBuffer(4 * 5 * 32)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orders {
		if _, err := l.Run(Dispatch{Kernel: "shuffles", Buffers: []*Buffer{sh}, Grid: [3]int{1, 1, 1}, Threads: [3]int{32, 1, 1}, Order: o, Strict: true}); err != nil {
			t.Fatal(err)
		}
		s := unsafe.Slice((*int32)(sh.Ptr()), 5*32)
		for l := int32(0); l < 32; l++ {
			down, up := l+3, l-3
			if down > 31 {
				down = l
			}
			if up < 0 {
				up = l
			}
			w := []int32{l ^ 5, 31 - l, down, up, l&^7 | 2}
			for k := range w {
				if s[5*l+int32(k)] != w[k] {
					t.Errorf("%s lanes: lane %d: shuffles %v, want %v", o, l, s[5*l:5*l+5], w)
					break
				}
			}
		}
	}

	// block sums through __shared__, a value struct, the prelude's simd_sum
	const blocks, threads = 3, 256
	x, xs := f32buf(t, blocks*threads)
	for i := range xs {
		xs[i] = float32(i % 7)
	}
	sums, ss := f32buf(t, blocks)
	args := valueBuf(t, []byte{0, 1, 0, 0, 0, 0, 0, 0x40}) // n 256, scale 2
	for _, o := range orders {
		if _, err := l.Run(Dispatch{Kernel: "block_sum", Buffers: []*Buffer{x, sums, args}, Grid: [3]int{blocks, 1, 1},
			Threads: [3]int{threads, 1, 1}, Order: o, Strict: true}); err != nil {
			t.Fatal(err)
		}
		for b := 0; b < blocks; b++ {
			var want float32
			for i := 0; i < threads; i++ {
				want += xs[b*threads+i]
			}
			if ss[b] != 2*want {
				t.Errorf("%s lanes: block %d sum %v, want %v", o, b, ss[b], 2*want)
			}
		}
	}

	// the 0xFF fill of __shared__ memory, per block
	uw, us := f32buf(t, 4)
	if _, err := l.Run(Dispatch{Kernel: "unwritten", Buffers: []*Buffer{uw}, Grid: [3]int{2, 1, 1}, Threads: [3]int{32, 1, 1}, Strict: true}); err != nil {
		t.Fatal(err)
	}
	if us[0] != 1 || !math.IsNaN(float64(us[1])) || us[2] != 1 || !math.IsNaN(float64(us[3])) {
		t.Errorf("unwritten shared memory: %v, want [1 NaN 1 NaN]", us)
	}

	// dynamic shared memory
	dy, ds := f32buf(t, 2*64)
	if _, err := l.Run(Dispatch{Kernel: "dynamic", Buffers: []*Buffer{dy}, Grid: [3]int{2, 1, 1}, Threads: [3]int{64, 1, 1},
		Threadgroup: []int{256}, Order: Shuffled, Strict: true}); err != nil {
		t.Fatal(err)
	}
	for i, v := range ds {
		if want := float32(63 - i%64); v != want {
			t.Fatalf("dynamic shared: out[%d] = %v, want %v", i, v, want)
		}
	}

	// a 2-D __shared__ tile and a __shared__ scalar
	tx, txs := f32buf(t, 16)
	ty, tys := f32buf(t, 16)
	for i := range txs {
		txs[i] = float32(i + 1)
	}
	for _, o := range orders {
		if _, err := l.Run(Dispatch{Kernel: "tile2d", Buffers: []*Buffer{tx, ty}, Grid: [3]int{1, 1, 1}, Threads: [3]int{16, 1, 1}, Order: o, Strict: true}); err != nil {
			t.Fatal(err)
		}
		for i, v := range tys {
			r, c := i/4, i%4
			if want := txs[4*c+r] + 1; v != want {
				t.Fatalf("%s lanes: tile2d y[%d] = %v, want %v", o, i, v, want)
			}
		}
	}

	// atomics from many blocks on two workers
	sum, sv := f32buf(t, 1)
	cnt, cv := f32buf(t, 2)
	if _, err := l.Run(Dispatch{Kernel: "atomics", Buffers: []*Buffer{sum, cnt, cnt}, Offsets: []int{0, 0, 4}, Grid: [3]int{64, 1, 1},
		Threads: [3]int{32, 1, 1}, Workers: 2, Strict: true}); err != nil {
		t.Fatal(err)
	}
	counts := unsafe.Slice((*int32)(unsafe.Pointer(&cv[0])), 2)
	if sv[0] != 64*32 || counts[0] != 64 || counts[1] < 1 || counts[1] > 64 {
		t.Errorf("atomics: sum %v (want 2048), blocks counted %d (want 64), last block %d (want 1..64)", sv[0], counts[0], counts[1])
	}

	// divergent shuffles are a diagnostic, an error in strict mode
	dv, _ := f32buf(t, 32)
	_, err = l.Run(Dispatch{Kernel: "divergent", Buffers: []*Buffer{dv}, Grid: [3]int{1, 1, 1}, Threads: [3]int{32, 1, 1}, Strict: true})
	if err == nil || !strings.Contains(err.Error(), "divergent") {
		t.Errorf("divergent shuffles: %v, want a diagnostic", err)
	}
}

// TestCUDAMissingBarrier: the same kernel without its __syncthreads gives a wrong sum
// in some lane order; with it (TestCUDAEntryPoints), every order is right.
func TestCUDAMissingBarrier(t *testing.T) {
	l := loadCUDA(t, "#define PLANT_NO_BARRIER 1\n")
	const threads = 256
	x, xs := f32buf(t, threads)
	for i := range xs {
		xs[i] = 1
	}
	sums, ss := f32buf(t, 1)
	args := valueBuf(t, []byte{0, 1, 0, 0, 0, 0, 0x80, 0x3f}) // n 256, scale 1
	wrong := 0
	for _, o := range orders {
		if _, err := l.Run(Dispatch{Kernel: "block_sum", Buffers: []*Buffer{x, sums, args}, Grid: [3]int{1, 1, 1},
			Threads: [3]int{threads, 1, 1}, Order: o, Seed: 1, Strict: true}); err != nil {
			t.Fatal(err)
		}
		if ss[0] != threads {
			wrong++
		}
	}
	if wrong == 0 {
		t.Error("the missing barrier went unnoticed in all three lane orders")
	}
}

// TestCUDABuildErrors: a __shared__ declaration the build cannot make per-block
// storage, or inline PTX outside #ifdef __CUDA_ARCH__, is a clear error naming the line,
// not a silently per-thread array or an x86 assembler's complaint.
func TestCUDABuildErrors(t *testing.T) {
	needClang(t)
	for _, c := range []struct{ body, line, want string }{
		{"    __shared__ float a[2], b[2];\n    y[0] = a[0] + b[0];\n", "cuda/bad.cu:3:", "__shared__"},
		{"    float v;\n    asm volatile(\"mov.b32 %0, %%laneid;\" : \"=f\"(v));\n    y[0] = v;\n", "cuda/bad.cu:4:", "__CUDA_ARCH__"},
		{"    y[0] = undeclared;\n", "cuda sim: cuda/bad.cu:3:", "error: use of undeclared identifier"},
	} {
		files := map[string]string{
			"cuda/prelude.cuh": kernels.CUDASources()["cuda/prelude.cuh"],
			"cuda/bad.cu":      "#include \"prelude.cuh\"\nKERNEL bad(float * y) {\n" + c.body + "}\n",
		}
		_, err := BuildCUDA(files, "cuda/bad.cu")
		if err == nil || !strings.Contains(err.Error(), c.line) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error naming %s and %s", err, c.line, c.want)
		}
	}
	// under #ifdef __CUDA_ARCH__ the same PTX is left out of the simulator's build
	files := map[string]string{
		"cuda/prelude.cuh": kernels.CUDASources()["cuda/prelude.cuh"],
		"cuda/ok.cu": "#include \"prelude.cuh\"\nKERNEL lane(float * y) {\n    float v;\n#ifdef __CUDA_ARCH__\n" +
			"    asm volatile(\"mov.b32 %0, %%laneid;\" : \"=f\"(v));\n#else\n    v = (float) LANE;\n#endif\n    y[LANE] = v;\n}\n",
	}
	if _, err := BuildCUDA(files, "cuda/ok.cu"); err != nil {
		t.Error(err)
	}
}
