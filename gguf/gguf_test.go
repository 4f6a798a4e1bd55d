package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/tensor"
)

func allValues() map[string]any {
	return map[string]any{
		"u8": uint8(200), "i8": int8(-100), "u16": uint16(60000), "i16": int16(-30000),
		"u32": uint32(4000000000), "i32": int32(-2000000000), "f32": float32(3.25), "bool": true,
		"str": "héllo\x00world", "u64": uint64(1 << 63), "i64": int64(-1 << 62), "f64": 2.5e300,
		"a.u8": []uint8{1, 2}, "a.i8": []int8{-1}, "a.u16": []uint16{7}, "a.i16": []int16{-7},
		"a.u32": []uint32{1, 2, 3}, "a.i32": []int32{-3}, "a.f32": []float32{0.5, -1},
		"a.bool": []bool{true, false}, "a.str": []string{"a", "", "ccc"}, "a.u64": []uint64{9},
		"a.i64": []int64{-9}, "a.f64": []float64{1e-300}, "a.empty": []string{},
		"a.nested":  []Value{MustValue([]string{"x", "y"}), MustValue([]string{"z"})},
		"a.nested2": []Value{MustValue([]Value{MustValue([]int32{1, 2})})},
	}
}

func TestRoundTripEveryValueType(t *testing.T) {
	w := NewWriter()
	vals := allValues()
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	for _, k := range keys {
		if err := w.SetAny(k, vals[k]); err != nil {
			t.Fatal(err)
		}
	}
	data := make([]byte, 18*18)
	for i := range data {
		data[i] = byte(i)
	}
	if err := w.AddTensor("t0", tensor.Q4_0, []uint64{64, 9}, data); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("t1", tensor.F32, []uint64{3}, make([]byte, 12)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || len(f.KVs) != len(vals) || len(f.Tensors) != 2 {
		t.Fatalf("version %d, %d kvs, %d tensors", f.Version, len(f.KVs), len(f.Tensors))
	}
	for i, k := range keys {
		if f.KVs[i].Key != k {
			t.Errorf("kv %d: key %q, want %q (order must be kept)", i, f.KVs[i].Key, k)
		}
		v, _ := f.Lookup(k)
		want := MustValue(vals[k])
		if !reflect.DeepEqual(v, want) {
			t.Errorf("%s: read %#v, wrote %#v", k, v, want)
		}
	}
	t0, _ := f.Tensor("t0")
	if !bytes.Equal(f.TensorData(t0), data) || t0.NumElements() != 64*9 {
		t.Errorf("t0 data or shape differs: %v", t0)
	}
	t1, _ := f.Tensor("t1")
	if t1.Offset%32 != 0 || f.DataOffset%32 != 0 {
		t.Errorf("unaligned: data at %d, t1 at %d", f.DataOffset, t1.Offset)
	}
}

func TestAccessors(t *testing.T) {
	w := NewWriter()
	w.SetAny("general.architecture", "llama")
	w.SetAny("llama.block_count", uint32(5))
	w.SetAny("llama.rope.freq_base", float32(10000))
	w.SetAny("x.i32", int32(7))
	var buf bytes.Buffer
	w.WriteTo(&buf)
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := f.Arch(); a != "llama" {
		t.Errorf("Arch = %q", a)
	}
	if n, err := f.Uint32("llama.block_count"); err != nil || n != 5 {
		t.Errorf("ArchUint32 = %d, %v", n, err)
	}
	if v, err := f.Float32Or("llama.rope.scale", 1.5); err != nil || v != 1.5 {
		t.Errorf("Float32Or default = %v, %v", v, err)
	}
	_, err = f.Uint32("llama.rope.freq_base")
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "llama.rope.freq_base") ||
		!strings.Contains(err.Error(), "expected uint32, found float32") {
		t.Errorf("wrong-type error = %v", err)
	}
	if _, err := f.Uint32("missing.key"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key error = %v", err)
	}
	if n, err := f.Int("x.i32"); err != nil || n != 7 {
		t.Errorf("Int = %d, %v", n, err)
	}
}

// header builds a GGUF header by hand for the malformed-input tests.
type header struct{ bytes.Buffer }

func (h *header) u32(v uint32) *header { binary.Write(h, binary.LittleEndian, v); return h }
func (h *header) u64(v uint64) *header { binary.Write(h, binary.LittleEndian, v); return h }
func (h *header) str(s string) *header { h.u64(uint64(len(s))); h.WriteString(s); return h }

