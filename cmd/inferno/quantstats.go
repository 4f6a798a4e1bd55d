package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/plots"
	"github.com/inferno-go/inferno/modelcache"
	"github.com/inferno-go/inferno/quant/quantstats"
	"github.com/inferno-go/inferno/tensor"
	"github.com/spf13/cobra"
)

// maxKeptErrors bounds the per-tensor memory of the exact percentiles (4 bytes a value);
// larger tensors get the histogram's only.
const maxKeptErrors = 1 << 26

// ErrorStats is one tensor's (or one type's) round-trip error.
type ErrorStats struct {
	Tensor  string      `json:"tensor,omitempty"`
	Layer   int         `json:"layer"` // blk.N; -1: not in a block (or a type's total)
	N       int64       `json:"n"`
	RMSE    jsonFloat64 `json:"rmse"`
	MaxErr  jsonFloat64 `json:"max_error"`
	Hist95  jsonFloat64 `json:"hist_95pct"`  // quantize-stats' "95pct<" (bucket edge)
	HistMed jsonFloat64 `json:"hist_median"` // quantize-stats' "median<"
	// exact |error| percentiles; absent where the errors were not kept (totals, huge tensors)
	P50     *jsonFloat64 `json:"p50,omitempty"`
	P95     *jsonFloat64 `json:"p95,omitempty"`
	P99     *jsonFloat64 `json:"p99,omitempty"`
	RMS     jsonFloat64  `json:"rms"`           // of the original values
	RelRMSE jsonFloat64  `json:"relative_rmse"` // RMSE / RMS
}

func errorStats(name string, layer int, e *quantstats.Errors) ErrorStats {
	s := ErrorStats{Tensor: name, Layer: layer, N: e.N, RMSE: jsonFloat64(e.RMSE()), MaxErr: jsonFloat64(e.Max),
		Hist95: jsonFloat64(e.HistQuantile(0.95)), HistMed: jsonFloat64(e.HistQuantile(0.5)),
		RMS: jsonFloat64(e.RMS()), RelRMSE: jsonFloat64(e.RelRMSE())}
	if p := e.Percentile(0.5); !math.IsNaN(p) {
		p50, p95, p99 := jsonFloat64(p), jsonFloat64(e.Percentile(0.95)), jsonFloat64(e.Percentile(0.99))
		s.P50, s.P95, s.P99 = &p50, &p95, &p99
	}
	return s
}

// TypeStats is one quantization type over the model.
type TypeStats struct {
	Type    string       `json:"type"`
	Total   ErrorStats   `json:"total"`
	Tensors []ErrorStats `json:"tensors"`
	Skipped []string     `json:"skipped,omitempty"` // rows not a multiple of the block size
	// PerLayer is each block's relative RMSE over its matrices (index: layer number).
	PerLayer []jsonFloat64 `json:"per_layer_relative_rmse"`
}

// layerOf is N of a "blk.N." name, or -1.
func layerOf(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	num, _, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(num)
	if err != nil {
		return -1
	}
	return n
}

// quantStats round-trips every matrix of f through each type. Like quantize-stats it
// needs float weights (F32, F16 or BF16): a quantized tensor is refused.
func quantStats(f *gguf.File, types []tensor.DType) ([]TypeStats, error) {
	// check every tensor first, then one matrix in memory at a time
	var mats []*gguf.TensorInfo
	nLayer := 0
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		if len(ti.Dims) != 2 {
			continue // norms and biases: vectors, not quantized by llama-quantize
		}
		switch ti.Type {
		case tensor.F32, tensor.F16, tensor.BF16:
		default:
			return nil, fmt.Errorf("tensor %s is %s: quantization error is measured from a float model (F32, F16 or BF16)", ti.Name, ti.Type)
		}
		mats = append(mats, ti)
		nLayer = max(nLayer, layerOf(ti.Name)+1)
	}
	if len(mats) == 0 {
		return nil, fmt.Errorf("the model has no matrices")
	}
	out := make([]TypeStats, len(types))
	totals := make([]quantstats.Errors, len(types))
	layers := make([][]quantstats.Errors, len(types))
	for k, t := range types {
		out[k].Type = t.String()
		layers[k] = make([]quantstats.Errors, nLayer)
	}
	var data []float32
	for _, ti := range mats {
		cols, rows := int(ti.Dims[0]), int(ti.Dims[1])
		data = slices.Grow(data[:0], rows*cols)[:rows*cols]
		if err := tensor.Dequantize(ti.Type, f.TensorData(ti), data); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", ti.Name, err)
		}
		l := layerOf(ti.Name)
		for k, t := range types {
			if cols%t.BlockSize() != 0 {
				out[k].Skipped = append(out[k].Skipped, ti.Name)
				continue
			}
			e, err := quantstats.RoundTrip(t, data, rows, cols, len(data) <= maxKeptErrors)
			if err != nil {
				return nil, fmt.Errorf("%s: tensor %s: %w", t, ti.Name, err)
			}
			out[k].Tensors = append(out[k].Tensors, errorStats(ti.Name, l, e))
			if l >= 0 {
				layers[k][l].Add(&quantstats.Errors{N: e.N, SumSq: e.SumSq, SumSqRef: e.SumSqRef})
			}
			totals[k].Add(&quantstats.Errors{N: e.N, SumSq: e.SumSq, SumSqRef: e.SumSqRef, Max: e.Max, Hist: e.Hist})
		}
	}
	for k, t := range types {
		if totals[k].N == 0 {
			return nil, fmt.Errorf("%s: no matrix has rows that are a multiple of its block size %d", t, t.BlockSize())
		}
		out[k].Total = errorStats("", -1, &totals[k])
		for i := range layers[k] {
			v := math.NaN()
			if layers[k][i].N > 0 {
				v = layers[k][i].RelRMSE()
			}
			out[k].PerLayer = append(out[k].PerLayer, jsonFloat64(v))
		}
	}
	return out, nil
}

