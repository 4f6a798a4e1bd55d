// Package gguf reads and writes GGUF files (versions 2 and 3): metadata, tensor
// infos and zero-copy views of tensor data in a memory-mapped file. It knows bytes,
// not math: tensor element types come from package tensor, nothing is dequantized.
//
// Every count, length, dimension and offset read from a file is checked against the
// file's size before anything is allocated, so a corrupt or hostile file gives a
// *FormatError, never a panic or a huge allocation.
package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"

	"github.com/inferno-go/inferno/tensor"
)

// Magic is "GGUF" read as a little-endian uint32.
const Magic = 0x46554747

// DefaultAlignment is used when general.alignment is absent.
const DefaultAlignment = 32

// MaxDims is the most dimensions a tensor may have (GGML_MAX_DIMS).
const MaxDims = 4

const maxArrayDepth = 8

// FormatError reports malformed input: where (byte offset), what (field) and why.
type FormatError struct {
	Offset int64
	Field  string
	Reason string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("gguf: offset %d: %s: %s", e.Offset, e.Field, e.Reason)
}

// KV is one metadata pair and the offset of its key in the file.
type KV struct {
	Key    string
	Value  Value
	Offset int64
}

// TensorInfo describes one tensor. Dims are ggml's ne: Dims[0] is the row length.
type TensorInfo struct {
	Name   string
	Dims   []uint64
	Type   tensor.DType
	Offset uint64 // relative to the start of the data section
	Size   uint64 // bytes
	infoAt int64  // file offset of the info record, for errors
}

// NumElements is the product of the dimensions.
func (t *TensorInfo) NumElements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// File is a parsed GGUF file. Tensor data views alias the underlying (possibly
// memory-mapped) bytes and stay valid until Close.
type File struct {
	Version    uint32
	Alignment  uint64
	KVs        []KV
	Tensors    []TensorInfo
	DataOffset int64 // file offset of the data section
	Size       int64 // file size

	data    []byte
	path    string // as given to Open, for errors
	kvIndex map[string]int
	tIndex  map[string]int
	closer  func() error
}

type cursor struct {
	b   []byte
	off int64
}

