package quant

import (
	"fmt"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/quant/imatrix"
)

// Imatrix is an importance matrix as llama-quantize loads it (quantize.cpp's
// load_imatrix): per tensor name, one weight per column (per expert and column for a
// 3-D tensor), the stored sums divided by their call count; a name given twice keeps
// its last entry.
type Imatrix struct {
	File    string // the path as given: quantize.imatrix.file
	Dataset string // the text it was computed on, "" when the file does not say
	Chunks  int32  // chunks it was computed on, 0 when the file does not say
	Weights map[string][]float32
}

// LoadImatrix reads an importance matrix file (llama.cpp's legacy format).
func LoadImatrix(path string) (*Imatrix, error) {
	m, err := imatrix.ReadFile(path)
	if err != nil {
		return nil, err
	}
	im := &Imatrix{File: path, Dataset: m.Dataset, Chunks: m.Chunks, Weights: map[string][]float32{}}
	for _, e := range m.Entries {
		im.Weights[e.Name] = e.Weights()
	}
	return im, nil
}

// weightsFor returns the importance weights llama-quantize hands to the quantizer of
// t: its entry when the entry's length is the tensor's row length times its experts,
// nil when there is none. Another length is an error, except for token_embd.weight,
// which llama-quantize then quantizes without weights.
func (im *Imatrix) weightsFor(t Tensor) ([]float32, error) {
	if im == nil {
		return nil, nil
	}
	w, ok := im.Weights[t.Name]
	if !ok {
		return nil, nil
	}
	want := t.Dims[0]
	if len(t.Dims) > 2 {
		want *= t.Dims[2]
	}
	if uint64(len(w)) != want {
		if t.Name == "token_embd.weight" {
			return nil, nil
		}
		return nil, fmt.Errorf("imatrix %s: entry %s has %d values, the tensor (shape %v) needs %d (row length × experts); was the imatrix computed for another model?",
			im.File, t.Name, len(w), t.Dims, want)
	}
	return w, nil
}

// setMetadata records the importance matrix in the output's metadata as
// llama-quantize does (kv overrides set after general.file_type, in this order):
// the file name (at most 127 bytes), the dataset when known, the entry count and,
// when known, the chunk count, the counts as int32.
func (im *Imatrix) setMetadata(out *gguf.Writer) error {
	clip := func(s string) string {
		if len(s) > 127 {
			return s[:127]
		}
		return s
	}
	if err := out.SetAny(KeyImatrixFile, clip(im.File)); err != nil {
		return err
	}
	if im.Dataset != "" {
		if err := out.SetAny(KeyImatrixDataset, clip(im.Dataset)); err != nil {
			return err
		}
	}
	if err := out.SetAny(KeyImatrixEntries, int32(len(im.Weights))); err != nil {
		return err
	}
	if im.Chunks > 0 {
		return out.SetAny(KeyImatrixChunks, im.Chunks)
	}
	return nil
}

// The metadata keys llama-quantize writes for an importance matrix.
const (
	KeyImatrixFile    = "quantize.imatrix.file"
	KeyImatrixDataset = "quantize.imatrix.dataset"
	KeyImatrixEntries = "quantize.imatrix.entries_count"
	KeyImatrixChunks  = "quantize.imatrix.chunks_count"
)
