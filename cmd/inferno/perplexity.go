package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/inferno-go/inferno/internal/atomicfile"
	"github.com/inferno-go/inferno/modelcache"

	"github.com/inferno-go/inferno"
	"github.com/spf13/cobra"
)

// PerplexityResult is llama-perplexity's measure over a text.
type PerplexityResult struct {
	PPL       float64   `json:"ppl"`
	StdErr    float64   `json:"ppl_stderr"`
	Chunks    int       `json:"chunks"`
	Ctx       int       `json:"ctx"`
	Scored    int       `json:"scored_tokens"`
	Tokens    int       `json:"tokens"`
	ChunkPPLs []float64 `json:"chunk_ppls"`
}

// perplexity follows llama-perplexity: the whole text is tokenized with BOS and cut
// into floor(n/ctx) chunks of ctx tokens; each chunk starts with BOS in place of its
// first token and is evaluated on an empty cache; the logits at positions ctx/2 ..
// ctx-2 score the next token. PPL = exp(mean NLL); the error is exp(mean) * the
// standard error of the NLLs.
func perplexity(m *inferno.Model, text string, ctx int, progress func(i, n int, ppl float64)) (*PerplexityResult, error) {
	toks := m.Tokenize(text)
	if ctx < 4 {
		return nil, fmt.Errorf("--ctx %d is too small", ctx)
	}
	nChunk := len(toks) / ctx
	if nChunk == 0 {
		return nil, fmt.Errorf("the text has %d tokens, fewer than one chunk of --ctx %d", len(toks), ctx)
	}
	if ctx > m.ContextSize() {
		return nil, fmt.Errorf("--ctx %d exceeds the model context %d", ctx, m.ContextSize())
	}
	res := &PerplexityResult{Chunks: nChunk, Ctx: ctx, Tokens: len(toks)}
	var nll, nll2 float64
	first := ctx / 2
	bos := m.Tokenizer().BOS
	s, err := m.NewSession()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	for c := 0; c < nChunk; c++ {
		chunk := append([]int32(nil), toks[c*ctx:(c+1)*ctx]...)
		if bos >= 0 {
			chunk[0] = bos
		}
		s.Reset()
		logits, err := s.EvalAll(context.Background(), chunk)
		if err != nil {
			return nil, err
		}
		nv := len(logits) / ctx
		var cnll float64
		for j := first; j < ctx-1; j++ {
			row := logits[j*nv : (j+1)*nv]
			v := -logSoftmax(row, int(chunk[j+1]))
			nll += v
			nll2 += v * v
			cnll += v
			res.Scored++
		}
		res.ChunkPPLs = append(res.ChunkPPLs, math.Exp(cnll/float64(ctx-1-first)))
		if progress != nil {
			progress(c+1, nChunk, math.Exp(nll/float64(res.Scored)))
		}
	}
	n := float64(res.Scored)
	mean := nll / n
	res.PPL = math.Exp(mean)
	if res.Scored > 1 {
		v := nll2/n - mean*mean
		res.StdErr = res.PPL * math.Sqrt(max(v, 0)/(n-1))
	}
	return res, nil
}

func logSoftmax(row []float32, tok int) float64 {
	maxL := row[0]
	for _, v := range row {
		maxL = max(maxL, v)
	}
	var sum float64
	for _, v := range row {
		sum += math.Exp(float64(v - maxL))
	}
	return float64(row[tok]-maxL) - math.Log(sum)
}