// printQuantStats prints quantize-stats' lines (per tensor, then the type's total) with
// the relative RMSE and the exact percentiles after them.
func printQuantStats(w io.Writer, stats []TypeStats) {
	line := func(name string, s ErrorStats) {
		fmt.Fprintf(w, "%-50s: rmse %.8f, maxerr %.8f, 95pct<%.4f, median<%.4f | rel %.4f%%",
			name, float64(s.RMSE), float64(s.MaxErr), float64(s.Hist95), float64(s.HistMed), 100*float64(s.RelRMSE))
		if s.P50 != nil {
			fmt.Fprintf(w, ", p50 %.6f, p99 %.6f", float64(*s.P50), float64(*s.P99))
		}
		fmt.Fprintln(w)
	}
	for _, ts := range stats {
		for _, s := range ts.Tensors {
			line(ts.Type+"::"+s.Tensor, s)
		}
		for _, name := range ts.Skipped {
			fmt.Fprintf(w, "%-50s: skipped (rows not a multiple of %d)\n", ts.Type+"::"+name, mustBlock(ts.Type))
		}
		line(ts.Type, ts.Total)
		fmt.Fprintln(w)
	}
}

func mustBlock(name string) int {
	t, err := tensor.ParseDType(name)
	if err != nil {
		return 0
	}
	return t.BlockSize()
}

func newQuantStatsCmd() *cobra.Command {
	var model, outJSON, plot string
	var typeNames []string
	cmd := &cobra.Command{
		Use:     "quant-stats",
		Short:   "Quantization error of every matrix per type (quantize, dequantize, compare), as llama.cpp's quantize-stats",
		Example: `  inferno quant-stats -m ../shared/refdata/models/qmini/qmini-F32.gguf --type Q4_K --type Q8_0 --plot err.svg`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if outJSON != "" {
				if err := checkOutputPath("--output-json", outJSON); err != nil {
					return err
				}
			}
			if plot != "" {
				if err := plots.CheckFormat(plot); err != nil {
					return fmt.Errorf("--plot: %w", err)
				}
			}
			var types []tensor.DType
			for _, n := range typeNames {
				t, err := tensor.ParseDType(n)
				if err != nil {
					return fmt.Errorf("--type: %w", err)
				}
				if _, ok := tensor.CodecOf(t); !ok || t == tensor.F32 {
					return fmt.Errorf("--type %s: no quantizer for this type", n)
				}
				types = append(types, t)
			}
			if len(types) == 0 {
				for _, t := range tensor.WeightTypes() {
					if t != tensor.F32 {
						types = append(types, t)
					}
				}
			}
			path, err := modelcache.Resolve(model)
			if err != nil {
				return err
			}
			f, err := gguf.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			stats, err := quantStats(f, types)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if outJSON != "" {
				if err := writeJSONFile(outJSON, struct {
					Model string      `json:"model"`
					Types []TypeStats `json:"types"`
				}{path, stats}); err != nil {
					return err
				}
			}
			if plot != "" {
				var series []plots.Series
				for _, ts := range stats {
					s := plots.Series{Name: ts.Type}
					for l, v := range ts.PerLayer {
						if !math.IsNaN(float64(v)) {
							s.X = append(s.X, float64(l))
							s.Y = append(s.Y, 100*float64(v))
						}
					}
					if len(s.X) > 0 { // a type measured on no block matrix has no line
						series = append(series, s)
					}
				}
				if err := plots.ErrorPerLayer(cmd.Context(), plot, "Quantization error per layer: "+filepath.Base(path), series); err != nil {
					return fmt.Errorf("--plot: %w", err)
				}
			}
			printQuantStats(cmd.OutOrStdout(), stats)
			return nil
		},
	}
	cmd.Flags().StringVarP(&model, "model", "m", "", "float GGUF model (F32/F16/BF16 matrices) (required)")
	cmd.Flags().StringArrayVarP(&typeNames, "type", "t", nil, "type to measure (repeatable; default: every weight type)")
	cmd.Flags().StringVar(&outJSON, "output-json", "", "also write the statistics as JSON to this file")
	cmd.Flags().StringVar(&plot, "plot", "", "draw the relative RMSE per layer and type to this .svg or .png file")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}
