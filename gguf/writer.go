package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/inferno-go/inferno/tensor"
)

// Writer builds a GGUF v3 file: metadata in insertion order, then tensor infos, then
// the tensor data, each tensor aligned to Alignment.
type Writer struct {
	Alignment uint64
	kvs       []KV
	kvIndex   map[string]int
	tensors   []wtensor
	tIndex    map[string]bool
}

type wtensor struct {
	info  TensorInfo
	data  []byte
	write func(io.Writer) error
}

// NewWriter returns an empty writer with the default alignment.
func NewWriter() *Writer {
	return &Writer{Alignment: DefaultAlignment, kvIndex: map[string]int{}, tIndex: map[string]bool{}}
}

// Set adds or replaces a metadata key, keeping the position of an existing key.
// Setting general.alignment (uint32) also sets the data alignment.
func (w *Writer) Set(key string, v Value) error {
	if key == "" {
		return fmt.Errorf("gguf: empty metadata key")
	}
	if key == "general.alignment" {
		a, ok := v.v.(uint32)
		if !ok || a == 0 || a&(a-1) != 0 {
			return fmt.Errorf("gguf: general.alignment must be a uint32 power of two, got %s %v", v.TypeName(), v)
		}
		w.Alignment = uint64(a)
	}
	if i, ok := w.kvIndex[key]; ok {
		w.kvs[i].Value = v
		return nil
	}
	w.kvIndex[key] = len(w.kvs)
	w.kvs = append(w.kvs, KV{Key: key, Value: v})
	return nil
}

// SetAny is Set(key, NewValue(x)).
func (w *Writer) SetAny(key string, x any) error {
	v, err := NewValue(x)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return w.Set(key, v)
}

// AddTensor adds a tensor whose bytes are in data (len must match the shape and type).
func (w *Writer) AddTensor(name string, t tensor.DType, dims []uint64, data []byte) error {
	ti, err := w.info(name, t, dims)
	if err != nil {
		return err
	}
	if uint64(len(data)) != ti.Size {
		return fmt.Errorf("gguf: tensor %s: %d bytes given, shape %v of %s needs %d", name, len(data), dims, t, ti.Size)
	}
	w.tensors = append(w.tensors, wtensor{info: ti, data: data})
	return nil
}

// AddTensorFunc adds a tensor whose bytes are produced while writing: write must write
// exactly the tensor's size in bytes. Quantizers use it to stream large models.
func (w *Writer) AddTensorFunc(name string, t tensor.DType, dims []uint64, write func(io.Writer) error) error {
	ti, err := w.info(name, t, dims)
	if err != nil {
		return err
	}
	w.tensors = append(w.tensors, wtensor{info: ti, write: write})
	return nil
}

func (w *Writer) info(name string, t tensor.DType, dims []uint64) (TensorInfo, error) {
	if name == "" || w.tIndex[name] {
		return TensorInfo{}, fmt.Errorf("gguf: tensor name %q is empty or already added", name)
	}
	if !t.Valid() {
		return TensorInfo{}, fmt.Errorf("gguf: tensor %s: unknown type %d", name, uint32(t))
	}
	if len(dims) == 0 || len(dims) > MaxDims {
		return TensorInfo{}, fmt.Errorf("gguf: tensor %s: %d dimensions (must be 1..%d)", name, len(dims), MaxDims)
	}
	n := uint64(1)
	for _, d := range dims {
		n *= d
	}
	if dims[0]%uint64(t.BlockSize()) != 0 {
		return TensorInfo{}, fmt.Errorf("gguf: tensor %s: row length %d is not a multiple of %s's block size %d", name, dims[0], t, t.BlockSize())
	}
	w.tIndex[name] = true
	return TensorInfo{Name: name, Type: t, Dims: append([]uint64(nil), dims...), Size: n / uint64(t.BlockSize()) * uint64(t.TypeSize())}, nil
}

func pad(n, align uint64) uint64 { return (n + align - 1) / align * align }

type ewriter struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (e *ewriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.n += int64(n)
	e.err = err
	return n, err
}

func (e *ewriter) le(v any) { _ = binary.Write(e, binary.LittleEndian, v) }

func (e *ewriter) str(s string) {
	e.le(uint64(len(s)))
	_, _ = io.WriteString(e, s)
}

func (e *ewriter) value(v Value) {
	if v.Type != TypeArray {
		switch x := v.v.(type) {
		case string:
			e.str(x)
		case bool:
			if x {
				e.le(uint8(1))
			} else {
				e.le(uint8(0))
			}
		default:
			e.le(x)
		}
		return
	}
	e.le(uint32(v.Elem))
	e.le(uint64(v.Len()))
	switch a := v.v.(type) {
	case []string:
		for _, s := range a {
			e.str(s)
		}
	case []bool:
		for _, b := range a {
			if b {
				e.le(uint8(1))
			} else {
				e.le(uint8(0))
			}
		}
	case []Value:
		for _, x := range a {
			e.value(x)
		}
	default:
		e.le(a)
	}
}

// WriteTo writes the whole file.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	e := &ewriter{w: bufio.NewWriterSize(out, 1<<20)}
	w.writeHeader(e)
	zeros := make([]byte, w.Alignment)
	for _, t := range w.tensors {
		if e.err != nil {
			break // a failed or cancelled write: do not produce the rest
		}
		start := e.n
		if t.write != nil {
			if err := t.write(e); err != nil && e.err == nil {
				e.err = fmt.Errorf("gguf: writing tensor %s: %w", t.info.Name, err)
			}
		} else {
			e.Write(t.data)
		}
		if e.err == nil && uint64(e.n-start) != t.info.Size {
			e.err = fmt.Errorf("gguf: tensor %s: wrote %d bytes, want %d", t.info.Name, e.n-start, t.info.Size)
		}
		e.Write(zeros[:pad(t.info.Size, w.Alignment)-t.info.Size])
	}
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.n, e.err
}

// WriteHeader writes only the header, tensor infos and the padding before the data
// section; it returns the data section's offset.
func (w *Writer) WriteHeader(out io.Writer) (int64, error) {
	e := &ewriter{w: bufio.NewWriterSize(out, 1<<20)}
	w.writeHeader(e)
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.n, e.err
}

func (w *Writer) writeHeader(e *ewriter) {
	e.le(uint32(Magic))
	e.le(uint32(3))
	e.le(uint64(len(w.tensors)))
	e.le(uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		e.str(kv.Key)
		e.le(uint32(kv.Value.Type))
		e.value(kv.Value)
	}
	var off uint64
	for i := range w.tensors {
		ti := &w.tensors[i].info
		ti.Offset = off
		e.str(ti.Name)
		e.le(uint32(len(ti.Dims)))
		for _, d := range ti.Dims {
			e.le(d)
		}
		e.le(uint32(ti.Type))
		e.le(ti.Offset)
		off = pad(off+ti.Size, w.Alignment)
	}
	zeros := make([]byte, w.Alignment)
	e.Write(zeros[:pad(uint64(e.n), w.Alignment)-uint64(e.n)])
}
