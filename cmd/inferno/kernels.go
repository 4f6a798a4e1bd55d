package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"

	"github.com/inferno-go/inferno/cuda"
	"github.com/inferno-go/inferno/internal/plots"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/metal/conformance"
	"github.com/inferno-go/inferno/metal/sim"
	"github.com/inferno-go/inferno/tensor"
	"github.com/spf13/cobra"
)

func laneOrder(order string) (sim.LaneOrder, error) {
	switch order {
	case "forward":
		return sim.Forward, nil
	case "reverse":
		return sim.Reverse, nil
	case "shuffled":
		return sim.Shuffled, nil
	}
	return 0, fmt.Errorf("--lane-order %q: want forward, reverse or shuffled", order)
}

func openKernelDevice(backend string, order string) (metal.Device, error) {
	switch backend {
	case "metal-sim":
		o, err := laneOrder(order)
		if err != nil {
			return nil, err
		}
		d, err := metal.NewSimDevice()
		if err != nil {
			return nil, err
		}
		d.Order, d.Seed = o, 42
		return d, nil
	case "cuda-sim":
		o, err := laneOrder(order)
		if err != nil {
			return nil, err
		}
		d, err := cuda.NewSimDevice()
		if err != nil {
			return nil, fmt.Errorf("--backend cuda-sim: %w", err)
		}
		d.Order, d.Seed = o, 42
		return cuda.NewMetalDevice(d), nil
	case "metal":
		if runtime.GOOS != "darwin" {
			return nil, fmt.Errorf("--backend metal needs macOS on Apple Silicon (this is %s/%s); use --backend metal-sim", runtime.GOOS, runtime.GOARCH)
		}
		return metal.NewDevice()
	case "cuda":
		d, err := cuda.Open(0)
		if err != nil {
			return nil, fmt.Errorf("--backend cuda: %w", err)
		}
		return cuda.NewMetalDevice(d), nil
	}
	return nil, fmt.Errorf("--backend %q: want cuda, cuda-sim, metal or metal-sim", backend)
}

func newKernelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kernels",
		Short: "Test and benchmark the GPU kernels (on an NVIDIA GPU, a Mac GPU or the simulator)",
	}
	var backend, filter, order string
	var asJSON bool
	test := &cobra.Command{
		Use:   "test",
		Short: "Run the kernel conformance cases and print a verdict per kernel",
		Example: `  inferno kernels test --backend metal-sim
  inferno kernels test --backend cuda-sim       # the CUDA kernels on the CPU simulator
  inferno kernels test --backend metal          # on a Mac: checks the GPU in seconds
  inferno kernels test --backend metal-sim --filter matvec_q4_k`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := openKernelDevice(backend, order)
			if err != nil {
				return err
			}
			defer d.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "device: %s\n", d.Name())
			rs := conformance.Run(d, filter)
			failed := 0
			for _, r := range rs {
				verdict := "PASS"
				if !r.Pass {
					verdict = "FAIL"
					failed++
				}
				detail := fmt.Sprintf("NMSE %.3g (max %.0g)", r.NMSE, r.Max)
				if r.Err != nil {
					detail = r.Err.Error()
				}
				fmt.Fprintf(out, "%s  %-40s %s\n", verdict, r.Name, detail)
			}
			fmt.Fprintf(out, "%d passed, %d failed\n", len(rs)-failed, failed)
			if len(rs) == 0 {
				return fmt.Errorf("no kernel case matches --filter %q", filter)
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d kernel cases failed", failed, len(rs))
			}
			return nil
		},
	}
	test.Flags().StringVar(&backend, "backend", "metal-sim", "cuda (an NVIDIA GPU), cuda-sim (the CUDA kernels on the simulator), metal (a Mac GPU) or metal-sim (the Metal kernels on the simulator)")
	test.Flags().StringVar(&filter, "filter", "", "only cases whose name contains this (or a family: matvec, attention, ...)")
	test.Flags().StringVar(&order, "lane-order", "forward", "simulator lane order: forward, reverse or shuffled")
	var calls int
	var decode bool
	var plot string
	bench := &cobra.Command{
		Use:   "bench",
		Short: "Time each kernel × type × shape (GPU execution: run and sync): µs per call, GB/s of weights, GFLOP/s",
		Example: `  inferno kernels bench --backend metal-sim --filter matvec
  inferno kernels bench --backend metal --json > kernels.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if calls < 1 {
				return fmt.Errorf("--calls %d must be >= 1", calls)
			}
			if plot != "" {
				if err := plots.CheckFormat(plot); err != nil {
					return fmt.Errorf("--plot: %w", err)
				}
			}
			d, err := openKernelDevice(backend, "forward")
			if err != nil {
				return err
			}
			defer d.Close()
			var rs []conformance.BenchResult
			if decode {
				rs, err = conformance.BenchDecode(d, []tensor.DType{tensor.Q4_0, tensor.Q8_0, tensor.Q4_K, tensor.Q6_K}, filter, calls)
			} else {
				rs, err = conformance.Bench(d, filter, calls)
			}
			if err != nil {
				return err
			}
			if len(rs) == 0 {
				return fmt.Errorf("no kernel matches --filter %q", filter)
			}
			if plot != "" {
				if err := plotKernelBench(cmd.Context(), plot, d.Name(), d.Simulated(), d.Info().MemoryBandwidth, rs); err != nil {
					return fmt.Errorf("--plot: %w", err)
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				b, _ := json.MarshalIndent(map[string]any{"device": d.Name(), "simulated": d.Simulated(), "results": rs}, "", "  ")
				fmt.Fprintln(out, string(b))
				return nil
			}
			label := "GPU"
			if d.Simulated() {
				label = "SIMULATOR (CPU) figures, not GPU performance"
			}
			fmt.Fprintf(out, "device: %s — %s\n", d.Name(), label)
			bw := d.Info().MemoryBandwidth
			fmt.Fprintf(out, "%-18s %-22s %12s %12s %10s %8s\n", "kernel", "shape", "µs/call", "weights GB/s", "GFLOP/s", "of BW")
			for _, r := range rs {
				share := "-"
				if bw > 0 && r.WeightGBs > 0 && !d.Simulated() {
					share = fmt.Sprintf("%.1f%%", 100*r.WeightGBs*1e9/bw)
				}
				fmt.Fprintf(out, "%-18s %-22s %12.2f %12.1f %10.1f %8s\n", r.Kernel, r.Shape, r.USPerCall, r.WeightGBs, r.GFLOPs, share)
			}
			return nil
		},
	}
	bench.Flags().StringVar(&backend, "backend", "metal-sim", "cuda, cuda-sim, metal or metal-sim")
	bench.Flags().StringVar(&filter, "filter", "", "only kernels whose name contains this")
	bench.Flags().IntVar(&calls, "calls", 5, "timed calls per case (median reported)")
	bench.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	bench.Flags().StringVar(&plot, "plot", "", "draw bytes per weight against weights GB/s per kernel, under the memory-bandwidth roof, to this .svg or .png file")
	bench.Flags().BoolVar(&decode, "decode", false, "the decode matvecs at TinyLlama-1.1B's shapes, many calls per sync, each on its own copy of the weights (GPU time per call in a stream; % of the memory bandwidth)")
	cmd.AddCommand(test, bench)
	return cmd
}

// kernelType is the weight type a bench kernel's name ends with ("matvec_q4_k": Q4_K).
func kernelType(kernel string) (tensor.DType, string, bool) {
	for _, t := range metal.WeightTypes() {
		if fam, ok := strings.CutSuffix(kernel, "_"+strings.ToLower(t.String())); ok {
			return t, fam, true
		}
	}
	return 0, "", false
}

// bytesPerWeight is a type's storage per weight (a block's bytes over its elements).
func bytesPerWeight(t tensor.DType) float64 {
	n := t.BlockSize()
	rb, err := t.RowSize(n)
	if err != nil {
		return 0
	}
	return float64(rb) / float64(n)
}

// plotKernelBench draws the weight kernels' throughput against bytes per weight, one
// series per kernel family on this backend, with the device's memory bandwidth as the
// roof (none for the simulator, whose figures are CPU time).
func plotKernelBench(ctx context.Context, path, device string, simulated bool, bandwidth float64, rs []conformance.BenchResult) error {
	series := map[string][]plots.Point{}
	var order []string
	for _, r := range rs {
		t, fam, ok := kernelType(r.Kernel)
		if !ok || r.WeightGBs <= 0 {
			continue // RMSNorm and attention: no weights
		}
		short, _, _ := strings.Cut(device, " (") // "metal-sim (Metal kernels on ...)": metal-sim
		name := fam + " (" + short + ")"
		if _, seen := series[name]; !seen {
			order = append(order, name)
		}
		series[name] = append(series[name], plots.Point{Label: t.String(), BytesPerWeight: bytesPerWeight(t), GBs: r.WeightGBs})
	}
	title := "Weight kernels on " + device
	roof := bandwidth / 1e9
	if simulated {
		title += " (simulator: CPU time, no roof)"
		roof = 0
	}
	return plots.Roofline(ctx, path, title, series, order, roof)
}
