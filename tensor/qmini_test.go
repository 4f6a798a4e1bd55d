package tensor_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/tensor"
)

// TestQminiTensorsBitExact quantizes every tensor of the qmini master (F32, or F16 for
// the -fromF16 files) to the type it has in each llama-quantize output in
// ../shared/refdata/models/qmini and compares the bytes.
func TestQminiTensorsBitExact(t *testing.T) {
	dir := refdata.Path(t, "models", "qmini")
	files, _ := filepath.Glob(filepath.Join(dir, "qmini-*.gguf"))
	masters := map[string]*gguf.File{}
	for _, m := range []string{"qmini-F32.gguf", "qmini-F16.gguf"} {
		f, err := gguf.Open(filepath.Join(dir, m))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		masters[m] = f
	}
	checked := 0
	for _, path := range files {
		name := filepath.Base(path)
		if name == "qmini-F32.gguf" || name == "qmini-F16.gguf" {
			continue
		}
		master := masters["qmini-F32.gguf"]
		if strings.Contains(name, "fromF16") {
			master = masters["qmini-F16.gguf"]
		}
		q, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := range q.Tensors {
			qt := &q.Tensors[i]
			mt, err := master.Tensor(qt.Name)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			x := make([]float32, mt.NumElements())
			if err := tensor.Dequantize(mt.Type, master.TensorData(mt), x); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, qt.Size)
			if err := tensor.Quantize(qt.Type, x, got); err != nil {
				t.Errorf("%s %s: %v", name, qt.Name, err)
				continue
			}
			want := q.TensorData(qt)
			if !bytes.Equal(got, want) {
				k := 0
				for k < len(got) && got[k] == want[k] {
					k++
				}
				t.Errorf("%s %s (%s): bytes differ first at %d (block %d)", name, qt.Name, qt.Type, k, k/qt.Type.TypeSize())
			}
			checked++
		}
		q.Close()
	}
	if checked < 300 {
		t.Errorf("only %d tensors compared; expected every tensor of ~19 files", checked)
	}
	t.Logf("%d tensors byte-identical", checked)
}
