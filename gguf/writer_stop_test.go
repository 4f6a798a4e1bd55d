package gguf

import (
	"errors"
	"io"
	"testing"

	"github.com/inferno-go/inferno/tensor"
)

// Once a tensor's data fails (a full disk, an interrupted command), WriteTo stops:
// the tensors after it are not computed.
func TestWriteToStopsAtFirstError(t *testing.T) {
	w := NewWriter()
	boom := errors.New("boom")
	later := 0
	w.AddTensorFunc("a", tensor.F32, []uint64{4}, func(io.Writer) error { return boom })
	for _, name := range []string{"b", "c"} {
		w.AddTensorFunc(name, tensor.F32, []uint64{4}, func(out io.Writer) error {
			later++
			_, err := out.Write(make([]byte, 16))
			return err
		})
	}
	if _, err := w.WriteTo(io.Discard); !errors.Is(err, boom) {
		t.Errorf("WriteTo: %v", err)
	}
	if later != 0 {
		t.Errorf("%d tensors computed after the failure", later)
	}
}
