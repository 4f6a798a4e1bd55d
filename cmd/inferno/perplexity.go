package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"

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
	var file string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "perplexity",
		Short:   "Measure perplexity over a text file, as llama-perplexity does",
		Example: `  inferno perplexity -m ../shared/refdata/models/stories260K.gguf -f ../shared/refdata/reference/story.txt --ctx 128`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			text, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			if err := mf.applyConfig(cmd); err != nil {
				return err
			}
			if mf.ctx == 0 {
				return fmt.Errorf("--ctx is required for perplexity")
			}
			m, err := mf.load(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer m.Close()
			pr := newProgress(cmd.ErrOrStderr(), "perplexity")
			res, err := perplexity(m, string(text), mf.ctx, func(i, n int, ppl float64) {
				pr.update(i, n, fmt.Sprintf("running PPL %.4f", ppl))
			})
			if err != nil {
				return err
			}
			if asJSON {
				j := struct { // the outer fields take the place of the embedded ones
					*PerplexityResult
					PPL       jsonFloat64   `json:"ppl"`
					StdErr    jsonFloat64   `json:"ppl_stderr"`
					ChunkPPLs []jsonFloat64 `json:"chunk_ppls"`
				}{PerplexityResult: res, PPL: jsonFloat64(res.PPL), StdErr: jsonFloat64(res.StdErr)}
				for _, p := range res.ChunkPPLs {
					j.ChunkPPLs = append(j.ChunkPPLs, jsonFloat64(p))
				}
				b, err := json.MarshalIndent(j, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "PPL = %.4f +/- %.5f (%d chunks of %d tokens, %d scored)\n", res.PPL, res.StdErr, res.Chunks, res.Ctx, res.Scored)
			return nil
		},
	}
	mf.register(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "text file (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (a NaN or infinite perplexity as the string \"NaN\", \"+Inf\" or \"-Inf\")")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}
