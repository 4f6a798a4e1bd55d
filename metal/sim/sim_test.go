package sim

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unsafe"
)

func needClang(t *testing.T) {
	t.Helper()
	if _, err := Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must install clang-19: %v", err)
		}
		t.Skipf("SKIP: %v", err)
	}
}

func loadTestdata(t *testing.T, names ...string) *Library {
	t.Helper()
	needClang(t)
	files := map[string]string{}
	for _, n := range names {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			t.Fatal(err)
		}
		files[n] = string(b)
	}
	l, err := Load(files, names)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func f32buf(t *testing.T, n int) (*Buffer, []float32) {
	b, err := NewBuffer(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	return b, unsafe.Slice((*float32)(b.Ptr()), n)
}

var orders = []LaneOrder{Forward, Reverse, Shuffled}

func TestBasics(t *testing.T) {
	l := loadTestdata(t, "basics.metal")
	for _, want := range []string{"scale_f32", "scale_f16", "row_sum", "reverse_tg", "casts", "shuffles", "divergent", "mma8"} {
		if _, ok := l.Kernels[want]; !ok {
			t.Fatalf("kernel %s missing; have %v", want, l.Kernels)
		}
	}
	const n = 100
	src, s := f32buf(t, n)
	dst, d := f32buf(t, n)
	args, a := f32buf(t, 2)
	*(*int32)(unsafe.Pointer(&a[0])) = n
	a[1] = 0.5
	for i := range s {
		s[i] = float32(i)
	}
	for _, neg := range []bool{false, true} {
		_, err := l.Run(Dispatch{Kernel: "scale_f32", Buffers: []*Buffer{src, dst, args}, Grid: [3]int{4, 1, 1},
			Threads: [3]int{32, 1, 1}, Constants: map[int]any{0: neg}, Strict: true})
		if err != nil {
			t.Fatal(err)
		}
		for i := range d {
			want := float32(i) * 0.5
			if neg {
				want = -want
			}
			if d[i] != want {
				t.Fatalf("scale neg=%v: dst[%d] = %v, want %v", neg, i, d[i], want)
			}
		}
	}
	// row sums with simd_sum
	rows, _ := f32buf(t, 3)
	nc, nci := f32buf(t, 1)
	*(*int32)(unsafe.Pointer(&nci[0])) = 33
	for _, o := range orders {
		if _, err := l.Run(Dispatch{Kernel: "row_sum", Buffers: []*Buffer{src, rows, nc}, Grid: [3]int{3, 1, 1},
			Threads: [3]int{32, 1, 1}, Order: o, Strict: true}); err != nil {
			t.Fatal(err)
		}
		r := unsafe.Slice((*float32)(rows.Ptr()), 3)
		for row := 0; row < 3; row++ {
			want := float32(0)
			for i := 0; i < 33; i++ {
				want += float32(row*33 + i)
			}
			if r[row] != want {
				t.Errorf("%s: row %d sum %v, want %v", o, row, r[row], want)
			}
		}
	}
}

// TestMissingBarrier: without the barrier the result depends on the lane order, and at
// least one order exposes it; with it, all orders are right.
func TestMissingBarrier(t *testing.T) {
	l := loadTestdata(t, "basics.metal")
	src, s := f32buf(t, 256)
	dst, d := f32buf(t, 256)
	flag, fl := f32buf(t, 1)
	for i := range s {
		s[i] = float32(i)
	}
	for _, useBarrier := range []int32{1, 0} {
		*(*int32)(unsafe.Pointer(&fl[0])) = useBarrier
		caught := 0
		for _, o := range orders {
			if _, err := l.Run(Dispatch{Kernel: "reverse_tg", Buffers: []*Buffer{src, dst, flag}, Grid: [3]int{1, 1, 1},
				Threads: [3]int{256, 1, 1}, Order: o, Seed: 7, Strict: true}); err != nil {
				t.Fatal(err)
			}
			wrong := 0
			for i := range d {
				if d[i] != float32(255-i) {
					wrong++
				}
			}
			if useBarrier == 1 && wrong > 0 {
				t.Errorf("with barrier, %s order: %d wrong", o, wrong)
			}
			if wrong > 0 {
				caught++
			}
			t.Logf("barrier=%d %s: %d/256 wrong", useBarrier, o, wrong)
		}
		if useBarrier == 0 && caught == 0 {
			t.Error("a missing barrier went unnoticed in every lane order")
		}
	}
}

func TestCastsShufflesDivergenceMMA(t *testing.T) {
	l := loadTestdata(t, "basics.metal")
	ib, err := NewBuffer(16 * 2)
	if err != nil {
		t.Fatal(err)
	}
	iv := unsafe.Slice((*int32)(ib.Ptr()), 8)
	for i := range iv {
		iv[i] = int32(i + 1)
	}
	ob, ov := f32buf(t, 8)
	if _, err := l.Run(Dispatch{Kernel: "casts", Buffers: []*Buffer{ib, ob}, Grid: [3]int{1, 1, 1}, Threads: [3]int{2, 1, 1}, Strict: true}); err != nil {
		t.Fatal(err)
	}
	for i := range ov {
		if want := float32(i+1) + 0.5 + float32(i%4+1); ov[i] != want {
			t.Fatalf("casts[%d] = %v, want %v", i, ov[i], want)
		}
	}
	src, s := f32buf(t, 64)
	dst, d := f32buf(t, 256)
	for i := range s {
		s[i] = float32((i * 37) % 64)
	}
	for _, o := range orders {
		if _, err := l.Run(Dispatch{Kernel: "shuffles", Buffers: []*Buffer{src, dst}, Grid: [3]int{1, 1, 1},
			Threads: [3]int{64, 1, 1}, Threadgroup: []int{8}, Order: o, Seed: 3, Strict: true}); err != nil {
			t.Fatal(err)
		}
		for tid := 0; tid < 64; tid++ {
			g, lane := tid/32, tid%32
			var mx, ex float32 = -1, 0
			for k := 0; k < 32; k++ {
				mx = max(mx, s[g*32+k])
				if k < lane {
					ex += s[g*32+k]
				}
			}
			m0, m1 := float32(-1), float32(-1)
			for k := 0; k < 32; k++ {
				m0, m1 = max(m0, s[k]), max(m1, s[32+k])
			}
			down := s[tid]
			if lane+1 < 32 {
				down = s[tid+1]
			}
			want := [4]float32{m0 + m1, down, s[g*32+(lane^16)], ex}
			for k := 0; k < 4; k++ {
				if d[4*tid+k] != want[k] {
					t.Fatalf("%s: tid %d result %d = %v, want %v", o, tid, k, d[4*tid+k], want[k])
				}
			}
		}
	}
	// divergent branches each reduce over their own lanes, and it is reported
	for i := range s[:32] {
		s[i] = 1
	}
	diag, err := l.Run(Dispatch{Kernel: "divergent", Buffers: []*Buffer{src, dst}, Grid: [3]int{1, 1, 1}, Threads: [3]int{32, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	for lane := 0; lane < 32; lane++ {
		want := float32(10)
		if lane >= 10 {
			want = 44
		}
		if d[lane] != want {
			t.Fatalf("divergent lane %d = %v, want %v", lane, d[lane], want)
		}
	}
	if diag.Count == 0 || !strings.Contains(diag.First, "divergent") {
		t.Errorf("divergent collective not diagnosed: %+v", diag)
	}
	if _, err := l.Run(Dispatch{Kernel: "divergent", Buffers: []*Buffer{src, dst}, Grid: [3]int{1, 1, 1}, Threads: [3]int{32, 1, 1}, Strict: true}); err == nil {
		t.Error("strict mode let a divergent collective pass")
	}
	// simdgroup matrix: C = A*B + 1
	a, av := f32buf(t, 64)
	bb, bv := f32buf(t, 64)
	c, cv := f32buf(t, 64)
	for i := range av {
		av[i], bv[i] = float32(i%7)-3, float32(i%5)-2
	}
	if _, err := l.Run(Dispatch{Kernel: "mma8", Buffers: []*Buffer{a, bb, c}, Grid: [3]int{1, 1, 1}, Threads: [3]int{32, 1, 1}, Strict: true}); err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 8; r++ {
		for col := 0; col < 8; col++ {
			want := float32(1)
			for k := 0; k < 8; k++ {
				want += av[r*8+k] * bv[k*8+col]
			}
			if math.Abs(float64(cv[r*8+col]-want)) > 1e-5 {
				t.Fatalf("mma C[%d][%d] = %v, want %v", r, col, cv[r*8+col], want)
			}
		}
	}
}

// TestGuardPage: an out-of-bounds write kills the process with a report naming the
// kernel and thread. It runs in a child process.
func TestGuardPage(t *testing.T) {
	if os.Getenv("INFERNO_SIM_OVERFLOW_CHILD") == "1" {
		l := loadTestdata(t, "basics.metal")
		dst, _ := f32buf(t, 64)
		l.Run(Dispatch{Kernel: "overflow", Buffers: []*Buffer{dst}, Grid: [3]int{2, 1, 1}, Threads: [3]int{32, 1, 1}})
		return
	}
	needClang(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestGuardPage$")
	cmd.Env = append(os.Environ(), "INFERNO_SIM_OVERFLOW_CHILD=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(string(out), "kernel overflow: out-of-bounds access") {
		t.Errorf("overflow not caught: %v\n%s", err, out)
	}
}

func TestAddressSpaceCheck(t *testing.T) {
	needClang(t)
	bad, _ := os.ReadFile("testdata/address_space_bad.metal")
	err := CheckAddressSpaces("address_space_bad.metal", string(bad))
	var ce *CompileError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "address_space_bad.metal:12") {
		t.Errorf("planted address-space mistake not caught: %v", err)
	}
	good, _ := os.ReadFile("testdata/basics.metal")
	if err := CheckAddressSpaces("basics.metal", string(good)); err != nil {
		t.Errorf("basics.metal: %v", err)
	}
}