func TestMalformed(t *testing.T) {
	cases := []struct {
		name string
		data func() []byte
		want string
	}{
		{"empty", func() []byte { return nil }, "magic"},
		{"bad magic", func() []byte { return []byte("GGML\x03\x00\x00\x00") }, "not a GGUF file"},
		{"v1", func() []byte { h := &header{}; h.u32(Magic).u32(1).u64(0).u64(0); return h.Bytes() }, "unsupported GGUF version 1"},
		{"v9", func() []byte { h := &header{}; h.u32(Magic).u32(9).u64(0).u64(0); return h.Bytes() }, "unsupported GGUF version 9"},
		{"huge kv count", func() []byte { h := &header{}; h.u32(Magic).u32(3).u64(0).u64(1 << 60); return h.Bytes() }, "metadata count"},
		{"huge tensor count", func() []byte { h := &header{}; h.u32(Magic).u32(3).u64(1 << 62).u64(0); return h.Bytes() }, "tensor count"},
		{"huge string", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(0).u64(1).u64(1 << 40)
			h.Write(make([]byte, 16))
			return h.Bytes()
		}, "string length"},
		{"huge array", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(0).u64(1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeUint64)).u64(1 << 59)
			return h.Bytes()
		}, "array length"},
		{"bad value type", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(0).u64(1).str("k").u32(13)
			return h.Bytes()
		}, "unknown metadata value type 13"},
		{"duplicate key", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(0).u64(2).str("k").u32(uint32(TypeUint32)).u32(1).str("k").u32(uint32(TypeUint32)).u32(2)
			return h.Bytes()
		}, "duplicate metadata key"},
		{"bad bool", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(0).u64(1).str("k").u32(uint32(TypeBool))
			h.WriteByte(2)
			return h.Bytes()
		}, "bool must be 0 or 1"},
		{"bad alignment", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(0).u64(1).str("general.alignment").u32(uint32(TypeUint32)).u32(24)
			return h.Bytes()
		}, "not a power of two"},
		{"unknown ggml type", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(1).u64(0).str("t").u32(1).u64(32).u32(31).u64(0)
			return h.Bytes()
		}, "unknown ggml type id 31"},
		{"5 dims", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(1).u64(0).str("t").u32(5)
			h.Write(make([]byte, 64))
			return h.Bytes()
		}, "5 dimensions"},
		{"element overflow", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(1).u64(0).str("t").u32(2).u64(1 << 40).u64(1 << 40).u32(0).u64(0)
			return h.Bytes()
		}, "overflows"},
		{"ragged block", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(1).u64(0).str("t").u32(1).u64(33).u32(uint32(tensor.Q4_0)).u64(0)
			return h.Bytes()
		}, "not a multiple of Q4_0's block size"},
		{"data outside file", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(1).u64(0).str("t").u32(1).u64(64).u32(0).u64(0)
			h.Write(make([]byte, 32))
			return h.Bytes()
		}, "outside"},
		{"unaligned offset", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(1).u64(0).str("t").u32(1).u64(1).u32(0).u64(4)
			return h.Bytes()
		}, "not a multiple of the alignment"},
		{"overlap", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(2).u64(0)
			h.str("a").u32(1).u64(16).u32(0).u64(0)
			h.str("b").u32(1).u64(16).u32(0).u64(32)
			for h.Len()%32 != 0 {
				h.WriteByte(0)
			}
			h.Write(make([]byte, 128))
			b := h.Bytes()
			// make b start inside a: a is [0,64), b at 32
			return b
		}, "overlaps"},
		{"duplicate tensor", func() []byte {
			h := &header{}
			h.u32(Magic).u32(3).u64(2).u64(0)
			h.str("a").u32(1).u64(8).u32(0).u64(0)
			h.str("a").u32(1).u64(8).u32(0).u64(32)
			return h.Bytes()
		}, "duplicate tensor name"},
	}
	for _, c := range cases {
		_, err := Parse(c.data())
		var fe *FormatError
		if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want a *FormatError containing %q", c.name, err, c.want)
		}
	}
}

// TestRewriteIsIdentical: reading a llama-quantize output and writing it back with the
// same metadata and tensors reproduces the file byte for byte.
func TestRewriteIsIdentical(t *testing.T) {
	path := refdata.Path(t, "models", "qmini", "qmini-Q4_K_M.gguf")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewWriter()
	for _, kv := range f.KVs {
		w.Set(kv.Key, kv.Value)
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims, f.TensorData(ti)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), orig) {
		t.Errorf("rewritten file differs (%d vs %d bytes)", buf.Len(), len(orig))
	}
}

// TestOpenDoesNotReadData: opening a file with a 4 GiB (sparse) tensor must not read it.
func TestOpenDoesNotReadData(t *testing.T) {
	w := NewWriter()
	w.SetAny("general.architecture", "llama")
	const n = 1 << 30 // 1 Gi float32 = 4 GiB
	w.AddTensorFunc("big", tensor.F32, []uint64{n}, nil)
	var hdr bytes.Buffer
	dataOff, err := w.WriteHeader(&hdr)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "big.gguf")
	if err := os.WriteFile(path, hdr.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(dataOff)+4*n); err != nil {
		t.Skipf("SKIP: cannot make a sparse 4 GiB file here: %v", err)
	}
	before, ok := residentBytes()
	if !ok {
		t.Skip("SKIP: /proc/self/statm is not available to measure the resident set")
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ti, _ := f.Tensor("big")
	if ti.Size != 4*n || int64(len(f.TensorData(ti))) != 4*n {
		t.Fatalf("tensor size %d", ti.Size)
	}
	_ = f.TensorData(ti)[4*n-1] // touch one page at the end
	if after, _ := residentBytes(); after-before > 64<<20 {
		t.Errorf("Open grew the resident set by %d MiB", (after-before)>>20)
	}
}

// residentBytes reads the current resident set size from /proc/self/statm.
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	var size, res int64
	if _, err := fmt.Sscan(string(b), &size, &res); err != nil {
		return 0, false
	}
	return res * int64(os.Getpagesize()), true
}
