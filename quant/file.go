package quant

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/tensor"
)

// Options for Quantize.
type Options struct {
	Context  context.Context // when done, the conversion stops within a chunk of rows (nil: never)
	Threads  int
	Progress func(done, total int, name string) // called after each tensor
	// Imatrix, when not nil, is the importance matrix (llama-quantize --imatrix): its
	// weights go to every tensor that has an entry, it changes some mixes' choices and
	// it is recorded in the metadata.
	Imatrix *Imatrix
}

// ModelOf reads what the type rules need from a GGUF file.
func ModelOf(f *gguf.File) (Model, error) {
	arch, err := f.Arch()
	if err != nil {
		return Model{}, err
	}
	nl, err := f.Int(arch + ".block_count")
	if err != nil {
		return Model{}, err
	}
	nh, err := f.Int(arch + ".attention.head_count")
	if err != nil {
		return Model{}, err
	}
	nkv, err := f.IntOr(arch+".attention.head_count_kv", nh)
	if err != nil {
		return Model{}, err
	}
	return Model{NLayer: int(nl), NHead: int(nh), NKVHead: int(nkv)}, nil
}

// Plan is the per-tensor outcome of a quantization.
type Plan struct {
	Names []string // in output order
	Types map[string]tensor.DType
	// Weights are the importance weights of each tensor quantized with some.
	Weights map[string][]float32
}

// MakePlan decides every tensor's type and, given an importance matrix, its weights.
func MakePlan(src *gguf.File, ft FType, im *Imatrix) (*Plan, error) {
	m, err := ModelOf(src)
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	orig := map[string]tensor.DType{}
	byName := map[string]*gguf.TensorInfo{}
	for i := range src.Tensors {
		t := &src.Tensors[i]
		p.Names = append(p.Names, t.Name)
		orig[t.Name] = t.Type
		byName[t.Name] = t
	}
	Order(p.Names)
	ts := make([]Tensor, len(p.Names))
	for i, n := range p.Names {
		ts[i] = Tensor{Name: n, Dims: byName[n].Dims}
	}
	p.Types, err = TypesImatrix(ts, ft, m, orig, im)
	if err != nil {
		return nil, err
	}
	p.Weights = map[string][]float32{}
	for _, t := range ts {
		if p.Types[t.Name] == orig[t.Name] {
			continue
		}
		w, err := im.weightsFor(t)
		if err != nil {
			return nil, err
		}
		if w != nil {
			p.Weights[t.Name] = w
		}
	}
	return p, nil
}

// keysSetByQuantize are the metadata keys Quantize sets itself and llama-quantize
// removes before appending (gguf_set_val_*), or drops (the split keys).
var keysSetByQuantize = []string{"general.quantization_version", "general.file_type", "split.no", "split.count", "split.tensors.count"}