func newPerplexityCmd() *cobra.Command {
	var mf modelFlags
	var file, kldBase, outJSON string
	var asJSON, kldCompare bool
	cmd := &cobra.Command{
		Use:   "perplexity",
		Short: "Measure perplexity over a text file, or KL divergence against a base model, as llama-perplexity does",
		Example: `  inferno perplexity -m ../shared/refdata/models/stories260K.gguf -f ../shared/refdata/reference/story.txt --ctx 128
  inferno perplexity -m stories260K.gguf -f story.txt --ctx 128 --kl-divergence-base base.kld
  inferno perplexity -m stories260K-Q4_K_M-mixed.gguf --kl-divergence-base base.kld --kl-divergence`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case kldCompare && kldBase == "":
				return fmt.Errorf("--kl-divergence needs --kl-divergence-base FILE (the base model's log-probabilities)")
			case kldCompare && file != "":
				return fmt.Errorf("--kl-divergence reads its tokens from the --kl-divergence-base file; -f is not used with it")
			case !kldCompare && file == "":
				return fmt.Errorf("-f/--file is required")
			}
			if outJSON != "" {
				if err := checkOutputPath("--output-json", outJSON); err != nil {
					return err
				}
			}
			if err := mf.applyConfig(cmd); err != nil {
				return err
			}
			if kldCompare {
				return runKLDivergence(cmd, &mf, kldBase, asJSON, outJSON)
			}
			text, err := readPromptFile(file)
			if err != nil {
				return err
			}
			if mf.ctx == 0 {
				return fmt.Errorf("--ctx is required for perplexity")
			}
			if kldBase != "" {
				path, err := modelcache.Resolve(mf.model)
				if err != nil {
					return err
				}
				if err := atomicfile.CheckNotInput(kldBase, path, file); err != nil {
					return err
				}
			}
			mf.llamaOrder = true
			m, err := mf.load(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer m.Close()
			pr := newProgress(cmd.ErrOrStderr(), "perplexity")
			progress := func(i, n int, ppl float64) { pr.update(i, n, fmt.Sprintf("running PPL %.4f", ppl)) }
			var res *PerplexityResult
			if kldBase != "" {
				ctx, stop := interruptContext(cmd.Context())
				defer stop()
				err = atomicfile.Write(ctx, kldBase, func(w io.Writer) error {
					res, err = writeKLDBase(ctx, m, m.Tokenize(text), mf.ctx, w, progress)
					return err
				}, func(tmp string) error { return verifyKLDFile(tmp, m.HParams().NVocab) })
			} else {
				res, err = perplexity(m, text, mf.ctx, progress)
			}
			if err != nil {
				return err
			}
			if asJSON || outJSON != "" {
				j := struct { // the outer fields take the place of the embedded ones
					*PerplexityResult
					PPL       jsonFloat64   `json:"ppl"`
					StdErr    jsonFloat64   `json:"ppl_stderr"`
					ChunkPPLs []jsonFloat64 `json:"chunk_ppls"`
				}{PerplexityResult: res, PPL: jsonFloat64(res.PPL), StdErr: jsonFloat64(res.StdErr)}
				for _, p := range res.ChunkPPLs {
					j.ChunkPPLs = append(j.ChunkPPLs, jsonFloat64(p))
				}
				if outJSON != "" {
					if err := writeJSONFile(outJSON, j); err != nil {
						return err
					}
				}
				if asJSON {
					b, err := json.MarshalIndent(j, "", "  ")
					if err != nil {
						return err
					}
					fmt.Fprintln(cmd.OutOrStdout(), string(b))
					return nil
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "PPL = %.4f +/- %.5f (%d chunks of %d tokens, %d scored)\n", res.PPL, res.StdErr, res.Chunks, res.Ctx, res.Scored)
			return nil
		},
	}
	mf.register(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "text file (required, except with --kl-divergence)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (a NaN or infinite perplexity as the string \"NaN\", \"+Inf\" or \"-Inf\")")
	cmd.Flags().StringVar(&outJSON, "output-json", "", "also write the result as JSON to this file")
	cmd.Flags().StringVar(&kldBase, "kl-divergence-base", "", "with -f: write the model's log-probabilities to this file (llama-perplexity's format); with --kl-divergence: read them")
	cmd.Flags().BoolVar(&kldCompare, "kl-divergence", false, "compare the model with the --kl-divergence-base file: KL divergence, perplexity ratio, token probability statistics")
	return cmd
}

// verifyKLDFile checks a written base file's header and length before it gets its name.
func verifyKLDFile(path string, nVocab int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h, err := readKLDHeader(bufio.NewReader(f), st.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if h.NVocab != nVocab {
		return fmt.Errorf("%s: wrote a vocabulary of %d, the model has %d", path, h.NVocab, nVocab)
	}
	return nil
}

// runKLDivergence is perplexity --kl-divergence: the model runs with the base file's
// context; the per-chunk lines go to stderr, the statistics to stdout.
func runKLDivergence(cmd *cobra.Command, mf *modelFlags, base string, asJSON bool, outJSON string) error {
	f, err := os.Open(base)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	h, err := readKLDHeader(bufio.NewReader(f), st.Size())
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", base, err)
	}
	if cmd.Flags().Changed("ctx") && mf.ctx != h.NCtx {
		return fmt.Errorf("--ctx %d: %s was computed with a context of %d tokens", mf.ctx, base, h.NCtx)
	}
	mf.ctx = h.NCtx
	mf.llamaOrder = true
	m, err := mf.load(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer m.Close()
	ctx, stop := interruptContext(cmd.Context())
	defer stop()
	stderr := cmd.ErrOrStderr()
	res, err := compareKLD(ctx, m, base, func(line string) {
		fmt.Fprintf(stderr, "\nchunk             PPL               ln(PPL(Q)/PPL(base))          KL Divergence              Δp RMS            Same top p\n%s\n", line)
	})
	if err != nil {
		return err
	}
	if outJSON != "" {
		if err := writeJSONFile(outJSON, res); err != nil {
			return err
		}
	}
	if asJSON {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), string(b))
		return nil
	}
	printKLD(cmd.OutOrStdout(), res)
	return nil
}
