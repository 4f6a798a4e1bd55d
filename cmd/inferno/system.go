package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	cpubackend "github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/cuda"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/metal/sim"
	"github.com/inferno-go/inferno/model/llama"
	"github.com/inferno-go/inferno/tensor"
	"github.com/spf13/cobra"
	"golang.org/x/sys/cpu"
)

type systemInfo struct {
	OS          string            `json:"os"`
	Arch        string            `json:"arch"`
	CPU         string            `json:"cpu"`
	Cores       int               `json:"cores"`
	MemoryBytes int64             `json:"memory_bytes"`
	Features    []string          `json:"cpu_features"`
	Kernels     string            `json:"cpu_kernels"`
	KernelSet   string            `json:"cpu_kernel_set"`  // the set the CPU backend runs (INFERNO_CPU_KERNELS overrides)
	KernelSets  []string          `json:"cpu_kernel_sets"` // the sets this build runs on this CPU, best first
	Backends    map[string]string `json:"backends"`        // name -> "available" or why not
	// Architectures are the general.architecture values inferno runs; GPUArchitectures
	// note what the GPU backends (metal, cuda) run of them.
	Architectures    []string    `json:"architectures"`
	GPUArchitectures string      `json:"gpu_architectures"`
	Metal            *metal.Info `json:"metal,omitempty"`
	CUDA             []cuda.Info `json:"cuda,omitempty"`
	GoVersion        string      `json:"go_version"`
	Version          string      `json:"inferno_version"`
}

func gatherSystem() systemInfo {
	s := systemInfo{OS: runtime.GOOS, Arch: runtime.GOARCH, Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Version: version,
		Backends: map[string]string{"cpu": "available"}}
	s.CPU, s.MemoryBytes = cpuModel(), memTotal()
	add := func(ok bool, name string) {
		if ok {
			s.Features = append(s.Features, name)
		}
	}
	switch runtime.GOARCH {
	case "amd64":
		add(cpu.X86.HasAVX, "AVX")
		add(cpu.X86.HasAVX2, "AVX2")
		add(cpu.X86.HasFMA, "FMA")
		add(cpu.X86.HasAVX512F, "AVX512F")
		add(cpu.X86.HasAVX512BW, "AVX512BW")
		add(cpu.X86.HasAVX512VL, "AVX512VL")
		add(cpu.X86.HasAVX512VNNI, "AVX512_VNNI")
		add(cpu.X86.HasAVX512BF16, "AVX512_BF16")
		add(cpu.X86.HasAVXVNNI, "AVX_VNNI")
	case "arm64":
		add(cpu.ARM64.HasASIMD, "NEON")
		add(cpu.ARM64.HasASIMDDP, "DOTPROD")
		add(cpu.ARM64.HasI8MM, "I8MM")
	}
	s.KernelSet, _ = cpubackend.KernelSet()
	s.KernelSets = cpubackend.KernelSets()
	s.Kernels = cpuKernels(s.KernelSet, cpubackend.AssemblyTypes())
	s.Architectures = llama.SupportedArchitectures()
	if runtime.GOOS == "darwin" {
		if d, err := metal.NewDevice(); err == nil {
			info := d.Info()
			s.Metal = &info
			s.Backends["metal"] = "available"
			d.Close()
		} else {
			s.Backends["metal"] = err.Error()
		}
	} else {
		s.Backends["metal"] = "needs macOS on Apple Silicon"
	}
	if l, err := cuda.Devices(); err != nil {
		s.Backends["cuda"] = err.Error()
	} else if len(l) == 0 {
		s.Backends["cuda"] = "the NVIDIA driver reports no CUDA device"
	} else {
		s.CUDA = l
		s.Backends["cuda"] = fmt.Sprintf("available (%d device(s))", len(l))
	}
	if _, err := sim.Compiler(); err == nil {
		s.Backends["metal-sim"] = "available (clang-19)"
		s.Backends["cuda-sim"] = "available (clang-19)"
	} else {
		s.Backends["metal-sim"] = err.Error()
		s.Backends["cuda-sim"] = err.Error()
	}
	return s
}

