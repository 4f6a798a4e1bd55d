package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/atomicfile"
	"github.com/inferno-go/inferno/internal/machine"
	"github.com/inferno-go/inferno/model/llama"
	"github.com/inferno-go/inferno/modelcache"
	"github.com/inferno-go/inferno/quant/imatrix"
	"github.com/inferno-go/inferno/tokenizer"
	"github.com/spf13/cobra"
)

// readPromptFile reads a text as llama.cpp's -f does: the whole file, less one final
// newline.
func readPromptFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// imatrixOptions are inferno imatrix's inputs.
type imatrixOptions struct {
	ctx, batch, chunks, threads int
	processOutput               bool
	dataset                     string // the name the file records for the text
}

// imatrixResult is what computeImatrix measured besides the matrix: llama-imatrix's
// perplexity of the second half of each chunk.
type imatrixResult struct {
	Matrix    *imatrix.Matrix
	Chunks    int
	Tokens    int
	PPL, Err  float64
	ChunkPPLs []float64 // running estimate after each chunk, as llama-imatrix prints it
}

// computeImatrix follows llama-imatrix (examples/imatrix/imatrix.cpp, compute_imatrix):
// the text tokenized with BOS (special texts not parsed), floor(n/ctx) chunks (at most
// --chunks), each evaluated from an empty cache in batches of min(batch, ctx) with BOS in
// place of its first token; every block's matrix product of at least 16 rows adds its
// input rows' squares to that weight's sums. The model runs on the CPU, through the
// collector's wrapper.
func computeImatrix(ctx context.Context, modelPath, text string, o imatrixOptions, progress func(i, n int, ppl float64)) (*imatrixResult, error) {
	f, err := gguf.Open(modelPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tk, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelPath, err)
	}
	if tk.AddEOS {
		return nil, fmt.Errorf("%s: the vocabulary adds EOS, which llama-imatrix refuses", modelPath)
	}
	toks := tk.Encode(text, true, false)
	if o.ctx < 4 {
		return nil, fmt.Errorf("--ctx %d is too small", o.ctx)
	}
	if len(toks) < 2*o.ctx {
		return nil, fmt.Errorf("the text has %d tokens; --ctx %d needs at least %d", len(toks), o.ctx, 2*o.ctx)
	}
	nChunk := len(toks) / o.ctx
	if o.chunks > 0 {
		nChunk = min(nChunk, o.chunks)
	}
	batch := o.ctx
	if o.batch > 0 {
		batch = min(o.batch, o.ctx)
	}
	b := cpu.New(o.threads)
	defer b.Close()
	b.SetLlamaBatchOrder(true) // llama-imatrix's values to the last bit
	col := imatrix.NewCollector()
	col.ProcessOutput = o.processOutput
	m, err := llama.Load(col.Wrap(b), f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelPath, err)
	}
	defer m.Close()
	if tk.Len() != m.NVocab {
		return nil, fmt.Errorf("%s: tokenizer has %d tokens, model %d", modelPath, tk.Len(), m.NVocab)
	}
	st, err := m.NewState(o.ctx, batch, false)
	if err != nil {
		return nil, err
	}
	defer st.Release()
	res := &imatrixResult{Chunks: nChunk, Tokens: len(toks)}
	first := o.ctx / 2
	var nll, nll2 float64
	count := 0
	pos := make([]int32, o.ctx)
	for i := range pos {
		pos[i] = int32(i)
	}
	for c := 0; c < nChunk; c++ {
		chunk := append([]int32(nil), toks[c*o.ctx:(c+1)*o.ctx]...)
		if tk.AddBOS && tk.BOS >= 0 {
			chunk[0] = tk.BOS
		}
		// Forward splits the chunk into batches of `batch` tokens; a fresh position 0
		// overwrites the cache, so no reset is needed between chunks.
		logits, _, err := st.Forward(ctx, chunk, pos, llama.AllLogits)
		if err != nil {
			return nil, err
		}
		if err := col.Err(); err != nil {
			return nil, err
		}
		nv := m.NVocab
		for j := first; j < o.ctx-1; j++ {
			v := -logSoftmax(logits[j*nv:(j+1)*nv], int(chunk[j+1]))
			nll += v
			nll2 += v * v
			count++
		}
		res.ChunkPPLs = append(res.ChunkPPLs, math.Exp(nll/float64(count)))
		if progress != nil {
			progress(c+1, nChunk, math.Exp(nll/float64(count)))
		}
	}
	mean := nll / float64(count)
	res.PPL = math.Exp(mean)
	if v := nll2/float64(count) - mean*mean; v > 0 && count > 1 {
		res.Err = math.Sqrt(v/float64(count-1)) * res.PPL
	}
	res.Matrix = col.Matrix(o.dataset)
	if len(res.Matrix.Entries) == 0 {
		return nil, fmt.Errorf("%s: no matrix product was collected (batches shorter than %d tokens?)", modelPath, imatrix.MinRows)
	}
	return res, nil
}

