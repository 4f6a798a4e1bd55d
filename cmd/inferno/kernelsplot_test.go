package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/metal/conformance"
	"github.com/inferno-go/inferno/tensor"
)

// TestKernelBenchPlot: a synthetic bench result set drawn as kernels bench --plot draws
// it: weight kernels by family with their types at the right bytes per weight, the
// roof at the device's bandwidth, kernels without weights left out.
func TestKernelBenchPlot(t *testing.T) {
	name := func(l func(t tensor.DType, w, x, y metal.Arg, rows, cols, ntok int) metal.Dispatch, dt tensor.DType) string {
		return l(dt, metal.Arg{}, metal.Arg{}, metal.Arg{}, 256, 4096, 1).Kernel
	}
	rs := []conformance.BenchResult{
		{Kernel: name(metal.LaunchMatVec, tensor.Q4_K), WeightGBs: 400},
		{Kernel: name(metal.LaunchMatVec, tensor.Q8_0), WeightGBs: 650},
		{Kernel: name(metal.LaunchMatVecWide, tensor.Q6_K), WeightGBs: 500},
		{Kernel: "rms_norm", USPerCall: 3},
	}
	for _, c := range []struct {
		kernel string
		fam    string
		dt     tensor.DType
	}{{rs[0].Kernel, "matvec", tensor.Q4_K}, {rs[2].Kernel, "matvec_wide", tensor.Q6_K}} {
		dt, fam, ok := kernelType(c.kernel)
		if !ok || fam != c.fam || dt != c.dt {
			t.Errorf("%s: %v %q %v", c.kernel, dt, fam, ok)
		}
	}
	if b := bytesPerWeight(tensor.Q4_K); b != 144.0/256 {
		t.Errorf("Q4_K: %v bytes per weight", b)
	}
	path := filepath.Join(t.TempDir(), "k.svg")
	if err := plotKernelBench(context.Background(), path, "H200", false, 4.8e12, rs); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"<svg", "matvec (H200)", "matvec_wide (H200)", "Q4_K", "Q6_K", "memory bandwidth 4800 GB/s"} {
		if !strings.Contains(s, want) {
			t.Errorf("plot lacks %q", want)
		}
	}
	if strings.Contains(s, "rms_norm") {
		t.Error("a kernel without weights was drawn")
	}
	if err := plotKernelBench(context.Background(), path, "sim", true, 0, rs[3:]); err == nil {
		t.Error("no weight kernel: no error")
	}
}
