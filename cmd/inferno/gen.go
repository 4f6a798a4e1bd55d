package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/inferno-go/inferno/gen"
	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/atomicfile"
	"github.com/inferno-go/inferno/quant"
	"github.com/spf13/cobra"
)

// interruptContext is the context a command that writes files runs under: SIGINT and
// SIGTERM cancel it, so the command can remove what it had not finished.
func interruptContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// verifyGGUF parses a written model file's header and tensor table before it gets its
// final name.
func verifyGGUF(path string) error {
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}

func newGenCmd() *cobra.Command {
	var preset, typ, vocabFrom, out string
	var seed uint64
	var threads int
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Write a model of a real model's shape with random weights (for benchmarks)",
		Example: `  inferno gen --preset tinyllama-1.1b --type Q4_K_M --vocab-from ../shared/refdata/vocab/ggml-vocab-llama-spm.gguf -o tinyllama-Q4_K_M.gguf
  inferno gen --preset llama-2-7b --type Q8_0 -o l7b.gguf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if threads < 0 {
				return fmt.Errorf("--threads %d must be >= 0", threads)
			}
			if vocabFrom != "" {
				if err := atomicfile.CheckNotInput(out, vocabFrom); err != nil {
					return err
				}
			}
			p, err := gen.FindPreset(preset)
			if err != nil {
				return fmt.Errorf("--preset: %w", err)
			}
			ft, err := quant.ParseFType(typ)
			if err != nil {
				return fmt.Errorf("--type: %w", err)
			}
			var vocab *gguf.File
			if vocabFrom != "" {
				if vocab, err = gguf.Open(vocabFrom); err != nil {
					return fmt.Errorf("--vocab-from: %w", err)
				}
				defer vocab.Close()
			}
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			start := time.Now()
			stderr := cmd.ErrOrStderr()
			pr := newProgress(stderr, "gen")
			err = atomicfile.Write(ctx, out, func(w io.Writer) error {
				return gen.Write(p, ft, w, gen.Options{Context: ctx, Seed: seed, Vocab: vocab, Threads: threads, Progress: pr.update})
			}, verifyGGUF)
			if err != nil {
				return err
			}
			st, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "wrote %s: %s %s, %.1f MiB in %.1fs\n", out, p.Name, ft.Name, float64(st.Size())/(1<<20), time.Since(start).Seconds())
			return nil
		},
	}
	cmd.Flags().StringVar(&preset, "preset", "", "model shape: tinyllama-1.1b, llama-2-7b, llama-3.2-1b, mistral-7b, stories-260k")
	cmd.Flags().StringVar(&typ, "type", "Q4_K_M", "weight type or llama.cpp mix (Q4_K_M, Q8_0, Q4_0, F16, ...)")
	cmd.Flags().StringVar(&vocabFrom, "vocab-from", "", "copy the tokenizer from this GGUF (its token count must match the preset)")
	cmd.Flags().Uint64Var(&seed, "seed", 42, "random seed (the same seed gives the same file)")
	cmd.Flags().IntVarP(&threads, "threads", "t", 2, "threads (0: one)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (required)")
	_ = cmd.MarkFlagRequired("preset")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func newQuantizeCmd() *cobra.Command {
	var threads int
	var imatrixFile string
	cmd := &cobra.Command{
		Use:   "quantize IN OUT TYPE",
		Short: "Convert a model to another weight type or llama.cpp mix, as llama-quantize does",
		Long: `Convert a model to another weight type or llama.cpp mix, as llama-quantize does: the same
per-tensor types, bytes and metadata.

With --imatrix FILE (an importance matrix in llama.cpp's format, from llama-imatrix or
inferno imatrix) every tensor that has an entry is quantized with its importance weights,
the mixes choose as llama-quantize does with one, and the file's name, dataset and counts
are recorded under quantize.imatrix.*. IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S and Q2_K_S
need one.`,
		Example: `  inferno quantize model-F16.gguf model-Q4_K_M.gguf Q4_K_M
  inferno quantize --imatrix model.imatrix model-F16.gguf model-IQ2_M.gguf IQ2_M
  inferno quantize ../shared/refdata/models/qmini/qmini-F32.gguf q.gguf Q5_K_S --threads 2`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, out := args[0], args[1]
			if threads < 0 {
				return fmt.Errorf("--threads %d must be >= 0", threads)
			}
			ft, err := quant.ParseFType(args[2])
			if err != nil {
				return err
			}
			if err := atomicfile.CheckNotInput(out, in); err != nil {
				return err
			}
			var im *quant.Imatrix
			if imatrixFile != "" {
				if err := atomicfile.CheckNotInput(out, imatrixFile); err != nil {
					return err
				}
				if im, err = quant.LoadImatrix(imatrixFile); err != nil {
					return err
				}
			}
			src, err := gguf.Open(in)
			if err != nil {
				return err
			}
			defer src.Close()
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			stderr := cmd.ErrOrStderr()
			start := time.Now()
			pr := newProgress(stderr, "quantize")
			var plan *quant.Plan
			err = atomicfile.Write(ctx, out, func(w io.Writer) error {
				var qerr error
				plan, qerr = quant.Quantize(src, ft, w, quant.Options{Context: ctx, Threads: threads, Progress: pr.update, Imatrix: im})
				return qerr
			}, verifyGGUF)
			if err != nil {
				return err
			}
			counts := map[string]int{}
			for _, t := range plan.Types {
				counts[t.String()]++
			}
			st, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "wrote %s (%s, %.2f MiB) in %.1fs: %v\n", out, ft.Name, float64(st.Size())/(1<<20), time.Since(start).Seconds(), counts)
			if im != nil {
				fmt.Fprintf(stderr, "importance weights from %s (%d entries) used for %d tensors\n", imatrixFile, len(im.Weights), len(plan.Weights))
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&threads, "threads", "t", 0, "threads (0: all cores)")
	cmd.Flags().StringVar(&imatrixFile, "imatrix", "", "importance matrix file (llama.cpp's format) to quantize with")
	return cmd
}