func (c *cursor) fail(field, format string, args ...any) error {
	return &FormatError{Offset: c.off, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func (c *cursor) remaining() int64 { return int64(len(c.b)) - c.off }

func (c *cursor) need(n int64, field string) error {
	if n < 0 || n > c.remaining() {
		return c.fail(field, "need %d bytes, only %d left in the file", n, c.remaining())
	}
	return nil
}

func (c *cursor) u8(field string) (uint8, error) {
	if err := c.need(1, field); err != nil {
		return 0, err
	}
	v := c.b[c.off]
	c.off++
	return v, nil
}

func (c *cursor) u16(field string) (uint16, error) {
	if err := c.need(2, field); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint16(c.b[c.off:])
	c.off += 2
	return v, nil
}

func (c *cursor) u32(field string) (uint32, error) {
	if err := c.need(4, field); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint32(c.b[c.off:])
	c.off += 4
	return v, nil
}

func (c *cursor) u64(field string) (uint64, error) {
	if err := c.need(8, field); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint64(c.b[c.off:])
	c.off += 8
	return v, nil
}

// count reads a uint64 count of items of at least minSize bytes each and checks
// that they could fit in what is left of the file.
func (c *cursor) count(field string, minSize int) (int, error) {
	at := c.off
	n, err := c.u64(field)
	if err != nil {
		return 0, err
	}
	if minSize < 1 {
		minSize = 1
	}
	if n > uint64(c.remaining())/uint64(minSize) {
		return 0, &FormatError{Offset: at, Field: field, Reason: fmt.Sprintf("count %d cannot fit in the %d bytes left in the file", n, c.remaining())}
	}
	return int(n), nil
}

func (c *cursor) str(field string) (string, error) {
	at := c.off
	n, err := c.u64(field + " length")
	if err != nil {
		return "", err
	}
	if n > uint64(c.remaining()) {
		return "", &FormatError{Offset: at, Field: field, Reason: fmt.Sprintf("string length %d exceeds the %d bytes left in the file", n, c.remaining())}
	}
	s := string(c.b[c.off : c.off+int64(n)])
	c.off += int64(n)
	return s, nil
}

func (c *cursor) valueType(field string) (ValueType, error) {
	at := c.off
	t, err := c.u32(field)
	if err != nil {
		return 0, err
	}
	if t > uint32(TypeFloat64) {
		return 0, &FormatError{Offset: at, Field: field, Reason: fmt.Sprintf("unknown metadata value type %d", t)}
	}
	return ValueType(t), nil
}

func (c *cursor) scalar(t ValueType, field string) (any, error) {
	switch t {
	case TypeUint8:
		return c.u8(field)
	case TypeInt8:
		v, err := c.u8(field)
		return int8(v), err
	case TypeUint16:
		return c.u16(field)
	case TypeInt16:
		v, err := c.u16(field)
		return int16(v), err
	case TypeUint32:
		return c.u32(field)
	case TypeInt32:
		v, err := c.u32(field)
		return int32(v), err
	case TypeFloat32:
		v, err := c.u32(field)
		return math.Float32frombits(v), err
	case TypeBool:
		at := c.off
		v, err := c.u8(field)
		if err != nil {
			return nil, err
		}
		if v > 1 {
			return nil, &FormatError{Offset: at, Field: field, Reason: fmt.Sprintf("bool must be 0 or 1, found %d", v)}
		}
		return v == 1, nil
	case TypeString:
		return c.str(field)
	case TypeUint64:
		return c.u64(field)
	case TypeInt64:
		v, err := c.u64(field)
		return int64(v), err
	case TypeFloat64:
		v, err := c.u64(field)
		return math.Float64frombits(v), err
	}
	return nil, c.fail(field, "unexpected value type %s", t)
}

func (c *cursor) value(t ValueType, field string, depth int) (Value, error) {
	if t != TypeArray {
		v, err := c.scalar(t, field)
		return Value{Type: t, v: v}, err
	}
	if depth >= maxArrayDepth {
		return Value{}, c.fail(field, "arrays nested more than %d deep", maxArrayDepth)
	}
	et, err := c.valueType(field + " element type")
	if err != nil {
		return Value{}, err
	}
	n, err := c.count(field+" array length", et.minSize())
	if err != nil {
		return Value{}, err
	}
	v := Value{Type: TypeArray, Elem: et}
	if sz := et.size(); sz > 0 {
		// Fixed-size elements: decode straight from the byte range.
		raw := c.b[c.off : c.off+int64(n*sz)]
		v.v, err = decodeFixed(et, raw, n, c.off, field)
		if err != nil {
			return Value{}, err
		}
		c.off += int64(n * sz)
		return v, nil
	}
	switch et {
	case TypeString:
		a := make([]string, n)
		for i := range a {
			if a[i], err = c.str(fmt.Sprintf("%s[%d]", field, i)); err != nil {
				return Value{}, err
			}
		}
		v.v = a
	case TypeArray:
		a := make([]Value, n)
		for i := range a {
			if a[i], err = c.value(TypeArray, fmt.Sprintf("%s[%d]", field, i), depth+1); err != nil {
				return Value{}, err
			}
			if i > 0 && a[i].Elem != a[0].Elem {
				return Value{}, c.fail(fmt.Sprintf("%s[%d]", field, i), "nested arrays of different element types (%s, %s)", a[0].Elem, a[i].Elem)
			}
		}
		v.v = a
	}
	return v, nil
}

func decodeFixed(t ValueType, raw []byte, n int, off int64, field string) (any, error) {
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return append([]uint8(nil), raw...), nil
	case TypeInt8:
		a := make([]int8, n)
		for i := range a {
			a[i] = int8(raw[i])
		}
		return a, nil
	case TypeBool:
		a := make([]bool, n)
		for i := range a {
			if raw[i] > 1 {
				return nil, &FormatError{Offset: off + int64(i), Field: fmt.Sprintf("%s[%d]", field, i), Reason: fmt.Sprintf("bool must be 0 or 1, found %d", raw[i])}
			}
			a[i] = raw[i] == 1
		}
		return a, nil
	case TypeUint16:
		a := make([]uint16, n)
		for i := range a {
			a[i] = le.Uint16(raw[2*i:])
		}
		return a, nil
	case TypeInt16:
		a := make([]int16, n)
		for i := range a {
			a[i] = int16(le.Uint16(raw[2*i:]))
		}
		return a, nil
	case TypeUint32:
		a := make([]uint32, n)
		for i := range a {
			a[i] = le.Uint32(raw[4*i:])
		}
		return a, nil
	case TypeInt32:
		a := make([]int32, n)
		for i := range a {
			a[i] = int32(le.Uint32(raw[4*i:]))
		}
		return a, nil
	case TypeFloat32:
		a := make([]float32, n)
		for i := range a {
			a[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		return a, nil
	case TypeUint64:
		a := make([]uint64, n)
		for i := range a {
			a[i] = le.Uint64(raw[8*i:])
		}
		return a, nil
	case TypeInt64:
		a := make([]int64, n)
		for i := range a {
			a[i] = int64(le.Uint64(raw[8*i:]))
		}
		return a, nil
	case TypeFloat64:
		a := make([]float64, n)
		for i := range a {
			a[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		return a, nil
	}
	return nil, fmt.Errorf("gguf: decodeFixed: %s", t)
}

// Parse reads a GGUF file held in memory. The returned File aliases data.
func Parse(data []byte) (*File, error) {
	c := &cursor{b: data}
	magic, err := c.u32("magic")
	if err != nil {
		return nil, err
	}
	if magic != Magic {
		return nil, &FormatError{Offset: 0, Field: "magic", Reason: fmt.Sprintf("not a GGUF file (magic %#08x, want \"GGUF\")", magic)}
	}
	f := &File{data: data, Size: int64(len(data)), kvIndex: map[string]int{}, tIndex: map[string]int{}}
	if f.Version, err = c.u32("version"); err != nil {
		return nil, err
	}
	if f.Version != 2 && f.Version != 3 {
		return nil, &FormatError{Offset: 4, Field: "version", Reason: fmt.Sprintf("unsupported GGUF version %d (supported: 2, 3)", f.Version)}
	}
	// Minimal encoded sizes: tensor info = name len 8 + ndims 4 + type 4 + offset 8.
	nTensors, err := c.count("tensor count", 24)
	if err != nil {
		return nil, err
	}
	// KV = key len 8 + type 4 + smallest value 1.
	nKV, err := c.count("metadata count", 13)
	if err != nil {
		return nil, err
	}
	f.KVs = make([]KV, 0, nKV)
	for i := 0; i < nKV; i++ {
		at := c.off
		key, err := c.str(fmt.Sprintf("metadata[%d] key", i))
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, &FormatError{Offset: at, Field: fmt.Sprintf("metadata[%d] key", i), Reason: "empty key"}
		}
		if _, dup := f.kvIndex[key]; dup {
			return nil, &FormatError{Offset: at, Field: key, Reason: "duplicate metadata key"}
		}
		t, err := c.valueType(key + " type")
		if err != nil {
			return nil, err
		}
		v, err := c.value(t, key, 0)
		if err != nil {
			return nil, err
		}
		f.kvIndex[key] = len(f.KVs)
		f.KVs = append(f.KVs, KV{Key: key, Value: v, Offset: at})
	}
	f.Alignment = DefaultAlignment
	if i, ok := f.kvIndex["general.alignment"]; ok {
		kv := f.KVs[i]
		a, isU32 := kv.Value.v.(uint32)
		if !isU32 {
			return nil, &FormatError{Offset: kv.Offset, Field: "general.alignment", Reason: fmt.Sprintf("expected uint32, found %s", kv.Value.TypeName())}
		}
		if a == 0 || a&(a-1) != 0 {
			return nil, &FormatError{Offset: kv.Offset, Field: "general.alignment", Reason: fmt.Sprintf("alignment %d is not a power of two", a)}
		}
		f.Alignment = uint64(a)
	}
	f.Tensors = make([]TensorInfo, 0, nTensors)
	for i := 0; i < nTensors; i++ {
		ti, err := readTensorInfo(c, i, f.Alignment)
		if err != nil {
			return nil, err
		}
		if _, dup := f.tIndex[ti.Name]; dup {
			return nil, &FormatError{Offset: ti.infoAt, Field: ti.Name, Reason: "duplicate tensor name"}
		}
		f.tIndex[ti.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, ti)
	}
	// The data section starts at the next multiple of the alignment.
	dataOff := (uint64(c.off) + f.Alignment - 1) / f.Alignment * f.Alignment
	if nTensors > 0 && dataOff > uint64(len(data)) {
		return nil, &FormatError{Offset: c.off, Field: "data section", Reason: fmt.Sprintf("starts at %d, past the end of the %d-byte file", dataOff, len(data))}
	}
	f.DataOffset = int64(min(dataOff, uint64(len(data))))
	if err := f.checkRanges(); err != nil {
		return nil, err
	}
	return f, nil
}

func readTensorInfo(c *cursor, i int, align uint64) (TensorInfo, error) {
	at := c.off
	name, err := c.str(fmt.Sprintf("tensor[%d] name", i))
	if err != nil {
		return TensorInfo{}, err
	}
	ti := TensorInfo{Name: name, infoAt: at}
	if name == "" {
		return ti, &FormatError{Offset: at, Field: fmt.Sprintf("tensor[%d] name", i), Reason: "empty name"}
	}
	nd, err := c.u32(name + " n_dims")
	if err != nil {
		return ti, err
	}
	if nd == 0 || nd > MaxDims {
		return ti, c.fail(name+" n_dims", "%d dimensions (must be 1..%d)", nd, MaxDims)
	}
	ti.Dims = make([]uint64, nd)
	n := uint64(1)
	for d := range ti.Dims {
		v, err := c.u64(fmt.Sprintf("%s ne[%d]", name, d))
		if err != nil {
			return ti, err
		}
		if v > math.MaxInt64 {
			return ti, c.fail(fmt.Sprintf("%s ne[%d]", name, d), "dimension %d is negative as int64", v)
		}
		hi, lo := bits.Mul64(n, v)
		if hi != 0 || lo > math.MaxInt64 {
			return ti, c.fail(name+" shape", "element count overflows int64")
		}
		ti.Dims[d], n = v, lo
	}
	typeAt := c.off
	tid, err := c.u32(name + " type")
	if err != nil {
		return ti, err
	}
	ti.Type = tensor.DType(tid)
	if !ti.Type.Valid() {
		return ti, &FormatError{Offset: typeAt, Field: name + " type", Reason: fmt.Sprintf("unknown ggml type id %d", tid)}
	}
	bs := uint64(ti.Type.BlockSize())
	if ti.Dims[0]%bs != 0 {
		return ti, &FormatError{Offset: typeAt, Field: name + " type", Reason: fmt.Sprintf("row length %d is not a multiple of %s's block size %d", ti.Dims[0], ti.Type, bs)}
	}
	hi, size := bits.Mul64(n/bs, uint64(ti.Type.TypeSize()))
	if hi != 0 || size > math.MaxInt64 {
		return ti, c.fail(name+" shape", "byte size overflows int64")
	}
	ti.Size = size
	offAt := c.off
	if ti.Offset, err = c.u64(name + " offset"); err != nil {
		return ti, err
	}
	if ti.Offset%align != 0 {
		return ti, &FormatError{Offset: offAt, Field: name + " offset", Reason: fmt.Sprintf("data offset %d is not a multiple of the alignment %d", ti.Offset, align)}
	}
	return ti, nil
}

// checkRanges verifies that every tensor's data lies inside the data section and
// that no two tensors overlap.
func (f *File) checkRanges() error {
	dataLen := uint64(f.Size - f.DataOffset)
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	for _, t := range f.Tensors {
		if t.Offset > dataLen || t.Size > dataLen-t.Offset {
			return &FormatError{Offset: t.infoAt, Field: t.Name, Reason: fmt.Sprintf("data [%d, +%d) lies outside the %d-byte data section (file truncated?)", t.Offset, t.Size, dataLen)}
		}
	}
	sort.Slice(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	for k := 1; k < len(order); k++ {
		p, q := &f.Tensors[order[k-1]], &f.Tensors[order[k]]
		if p.Offset+p.Size > q.Offset {
			return &FormatError{Offset: q.infoAt, Field: q.Name, Reason: fmt.Sprintf("data overlaps tensor %s", p.Name)}
		}
	}
	return nil
}

// ErrNotFound is wrapped by lookups of absent keys and tensors.
var ErrNotFound = errors.New("not found")

// Close releases the mapping; tensor data views must not be used afterwards.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer()
	f.closer, f.data = nil, nil
	return err
}

// Tensor returns the info of the named tensor.
func (f *File) Tensor(name string) (*TensorInfo, error) {
	i, ok := f.tIndex[name]
	if !ok {
		return nil, fmt.Errorf("gguf: tensor %q: %w", name, ErrNotFound)
	}
	return &f.Tensors[i], nil
}

// TensorData returns a zero-copy view of the tensor's bytes.
func (f *File) TensorData(t *TensorInfo) []byte {
	start := f.DataOffset + int64(t.Offset)
	return f.data[start : start+int64(t.Size) : start+int64(t.Size)]
}