func newImatrixCmd() *cobra.Command {
	var model, file, out string
	var o imatrixOptions
	cmd := &cobra.Command{
		Use:     "imatrix",
		Short:   "Compute an importance matrix over a text, as llama-imatrix does (for quantize --imatrix)",
		Example: `  inferno imatrix -m ../shared/refdata/models/qmini/qmini-F32.gguf -f story.txt -o qmini-story.imatrix --ctx 128`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case o.threads < 0 || o.threads > machine.MaxThreads():
				return fmt.Errorf("--threads %d must be between 0 and %d", o.threads, machine.MaxThreads())
			case o.chunks < 0:
				return fmt.Errorf("--chunks %d must be >= 0", o.chunks)
			case o.batch <= 0:
				return fmt.Errorf("--batch %d must be > 0", o.batch)
			}
			path, err := modelcache.Resolve(model)
			if err != nil {
				return err
			}
			if err := atomicfile.CheckNotInput(out, path, file); err != nil {
				return err
			}
			text, err := readPromptFile(file)
			if err != nil {
				return err
			}
			// llama-imatrix records the -f argument as given (the reference files were
			// made in the text's folder, so they hold a bare name).
			o.dataset = file
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			stderr := cmd.ErrOrStderr()
			pr := newProgress(stderr, "imatrix")
			res, err := computeImatrix(ctx, path, text, o, func(i, n int, ppl float64) {
				pr.update(i, n, fmt.Sprintf("running PPL %.4f", ppl))
			})
			if err != nil {
				return err
			}
			err = atomicfile.Write(ctx, out, func(w io.Writer) error {
				return imatrix.Write(w, res.Matrix)
			}, func(tmp string) error {
				_, err := imatrix.ReadFile(tmp)
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Final estimate: PPL = %.4f +/- %.5f\n", res.PPL, res.Err)
			fmt.Fprintf(stderr, "wrote %s: %d entries, %d chunks of %d tokens (%d tokens in the text)\n", out, len(res.Matrix.Entries), res.Chunks, o.ctx, res.Tokens)
			return nil
		},
	}
	cmd.Flags().StringVarP(&model, "model", "m", "", "GGUF model file, or the name of a model in the cache (required)")
	cmd.Flags().StringVarP(&file, "file", "f", "", "text file (required)")
	cmd.Flags().StringVarP(&out, "output", "o", "imatrix.dat", "importance matrix file to write")
	cmd.Flags().IntVar(&o.ctx, "ctx", 512, "tokens per chunk (llama-imatrix -c)")
	cmd.Flags().IntVar(&o.batch, "batch", 2048, "tokens per forward pass, at most --ctx (llama-imatrix -b)")
	cmd.Flags().IntVar(&o.chunks, "chunks", 0, "chunks to process (0: all)")
	cmd.Flags().IntVarP(&o.threads, "threads", "t", 0, "CPU threads (0: all cores)")
	cmd.Flags().BoolVar(&o.processOutput, "process-output", false, "also collect output.weight (llama-imatrix --process-output)")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}
