package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/inferno-go/inferno/bench"
	"github.com/spf13/cobra"
)

func newBenchCmd() *cobra.Command {
	var mf modelFlags
	var iters, warmup, tokens, promptTokens int
	var outJSON, format, compare string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure prompt processing (ppN) and generation (tgN) speed, like llama-bench",
		Example: `  inferno bench -m tinyllama-Q4_K_M.gguf --threads 2
  inferno bench -m model.gguf --prompt-tokens 512 --tokens 128 --iterations 5 --format md
  inferno bench -m model.gguf --compare ../shared/refdata/bench/llama-bench_tinyllama-shape-Q4_K_M_t2.json --output-json ours.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case iters < 1:
				return fmt.Errorf("--iterations %d must be >= 1", iters)
			case warmup < 0:
				return fmt.Errorf("--warmup %d must be >= 0", warmup)
			case tokens < 0 || promptTokens < 0 || tokens+promptTokens == 0:
				return fmt.Errorf("--tokens %d and --prompt-tokens %d: both >= 0, not both 0", tokens, promptTokens)
			}
			switch format {
			case "text", "json", "md", "csv":
			default:
				return fmt.Errorf("--format %q: want text, json, md or csv", format)
			}
			var ref []bench.LlamaBenchResult
			if compare != "" {
				var err error
				if ref, err = bench.LoadLlamaBench(compare); err != nil {
					return fmt.Errorf("--compare: %w", err)
				}
			}
			if outJSON != "" {
				if err := checkOutputPath("--output-json", outJSON); err != nil {
					return err
				}
			}
			if err := mf.applyConfig(cmd); err != nil {
				return err
			}
			if !cmd.Flags().Changed("ctx") {
				mf.ctx = max(promptTokens, tokens+1)
			}
			stderr := cmd.ErrOrStderr()
			m, err := mf.load(stderr)
			if err != nil {
				return err
			}
			defer m.Close()
			rep, err := bench.Run(m, bench.Options{Iterations: iters, Warmup: warmup, PromptTokens: promptTokens,
				GenTokens: tokens, Version: version, Progress: func(s string) { fmt.Fprintln(logWriter(stderr), s) }})
			if err != nil {
				return err
			}
			if outJSON != "" {
				if err := writeJSONFile(outJSON, rep); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				b, _ := json.MarshalIndent(rep, "", "  ")
				fmt.Fprintln(out, string(b))
			case "csv":
				w := csv.NewWriter(out)
				w.Write([]string{"model", "backend", "threads", "test", "mean_ts", "stddev_ts", "min_ts", "median_ts", "max_ts", "bandwidth_fraction"})
				for _, r := range rep.Results {
					s := r.TokensPerSec
					w.Write([]string{rep.Model.Path, rep.System.Backend, fmt.Sprint(rep.System.Threads), r.Test,
						f2(s.Mean), f2(s.StdDev), f2(s.Min), f2(s.Median), f2(s.Max), fmt.Sprintf("%.3f", r.BandwidthFraction)})
				}
				w.Flush()
			default:
				writeBenchTable(out, rep, format == "md")
			}
			if len(ref) > 0 {
				fmt.Fprintln(out)
				for _, c := range bench.CompareWith(rep, ref) {
					fmt.Fprintf(out, "%-6s ours %.2f tok/s / llama.cpp %.2f ± %.2f tok/s = %.2fx\n", c.Test, c.Ours, c.LlamaCpp, c.LlamaCppSD, c.Ratio)
				}
			}
			return nil
		},
	}
	mf.register(cmd)
	cmd.Flags().IntVar(&iters, "iterations", 5, "timed repetitions of each test")
	cmd.Flags().IntVar(&warmup, "warmup", 1, "untimed repetitions first")
	cmd.Flags().IntVar(&tokens, "tokens", 128, "generated tokens in the tg test (0: skip it)")
	cmd.Flags().IntVar(&promptTokens, "prompt-tokens", 512, "prompt tokens in the pp test (0: skip it)")
	cmd.Flags().StringVar(&outJSON, "output-json", "", "also write the JSON report (docs/bench.md) to this file")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json, md or csv")
	cmd.Flags().StringVar(&compare, "compare", "", "llama-bench -o json output to compare against")
	return cmd
}

func f2(x float64) string { return fmt.Sprintf("%.2f", x) }

func writeBenchTable(w io.Writer, rep *bench.Report, md bool) {
	var mix []string
	for t, n := range rep.Model.TypeMix {
		mix = append(mix, fmt.Sprintf("%s×%d", t, n))
	}
	sort.Strings(mix)
	fmt.Fprintf(w, "model: %s (%.1f MiB, %.2fM params, %.2f bpw, %s)\n", rep.Model.Path, float64(rep.Model.SizeBytes)/(1<<20),
		float64(rep.Model.Params)/1e6, rep.Model.BitsPerWeight, strings.Join(mix, " "))
	gpu := ""
	if rep.System.DeviceBandwidthGB > 0 {
		gpu = fmt.Sprintf(", GPU memory %.0f GB/s (peak; the BW column's limit)", rep.System.DeviceBandwidthGB)
	}
	fmt.Fprintf(w, "system: %s, backend %s, %d threads, memory read %.1f GB/s%s, load %.0f ms, peak RSS %.0f MiB, inferno %s\n",
		rep.System.CPU, rep.System.Backend, rep.System.Threads, rep.System.MemBandwidthGB, gpu, rep.LoadMS, float64(rep.PeakRSSBytes)/(1<<20), rep.System.Version)
	if md {
		fmt.Fprintln(w, "\n| test | t/s (mean ± sd) | min | median | max | of bandwidth limit |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|")
	} else {
		fmt.Fprintf(w, "\n%-7s %18s %9s %9s %9s %12s\n", "test", "t/s mean ± sd", "min", "median", "max", "of BW limit")
	}
	for _, r := range rep.Results {
		s := r.TokensPerSec
		frac := "-"
		if r.BandwidthFraction > 0 {
			frac = fmt.Sprintf("%.0f%%", 100*r.BandwidthFraction)
		}
		if md {
			fmt.Fprintf(w, "| %s | %.2f ± %.2f | %.2f | %.2f | %.2f | %s |\n", r.Test, s.Mean, s.StdDev, s.Min, s.Median, s.Max, frac)
		} else {
			fmt.Fprintf(w, "%-7s %10.2f ± %5.2f %9.2f %9.2f %9.2f %12s\n", r.Test, s.Mean, s.StdDev, s.Min, s.Median, s.Max, frac)
		}
	}
}
