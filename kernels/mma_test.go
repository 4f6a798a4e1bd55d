package kernels

import (
	"os"
	"testing"
	"unsafe"

	"github.com/inferno-go/inferno/metal/sim"
)

// mmaUnit loads a 16×16 A, a 16×8 B and a 16×8 C from row-major buffers into the
// fragments PTX's mma.m16n8k16 .row.col documents (lane 4g + t), runs one
// mma_m16n8k16_bf16 and stores D from its fragment.
const mmaUnit = `
kernel void mma_unit(device const float * a [[buffer(0)]], device const float * b [[buffer(1)]],
                     device float * d [[buffer(2)]], uint lane [[thread_index_in_simdgroup]]) {
    int g = lane / 4, t = lane % 4;
    uint af[4], bf[2];
    af[0] = mma_pack_bf16(a[g * 16 + 2 * t], a[g * 16 + 2 * t + 1]);
    af[1] = mma_pack_bf16(a[(g + 8) * 16 + 2 * t], a[(g + 8) * 16 + 2 * t + 1]);
    af[2] = mma_pack_bf16(a[g * 16 + 2 * t + 8], a[g * 16 + 2 * t + 9]);
    af[3] = mma_pack_bf16(a[(g + 8) * 16 + 2 * t + 8], a[(g + 8) * 16 + 2 * t + 9]);
    bf[0] = mma_pack_bf16(b[(2 * t) * 8 + g], b[(2 * t + 1) * 8 + g]);
    bf[1] = mma_pack_bf16(b[(2 * t + 8) * 8 + g], b[(2 * t + 9) * 8 + g]);
    float acc[4];
    acc[0] = d[g * 8 + 2 * t];
    acc[1] = d[g * 8 + 2 * t + 1];
    acc[2] = d[(g + 8) * 8 + 2 * t];
    acc[3] = d[(g + 8) * 8 + 2 * t + 1];
    mma_m16n8k16_bf16(acc, af, bf, lane);
    d[g * 8 + 2 * t] = acc[0];
    d[g * 8 + 2 * t + 1] = acc[1];
    d[(g + 8) * 8 + 2 * t] = acc[2];
    d[(g + 8) * 8 + 2 * t + 1] = acc[3];
}
`

// TestMMAStandIn: the simulator's stand-in for mma.sync (matmul_mma.metal) computes
// D = A·B + C in PTX's fragment layout, in every lane order. The values are small
// integers, exact in bfloat16 and in every partial sum, so D must be exact.
func TestMMAStandIn(t *testing.T) {
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	q, _ := files.ReadFile("quants.metal")
	m, _ := files.ReadFile("matmul_mma.metal")
	lib, err := sim.Load(map[string]string{"quants.metal": string(q), "matmul_mma.metal": string(m), "mma_unit.metal": mmaUnit},
		[]string{"quants.metal", "matmul_mma.metal", "mma_unit.metal"})
	if err != nil {
		t.Fatal(err)
	}
	buf := func(n int) (*sim.Buffer, []float32) {
		b, err := sim.NewBuffer(4 * n)
		if err != nil {
			t.Fatal(err)
		}
		return b, unsafe.Slice((*float32)(b.Ptr()), n)
	}
	ab, a := buf(16 * 16)
	bb, b := buf(16 * 8)
	db, d := buf(16 * 8)
	for i := range a {
		a[i] = float32((i*7)%11 - 5)
	}
	for i := range b {
		b[i] = float32((i*5)%9 - 4)
	}
	for _, o := range []sim.LaneOrder{sim.Forward, sim.Reverse, sim.Shuffled} {
		for i := range d {
			d[i] = float32(i%13 - 6)
		}
		want := make([]float32, len(d))
		for r := 0; r < 16; r++ {
			for c := 0; c < 8; c++ {
				s := d[r*8+c]
				for k := 0; k < 16; k++ {
					s += a[r*16+k] * b[k*8+c]
				}
				want[r*8+c] = s
			}
		}
		if _, err := lib.Run(sim.Dispatch{Kernel: "mma_unit", Buffers: []*sim.Buffer{ab, bb, db}, Grid: [3]int{1, 1, 1},
			Threads: [3]int{32, 1, 1}, Order: o, Seed: 5, Strict: true}); err != nil {
			t.Fatal(err)
		}
		for i := range d {
			if d[i] != want[i] {
				t.Fatalf("%s lanes: D[%d][%d] = %v, want %v", o, i/8, i%8, d[i], want[i])
			}
		}
	}
}
