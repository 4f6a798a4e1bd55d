// Package imatrix reads and writes importance matrices in llama.cpp's legacy binary format
// (commit c392e50, examples/imatrix/imatrix.cpp): an int32 entry count; per entry an int32
// name length, the name, int32 ncall, int32 nval and nval float32 values; then the int32
// chunk count and the dataset file name as int32 length + bytes. Little-endian throughout.
package imatrix

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Entry is one weight tensor's statistics. Values are stored as llama-imatrix writes them:
// each column's mean of squared activations multiplied by NCall.
type Entry struct {
	Name   string
	NCall  int32
	Values []float32
}

// Weights are the importance weights llama-quantize uses: Values divided by NCall when
// NCall > 0 (quantize.cpp's load_imatrix).
func (e Entry) Weights() []float32 {
	w := make([]float32, len(e.Values))
	copy(w, e.Values)
	if e.NCall > 0 {
		for i := range w {
			w[i] /= float32(e.NCall)
		}
	}
	return w
}

// Matrix is a whole file: its entries in file order, the number of chunks it was computed
// on and the name of the text it was computed from (both absent in the oldest files).
type Matrix struct {
	Entries []Entry
	Chunks  int32
	Dataset string
}

// Lookup returns the entry for a tensor name.
func (m *Matrix) Lookup(name string) (Entry, bool) {
	for _, e := range m.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// Limits on what a file may claim before anything is allocated from it.
const (
	maxEntries = 1 << 20
	maxName    = 4096
	maxValues  = 1 << 26
)

// ReadFile reads an imatrix file; errors name the file and the entry.
func ReadFile(path string) (*Matrix, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	m, err := Read(bufio.NewReader(f), size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Read parses the format from r. size, when not negative, bounds every length the data
// claims (no allocation larger than the input).
func Read(r io.Reader, size int64) (*Matrix, error) {
	limit := func(n, max int64) bool { return n < 0 || n > max || (size >= 0 && n > size) }
	var n int32
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return nil, fmt.Errorf("imatrix: reading the entry count: %w", errTrunc(err))
	}
	if n < 1 || limit(int64(n), maxEntries) {
		return nil, fmt.Errorf("imatrix: entry count %d is not valid", n)
	}
	m := &Matrix{Entries: make([]Entry, 0, n)}
	for i := int32(0); i < n; i++ {
		var nameLen int32
		if err := binary.Read(r, binary.LittleEndian, &nameLen); err != nil {
			return nil, fmt.Errorf("imatrix: entry %d: name length: %w", i, errTrunc(err))
		}
		if nameLen < 1 || limit(int64(nameLen), maxName) {
			return nil, fmt.Errorf("imatrix: entry %d: name length %d is not valid", i, nameLen)
		}
		name := make([]byte, nameLen)
		if _, err := io.ReadFull(r, name); err != nil {
			return nil, fmt.Errorf("imatrix: entry %d: name: %w", i, errTrunc(err))
		}
		var hdr [2]int32
		if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
			return nil, fmt.Errorf("imatrix: entry %d (%q): ncall and nval: %w", i, name, errTrunc(err))
		}
		nval := hdr[1]
		if nval < 1 || limit(4*int64(nval), 4*maxValues) {
			return nil, fmt.Errorf("imatrix: entry %d (%q): value count %d is not valid", i, name, nval)
		}
		vals := make([]float32, nval)
		if err := binary.Read(r, binary.LittleEndian, vals); err != nil {
			return nil, fmt.Errorf("imatrix: entry %d (%q): %d values: %w", i, name, nval, errTrunc(err))
		}
		for j, v := range vals {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("imatrix: entry %d (%q): value %d is %v", i, name, j, v)
			}
		}
		m.Entries = append(m.Entries, Entry{Name: string(name), NCall: hdr[0], Values: vals})
	}
	// The chunk count and dataset name were added later; a file may end here.
	if err := binary.Read(r, binary.LittleEndian, &m.Chunks); err != nil {
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		return nil, fmt.Errorf("imatrix: chunk count: %w", errTrunc(err))
	}
	var dsLen int32
	if err := binary.Read(r, binary.LittleEndian, &dsLen); err != nil {
		return nil, fmt.Errorf("imatrix: dataset name length: %w", errTrunc(err))
	}
	if limit(int64(dsLen), maxName) {
		return nil, fmt.Errorf("imatrix: dataset name length %d is not valid", dsLen)
	}
	ds := make([]byte, dsLen)
	if _, err := io.ReadFull(r, ds); err != nil {
		return nil, fmt.Errorf("imatrix: dataset name: %w", errTrunc(err))
	}
	m.Dataset = string(ds)
	var extra [1]byte
	if k, _ := r.Read(extra[:]); k != 0 {
		return nil, errors.New("imatrix: data after the dataset name")
	}
	return m, nil
}

func errTrunc(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Write writes m in the format Read reads (and llama-quantize of c392e50 reads).
func Write(w io.Writer, m *Matrix) error {
	bw := bufio.NewWriter(w)
	le := binary.LittleEndian
	put := func(v any) { _ = binary.Write(bw, le, v) } // bufio keeps the first error for Flush
	put(int32(len(m.Entries)))
	for _, e := range m.Entries {
		put(int32(len(e.Name)))
		bw.WriteString(e.Name)
		put(e.NCall)
		put(int32(len(e.Values)))
		put(e.Values)
	}
	put(m.Chunks)
	put(int32(len(m.Dataset)))
	bw.WriteString(m.Dataset)
	return bw.Flush()
}