// Quantize writes src converted to ft to w (a GGUF v3 file). A source truncated while
// it is read is an error wrapping gguf.ErrChanged.
func Quantize(src *gguf.File, ft FType, w io.Writer, opt Options) (_ *Plan, err error) {
	defer src.CatchFault(&err, debug.SetPanicOnFault(true)) // ForRows raises its goroutines' faults here
	plan, err := MakePlan(src, ft, opt.Imatrix)
	if err != nil {
		return nil, err
	}
	for _, name := range plan.Names {
		ti, _ := src.Tensor(name)
		for _, t := range []tensor.DType{ti.Type, plan.Types[name]} {
			if _, ok := tensor.CodecOf(t); !ok && ti.Type != plan.Types[name] {
				return nil, fmt.Errorf("tensor %s (%s -> %s): codec for %s not registered", name, ti.Type, plan.Types[name], t)
			}
		}
	}
	// llama-quantize's keys come last, in the order it sets them; a key the source
	// has too moves there.
	skip := map[string]bool{}
	for _, k := range keysSetByQuantize {
		skip[k] = true
	}
	if im := opt.Imatrix; im != nil {
		skip[KeyImatrixFile], skip[KeyImatrixEntries] = true, true
		skip[KeyImatrixDataset] = im.Dataset != ""
		skip[KeyImatrixChunks] = im.Chunks > 0
	}
	out := gguf.NewWriter()
	for _, kv := range src.KVs {
		if skip[kv.Key] {
			continue
		}
		if err := out.Set(kv.Key, kv.Value); err != nil {
			return nil, err
		}
	}
	out.SetAny("general.quantization_version", uint32(2))
	out.SetAny("general.file_type", ft.ID)
	if opt.Imatrix != nil {
		if err := opt.Imatrix.setMetadata(out); err != nil {
			return nil, err
		}
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	ctx := opt.Context
	if ctx == nil {
		ctx = context.Background()
	}
	done := 0
	for _, name := range plan.Names {
		ti, _ := src.Tensor(name)
		nt := plan.Types[name]
		data := src.TensorData(ti)
		name := name
		err := out.AddTensorFunc(name, nt, ti.Dims, func(w io.Writer) error {
			rowLen := int(ti.Dims[0])
			rowsPerMatrix := 1
			if len(ti.Dims) > 1 {
				rowsPerMatrix = int(ti.Dims[1])
			}
			b, err := ConvertWeighted(ctx, ti.Type, nt, data, rowLen, int(ti.NumElements()), threads, plan.Weights[name], rowsPerMatrix)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			_, err = w.Write(b)
			done++
			if opt.Progress != nil {
				opt.Progress(done, len(plan.Names), name)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if _, err := out.WriteTo(w); err != nil {
		return nil, err
	}
	return plan, nil
}

// Convert re-encodes n elements (rows of rowLen) from type from to type to, in parallel
// over rows, until ctx is done. Same type: the bytes are returned as they are.
func Convert(ctx context.Context, from, to tensor.DType, data []byte, rowLen, n, threads int) ([]byte, error) {
	return ConvertWeighted(ctx, from, to, data, rowLen, n, threads, nil, 1)
}

// ConvertWeighted is Convert with importance weights (nil: none): rowLen weights per
// matrix of rowsPerMatrix rows (a 3-D tensor's experts each have their own).
func ConvertWeighted(ctx context.Context, from, to tensor.DType, data []byte, rowLen, n, threads int, weights []float32, rowsPerMatrix int) ([]byte, error) {
	if weights != nil && (rowLen < 1 || rowsPerMatrix < 1 || len(weights)%rowLen != 0 || n/rowLen > len(weights)/rowLen*rowsPerMatrix) {
		return nil, fmt.Errorf("%d importance weights do not cover %d rows of %d in matrices of %d rows", len(weights), n/rowLen, rowLen, rowsPerMatrix)
	}
	if from == to {
		return data, nil
	}
	inRow, err := from.RowSize(rowLen)
	if err != nil {
		return nil, err
	}
	outRow, err := to.RowSize(rowLen)
	if err != nil {
		return nil, err
	}
	rows := n / rowLen
	out := make([]byte, rows*outRow)
	err = ForRows(ctx, rows, threads, func(lo, hi int) error {
		buf := make([]float32, rowLen)
		for r := lo; r < hi; r++ {
			if err := tensor.Dequantize(from, data[r*inRow:(r+1)*inRow], buf); err != nil {
				return err
			}
			var w []float32
			if weights != nil {
				m := r / rowsPerMatrix
				w = weights[m*rowLen : (m+1)*rowLen]
			}
			if err := tensor.QuantizeWeighted(to, buf, out[r*outRow:(r+1)*outRow], rowLen, w); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// forRowsChunk is the most rows one call of ForRows's fn gets, so that a cancellation
// is noticed within one chunk.
const forRowsChunk = 256

// ForRows runs fn over [0, rows) in chunks of at most forRowsChunk rows on threads
// goroutines, and returns the first error a call returned. Once a call failed or ctx is
// done (then ctx's error is returned), no further chunk starts. A panic in fn (a fault
// reading a file truncated under its mapping) is raised again in the caller once all
// goroutines are done.
func ForRows(ctx context.Context, rows, threads int, fn func(lo, hi int) error) error {
	threads = max(1, threads)
	chunk := max(1, min(forRowsChunk, (rows+threads-1)/threads))
	var next atomic.Int64 // first row of the next chunk
	var stop atomic.Bool
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		stop.Store(true)
	}
	var panicked any
	var wg sync.WaitGroup
	for range threads {
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					if panicked == nil {
						panicked = r
					}
					mu.Unlock()
					stop.Store(true)
				}
			}()
			debug.SetPanicOnFault(true)
			for !stop.Load() {
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= rows {
					return
				}
				if err := fn(lo, min(rows, lo+chunk)); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
	return firstErr
}
