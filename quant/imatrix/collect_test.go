package imatrix

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/tensor"
)

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// TestCollectorSeesFusedProducts: the products inside the fused ops are collected with
// their inputs, parts of a fused weight count once, short batches and non-block weights
// are skipped.
func TestCollectorSeesFusedProducts(t *testing.T) {
	const cols, rows, n = 32, 8, 20
	cb := cpu.New(1)
	defer cb.Close()
	c := NewCollector()
	b := c.Wrap(cb)
	if _, ok := b.(backend.ArchOps); !ok {
		t.Fatal("the wrapper of the CPU backend lost ArchOps")
	}
	wdata := make([]float32, rows*cols)
	for i := range wdata {
		wdata[i] = float32(i%7) - 3
	}
	weight := func(name string) backend.Tensor {
		w, err := b.Weight(name, tensor.F32, rows, cols, f32Bytes(wdata))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	gate, up := weight("blk.0.ffn_gate.weight"), weight("blk.0.ffn_up.weight")
	q0, q1 := weight("blk.0.attn_qkv.weight[0:8]"), weight("blk.0.attn_qkv.weight[8:16]")
	out := weight("output.weight")
	ones := make([]float32, cols)
	for i := range ones {
		ones[i] = 1
	}
	norm, _ := b.Weight("blk.0.ffn_norm.weight", tensor.F32, 1, cols, f32Bytes(ones))
	x, xn, d, u := b.Activation(n, cols), b.Activation(n, cols), b.Activation(n, rows), b.Activation(n, rows)
	in := make([]float32, n*cols)
	for i := range in {
		in[i] = float32(math.Sin(float64(i)))
	}
	b.Write(x, in)
	b.NormSwiGLU(d, gate, up, x, norm, 1e-5, xn, u)
	b.NormMatMul([3]backend.Tensor{d, u}, [3]backend.Tensor{q0, q1}, x, norm, 1e-5, xn)
	b.MatMul(d, out, x)
	short := b.View(x, 0, MinRows-1)
	b.MatMul(b.View(d, 0, MinRows-1), gate, short)
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	normed := make([]float32, n*cols)
	b.Read(xn, normed)
	want := make([]float32, cols)
	for r := 0; r < n; r++ {
		for j := 0; j < cols; j++ {
			v := normed[r*cols+j]
			want[j] += v * v
		}
	}
	m := c.Matrix("t.txt")
	if len(m.Entries) != 3 || m.Chunks != 1 || m.Dataset != "t.txt" {
		t.Fatalf("%d entries, %d chunks, %q: want gate, up, qkv; 1; t.txt", len(m.Entries), m.Chunks, m.Dataset)
	}
	for _, name := range []string{"blk.0.ffn_gate.weight", "blk.0.ffn_up.weight", "blk.0.attn_qkv.weight"} {
		e, ok := m.Lookup(name)
		if !ok || e.NCall != 1 {
			t.Fatalf("%s: %v %+v", name, ok, e)
		}
		for j := range want {
			if w := want[j] / n; e.Values[j] != w {
				t.Fatalf("%s[%d] = %v, want %v", name, j, e.Values[j], w)
			}
		}
	}
}

func TestWeightName(t *testing.T) {
	for in, want := range map[string]struct {
		name  string
		whole bool
	}{
		"blk.0.attn_q.weight":          {"blk.0.attn_q.weight", true},
		"blk.0.attn_qkv.weight[0:64]":  {"blk.0.attn_qkv.weight", true},
		"blk.0.attn_qkv.weight[64:96]": {"blk.0.attn_qkv.weight", false},
	} {
		if n, w := weightName(in); n != want.name || w != want.whole {
			t.Errorf("%s: %s %v", in, n, w)
		}
	}
}
