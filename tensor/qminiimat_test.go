package tensor_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/tensor"
)

// readLegacyImatrix reads llama.cpp's legacy imatrix file the way llama-quantize's
// load_imatrix does: per entry the name, the call count and the values, divided by the
// call count.
func readLegacyImatrix(path string) (map[string][]float32, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	off := 0
	i32 := func() (int, error) {
		if off+4 > len(raw) {
			return 0, fmt.Errorf("%s: truncated at byte %d", path, off)
		}
		v := int(int32(binary.LittleEndian.Uint32(raw[off:])))
		off += 4
		return v, nil
	}
	n, err := i32()
	if err != nil {
		return nil, err
	}
	out := map[string][]float32{}
	for e := 0; e < n; e++ {
		ln, err := i32()
		if err != nil || ln < 0 || off+ln > len(raw) {
			return nil, fmt.Errorf("%s: entry %d: bad name", path, e)
		}
		name := string(raw[off : off+ln])
		off += ln
		ncall, err := i32()
		if err != nil {
			return nil, err
		}
		nval, err := i32()
		if err != nil || nval < 1 || off+4*nval > len(raw) {
			return nil, fmt.Errorf("%s: entry %s: bad value count", path, name)
		}
		v := make([]float32, nval)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[off+4*j:]))
			if ncall > 0 {
				v[j] /= float32(ncall)
			}
		}
		off += 4 * nval
		out[name] = v
	}
	return out, nil
}

// TestQminiImatrixTensors: every IQ3_XXS, IQ3_S, TQ1_0 and TQ2_0 tensor of the
// llama-quantize --imatrix outputs in ../shared/refdata/quant-research, quantized here
// from qmini-F32 with the tensor's entry of qmini-story.imatrix (none: the plain
// quantizer, as llama-quantize does; the ternary types ignore it), byte for byte.
func TestQminiImatrixTensors(t *testing.T) {
	mine := map[tensor.DType]bool{tensor.IQ3_XXS: true, tensor.IQ3_S: true, tensor.TQ1_0: true, tensor.TQ2_0: true}
	dir := refdata.Path(t, "quant-research")
	imat, err := readLegacyImatrix(filepath.Join(dir, "qmini-story.imatrix"))
	if err != nil {
		t.Fatal(err)
	}
	master, err := gguf.Open(refdata.Path(t, "models", "qmini", "qmini-F32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	checked := map[tensor.DType]int{}
	for _, ft := range []string{"IQ3_XXS", "IQ3_XS", "IQ3_S", "IQ3_M", "TQ1_0", "TQ2_0"} {
		q, err := gguf.Open(filepath.Join(dir, "qmini-"+ft+"-imat.gguf"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range q.Tensors {
			qt := &q.Tensors[i]
			if !mine[qt.Type] {
				continue
			}
			mt, err := master.Tensor(qt.Name)
			if err != nil {
				t.Fatalf("%s: %v", ft, err)
			}
			x := make([]float32, mt.NumElements())
			if err := tensor.Dequantize(mt.Type, master.TensorData(mt), x); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, qt.Size)
			c, _ := tensor.CodecOf(qt.Type)
			w, ok := imat[qt.Name]
			if ok && c.QuantizeWeighted != nil {
				err = c.QuantizeWeighted(got, x, int(qt.Dims[0]), w)
			} else {
				err = tensor.Quantize(qt.Type, x, got)
			}
			if err != nil {
				t.Fatalf("%s %s: %v", ft, qt.Name, err)
			}
			if want := q.TensorData(qt); !bytes.Equal(got, want) {
				k := 0
				for k < len(got) && got[k] == want[k] {
					k++
				}
				t.Errorf("%s %s (%s, imatrix %v): bytes differ first at %d (block %d)", ft, qt.Name, qt.Type, ok, k, k/qt.Type.TypeSize())
			}
			checked[qt.Type]++
		}
		q.Close()
	}
	for dt := range mine {
		if checked[dt] == 0 {
			t.Errorf("no %s tensor compared", dt)
		}
	}
	t.Logf("tensors byte-identical: %v", checked)
}