// cpuKernels says which weight types the CPU backend multiplies with assembly of kernel
// set kset (asm, as the backend reports it) and which with portable Go.
func cpuKernels(kset string, asm []tensor.DType) string {
	var fast, portable []string
	for _, t := range tensor.AllTypes() {
		if _, ok := tensor.VecDotType(t); !ok {
			continue // not a weight type the backend multiplies by
		}
		if slices.Contains(asm, t) {
			fast = append(fast, t.String())
		} else {
			portable = append(portable, t.String())
		}
	}
	vnni := "avx512vnni (AVX-512 VNNI, BF16 rows widened to float32 for want of AVX512-BF16, AVX2 where a type has none)"
	if cpubackend.AVX512BF16() {
		vnni = "avx512vnni (AVX-512 VNNI, AVX512-BF16 for BF16 rows, AVX2 where a type has none)"
	}
	isa := map[string]string{cpubackend.SetAVX512AMX: "avx512amx (AMX-INT8 tiles for prompts where a type has them, else " + vnni + ")",
		cpubackend.SetAVX512VNNI: vnni,
		cpubackend.SetAVX2:       "avx2 (AVX2+FMA)", cpubackend.SetNEON: "neon (NEON dot product)"}[kset]
	switch {
	case len(fast) == 0:
		return "portable Go for every weight type (no assembly kernels in this build or for this CPU)"
	case len(portable) == 0:
		return fmt.Sprintf("%s assembly for every weight type (%s)", isa, strings.Join(fast, ", "))
	}
	return fmt.Sprintf("%s assembly for %s; portable Go for %s", isa, strings.Join(fast, ", "), strings.Join(portable, ", "))
}

func cpuModel() string {
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.Index(l, ":"); i >= 0 {
					return strings.TrimSpace(l[i+1:])
				}
			}
		}
	}
	return runtime.GOARCH
}

func memTotal() int64 {
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func newSystemCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "system",
		Short:   "Show the CPU, memory, and which backends are compiled in and available",
		Example: "  inferno system\n  inferno system --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s := gatherSystem()
			out := cmd.OutOrStdout()
			if asJSON {
				b, _ := json.MarshalIndent(s, "", "  ")
				fmt.Fprintln(out, string(b))
				return nil
			}
			fmt.Fprintf(out, "os/arch:   %s/%s\ncpu:       %s, %d cores, features %s\nmemory:    %.1f GiB\ncpu path:  %s\ncpu sets:  %s (%s chooses one)\n",
				s.OS, s.Arch, s.CPU, s.Cores, strings.Join(s.Features, " "), float64(s.MemoryBytes)/(1<<30), s.Kernels,
				strings.Join(s.KernelSets, ", "), cpubackend.KernelSetEnv)
			fmt.Fprintf(out, "models:    %s\n", strings.Join(s.Architectures, ", "))
			for _, b := range []string{"cpu", "cuda", "metal", "metal-sim", "cuda-sim"} {
				fmt.Fprintf(out, "backend %-10s %s\n", b+":", s.Backends[b])
			}
			if s.Metal != nil {
				fmt.Fprintf(out, "metal:     %s, %s, unified memory %v, recommended working set %s\n",
					s.Metal.Name, s.Metal.Family, s.Metal.UnifiedMemory, metal.MiB(s.Metal.MaxWorkingSet))
			}
			for i, d := range s.CUDA {
				fmt.Fprintf(out, "cuda %d:    %s, compute capability %s, %d multiprocessors, %s (peak %.0f GB/s), driver CUDA %s\n",
					i, d.Name, d.ComputeCapability(), d.Multiprocessors, metal.MiB(d.TotalMemory), d.MemoryBandwidth/1e9, d.Driver())
			}
			fmt.Fprintf(out, "inferno %s (%s)\n", s.Version, s.GoVersion)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
