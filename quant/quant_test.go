package quant

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
)

// TestQminiLikeLlamaQuantize: quantizing the qmini master to every type in
// refdata/models/qmini gives llama-quantize's tensor types and bytes.
func TestQminiLikeLlamaQuantize(t *testing.T) {
	dir := refdata.Path(t, "models", "qmini")
	files, _ := filepath.Glob(filepath.Join(dir, "qmini-*.gguf"))
	checked := 0
	for _, path := range files {
		base := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "qmini-"), ".gguf")
		srcName := "qmini-F32.gguf"
		typ := base
		switch {
		case base == "F32" || base == "F16":
			continue // the masters
		case strings.HasSuffix(base, "-fromF16"):
			srcName, typ = "qmini-F16.gguf", strings.TrimSuffix(base, "-fromF16")
		case strings.HasSuffix(base, "-fromF32"):
			typ = strings.TrimSuffix(base, "-fromF32")
		}
		ft, err := ParseFType(typ)
		if err != nil {
			t.Fatal(err)
		}
		src, err := gguf.Open(filepath.Join(dir, srcName))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := Quantize(src, ft, &buf, Options{Threads: 2}); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		src.Close()
		got, err := gguf.Parse(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		want, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Tensors) != len(want.Tensors) {
			t.Fatalf("%s: %d tensors, want %d", base, len(got.Tensors), len(want.Tensors))
		}
		for i := range want.Tensors {
			wt := &want.Tensors[i]
			gt := &got.Tensors[i]
			if gt.Name != wt.Name || gt.Type != wt.Type {
				t.Errorf("%s tensor %d: %s %s, want %s %s", base, i, gt.Name, gt.Type, wt.Name, wt.Type)
				continue
			}
			if !bytes.Equal(got.TensorData(gt), want.TensorData(wt)) {
				t.Errorf("%s %s: bytes differ", base, wt.Name)
			}
		}
		if ftv, _ := got.Uint32("general.file_type"); ftv != ft.ID {
			t.Errorf("%s: file_type %d, want %d", base, ftv, ft.ID)
		}
		compareGGUF(t, got, want)
		if ref, err := os.ReadFile(path); err != nil || !bytes.Equal(buf.Bytes(), ref) {
			t.Errorf("%s: whole file differs from llama-quantize's first at byte %d (%d bytes, want %d) %v", base, firstDiff(buf.Bytes(), ref), buf.Len(), len(ref), err)
		}
		want.Close()
		checked++
	}
	if checked < 18 {
		t.Errorf("only %d files checked", checked)
	}
}

// TestTinyLlamaMixTypes: the per-tensor types llama-quantize chose for the 22-layer
// TinyLlama shape, for every mix the reference file has, from the shape alone.
func TestTinyLlamaMixTypes(t *testing.T) {
	raw, err := os.ReadFile(refdata.Path(t, "models", "tinyllama-shape-tensor-layout.json"))
	if err != nil {
		t.Fatal(err)
	}
	var layout map[string]struct {
		Tensors map[string]struct {
			Type string   `json:"type"`
			Ne   []uint64 `json:"ne"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal(raw, &layout); err != nil {
		t.Fatal(err)
	}
	m := Model{NLayer: 22, NHead: 32, NKVHead: 4}
	mixes := 0
	for mix := range layout {
		ft, err := ParseFType(mix)
		if err != nil {
			t.Errorf("reference mix %s: %v", mix, err)
			continue
		}
		mixes++
		var names []string
		for n := range layout[mix].Tensors {
			names = append(names, n)
		}
		Order(names)
		var ts []Tensor
		orig := map[string]tensorDType{}
		for _, n := range names {
			ts = append(ts, Tensor{Name: n, Dims: layout[mix].Tensors[n].Ne})
			orig[n] = f32
		}
		types, err := Types(ts, ft, m, orig)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if got, want := types[n].String(), layout[mix].Tensors[n].Type; got != want {
				t.Errorf("%s %s: %s, llama-quantize %s", mix, n, got, want)
			}
		}
	}
	if mixes < 5 {
		t.Errorf("only %d mixes in the reference file", mixes)
	}
}
