package imatrix

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/tensor"
)

// MinRows is the smallest batch whose activations are collected: llama-imatrix ignores
// matrix products of fewer than 16 rows (collect_imatrix's "small batches").
const MinRows = 16

// Collector computes llama-imatrix's importance matrix: for every weight matrix it sees
// multiplied by activations, per input column the sum of the squared activations over
// every row of every call, and the number of calls. Wrap a backend with it, load the
// model on the wrapper and run the text through it.
type Collector struct {
	// ProcessOutput also collects output.weight (llama-imatrix --process-output); by
	// default only the weights of the blocks ("blk." names) are collected.
	ProcessOutput bool

	names map[backend.Tensor]string
	stats map[string]*stats
	order []string // names in the order first seen (the model's graph order)
	buf   []float32
	err   error
}

type stats struct {
	sum   []float32 // float32 running sums, as collect_imatrix keeps them
	rows  int64     // rows seen; every column of a dense product counts every row
	ncall int32
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{names: map[backend.Tensor]string{}, stats: map[string]*stats{}}
}

// Err is the first error seen (a non-finite sum, an inconsistent width).
func (c *Collector) Err() error { return c.err }

// Wrap returns b with every MatMul observed. The fused ops are run as their compositions
// (backend.NormMatMul etc.) on the wrapper, so the products inside them are seen too.
func (c *Collector) Wrap(b backend.Backend) backend.Backend {
	o := &observer{Backend: b, c: c}
	o.self = o
	if a, ok := b.(backend.ArchOps); ok {
		oa := &observerArch{observer: o, arch: a}
		o.self = oa
		return oa
	}
	return o
}

// weightName maps a name given to Backend.Weight to the GGUF tensor it belongs to, and
// says whether this part stands for the whole: a fused tensor loaded as row ranges
// ("name[lo:hi]") is one product in llama.cpp, counted once (its first part).
func weightName(name string) (string, bool) {
	i := strings.LastIndexByte(name, '[')
	if i < 0 || !strings.HasSuffix(name, "]") {
		return name, true
	}
	lo, _, ok := strings.Cut(name[i+1:len(name)-1], ":")
	if !ok {
		return name, true
	}
	n, err := strconv.Atoi(lo)
	if err != nil {
		return name, true
	}
	return name[:i], n == 0
}

func (c *Collector) observe(b backend.Backend, w, x backend.Tensor) {
	full, ok := c.names[w]
	if !ok || c.err != nil {
		return
	}
	name, whole := weightName(full)
	if !whole || x.Rows() < MinRows {
		return
	}
	if !strings.HasPrefix(name, "blk.") && !(c.ProcessOutput && name == "output.weight") {
		return
	}
	rows, cols := x.Rows(), x.Cols()
	if cap(c.buf) < rows*cols {
		c.buf = make([]float32, rows*cols)
	}
	buf := c.buf[:rows*cols]
	b.Read(x, buf)
	s := c.stats[name]
	if s == nil {
		s = &stats{sum: make([]float32, cols)}
		c.stats[name] = s
		c.order = append(c.order, name)
	} else if len(s.sum) != cols {
		c.err = fmt.Errorf("imatrix: %s multiplied by rows of %d values, earlier %d", name, cols, len(s.sum))
		return
	}
	s.ncall++
	for r := 0; r < rows; r++ {
		row := buf[r*cols : (r+1)*cols]
		for j, v := range row {
			s.sum[j] += float32(v * v) // rounded product, as imatrix.cpp (no FMA, also on arm64)
		}
	}
	for j, v := range s.sum {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			c.err = fmt.Errorf("imatrix: %v in the sums of %s (column %d)", v, name, j)
			return
		}
	}
	s.rows += int64(rows)
}

// Matrix returns the collected entries as llama-imatrix saves them: each column's mean
// square times the entry's call count, in float32; Chunks is the largest call count.
func (c *Collector) Matrix(dataset string) *Matrix {
	m := &Matrix{Dataset: dataset}
	for _, name := range c.order {
		s := c.stats[name]
		if s.rows == 0 {
			continue // no data: llama-imatrix skips such entries
		}
		vals := make([]float32, len(s.sum))
		for j, v := range s.sum {
			vals[j] = (v / float32(s.rows)) * float32(s.ncall)
		}
		m.Entries = append(m.Entries, Entry{Name: name, NCall: s.ncall, Values: vals})
		m.Chunks = max(m.Chunks, s.ncall)
	}
	return m
}

// observer is the wrapping backend; self is the outermost wrapper, on which the fused
// compositions run (with ArchOps where the wrapped backend has them).
type observer struct {
	backend.Backend
	c    *Collector
	self backend.Backend
}

func (o *observer) Name() string { return o.Backend.Name() }

func (o *observer) Weight(name string, dt tensor.DType, rows, cols int, data []byte) (backend.Tensor, error) {
	t, err := o.Backend.Weight(name, dt, rows, cols, data)
	if err == nil {
		o.c.names[t] = name
	}
	return t, err
}

func (o *observer) MatMul(dst, w, x backend.Tensor) {
	o.c.observe(o.Backend, w, x)
	o.Backend.MatMul(dst, w, x)
}

func (o *observer) NormMatMul(dst, w [3]backend.Tensor, x, norm backend.Tensor, eps float32, xn backend.Tensor) {
	backend.NormMatMul(o.self, dst, w, x, norm, eps, xn)
}

func (o *observer) NormSwiGLU(dst, gate, up, x, norm backend.Tensor, eps float32, xn, u backend.Tensor) {
	backend.NormSwiGLU(o.self, dst, gate, up, x, norm, eps, xn, u)
}

func (o *observer) MatMulAdd(dst, w, x, tmp backend.Tensor) {
	backend.MatMulAdd(o.self, dst, w, x, tmp)
}

func (o *observer) NormAttention(dst, x, norm backend.Tensor, eps float32, p backend.QKV, xn backend.Tensor,
	cache backend.KVCache, pos []int32, rope backend.RopeParams, ap backend.AttentionParams) {
	backend.NormAttention(o.self, dst, x, norm, eps, p, xn, cache, pos, rope, ap)
}

// observerArch is observer over a backend with ArchOps, which it passes through.
type observerArch struct {
	*observer
	arch backend.ArchOps
}

func (o *observerArch) Scale(x backend.Tensor, s float32)   { o.arch.Scale(x, s) }
func (o *observerArch) AddRow(dst, x, bias backend.Tensor)  { o.arch.AddRow(dst, x, bias) }
func (o *observerArch) GeGLU(dst, gate, up backend.Tensor)  { o.arch.GeGLU(dst, gate, up) }
func (o *observerArch) SoftCap(x backend.Tensor, c float32) { o.arch.SoftCap(x, c) }
