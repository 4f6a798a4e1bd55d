package inferno

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/cuda"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/metal/sim"
)

// simCUDA is a cuda.Device for the root package's tests: it reports what an H200
// would and runs every dispatch on cuda-sim (kernels/cuda/kernels.cu's entry points on
// the CPU simulator), so `--backend cuda` runs end to end here on the CUDA kernels.
type simCUDA struct {
	sim       *cuda.SimDevice
	free      int64
	allocLeft int // allocations before one fails (negative: no limit)
	closed    bool
	ran       map[string]bool // kernels dispatched
}

// What the last openCUDA of useSimCUDA was asked for and made, and how many
// allocations the next device grants (0: no limit).
var (
	simCUDAOrdinal    int
	simCUDALast       *simCUDA
	simCUDAAllocLimit int
)

func (s *simCUDA) Name() string { return "NVIDIA H200 (simulated)" }
func (s *simCUDA) Info() cuda.Info {
	return cuda.Info{Name: s.Name(), Major: 9, Minor: 0, Multiprocessors: 132, TotalMemory: 140 << 30, DriverVersion: 13000, MemoryBandwidth: 4.8e12}
}
func (s *simCUDA) Simulated() bool                         { return false } // the root package must take it for a GPU
func (s *simCUDA) MemInfo() (free, total int64, err error) { return s.free, 140 << 30, nil }
func (s *simCUDA) Sync() error                             { return s.sim.Sync() }
func (s *simCUDA) Close()                                  { s.sim.Close(); s.closed = true }

func (s *simCUDA) NewBuffer(n int) (cuda.Buffer, error) {
	if s.allocLeft == 0 {
		return nil, fmt.Errorf("cuda: cuMemAlloc(%d bytes): CUDA_ERROR_OUT_OF_MEMORY", n)
	}
	s.allocLeft--
	return s.sim.NewBuffer(n)
}

func (s *simCUDA) Run(d cuda.Dispatch) error {
	s.ran[d.Kernel] = true
	return s.sim.Run(d)
}

// useSimCUDA makes openCUDA return a simulated device with free bytes free (or err).
func useSimCUDA(t *testing.T, free int64, err error) {
	t.Helper()
	old := openCUDA
	t.Cleanup(func() { openCUDA, simCUDALast, simCUDAAllocLimit = old, nil, 0 })
	openCUDA = func(ordinal int) (cuda.Device, error) {
		simCUDAOrdinal = ordinal
		if err != nil {
			return nil, err
		}
		d, serr := cuda.NewSimDevice()
		if serr != nil {
			return nil, serr
		}
		simCUDALast = &simCUDA{sim: d, free: free, allocLeft: simCUDAAllocLimit - 1, ran: map[string]bool{}}
		return simCUDALast, nil
	}
}

func needSim(t *testing.T) {
	t.Helper()
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
}

// TestCUDABackend: `--backend cuda` (and auto, where a device exists) runs the model
// through the CUDA adapter, gives llama.cpp's greedy tokens all on the GPU and split
// with the CPU, and logs the lines a user greps for with the CUDA prefix.
func TestCUDABackend(t *testing.T) {
	needSim(t)
	useSimCUDA(t, 100<<30, nil)
	var ref struct {
		PromptIDs    []int32 `json:"prompt_ids"`
		GeneratedIDs []int32 `json:"generated_ids"`
	}
	raw, _ := os.ReadFile(refdata.Path(t, "reference", "stories260K_once_upon_a_time.json"))
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		backend string
		layers  int
		logs    []string
		name    string
	}{
		{"cuda", 0, []string{"GGUF backend - GPU enabled: true, GPU layers: 999", "load_tensors: offloaded 6/6 layers to GPU",
			"CUDA model buffer size = 1.12 MiB", "CUDA KV cache size = ", "CUDA compute buffer size = ",
			"CUDA: device NVIDIA H200 (simulated), compute capability 9.0, 132 multiprocessors, memory 143360.00 MiB (102400.00 MiB free), driver CUDA 13.0"}, "cuda"},
		{"cuda", 2, []string{"GPU layers: 2", "offloaded 2/6 layers to GPU"}, "cuda+cpu"},
		{"auto", 0, []string{"backend auto: CUDA on NVIDIA H200 (simulated)", "offloaded 6/6 layers to GPU"}, "cuda"},
	} {
		var log bytes.Buffer
		m, err := Load(refdata.Path(t, "models", "stories260K.gguf"), Options{Threads: 2, ContextSize: 128, Backend: c.backend, GPULayers: c.layers, Log: &log, Verbose: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := newSession(t, m).Generate(context.Background(), ref.PromptIDs, GenerateOptions{MaxTokens: 64, Sampling: greedyParams()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// a prompt of 8 tokens or more runs the prompt matmul (CUDA's: matmul_mma)
		long := append(append([]int32(nil), ref.PromptIDs...), ref.GeneratedIDs[:5]...)
		_, err = newSession(t, m).Generate(context.Background(), long, GenerateOptions{MaxTokens: 1, Sampling: greedyParams()}, nil)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.Tokens, ref.GeneratedIDs) {
			t.Errorf("%s, gpu layers %d: tokens differ:\n got %v\nwant %v", c.backend, c.layers, res.Tokens, ref.GeneratedIDs)
		}
		// the CUDA choices of metal.Launch*For: the wide kernels (the short prompt's
		// matvec) and the fused decode matvec, not Metal's
		for _, k := range []string{"matvec_wide_f32", "rms_norm_wide", "matmul_mma_f32", "matvec_fused_f32"} {
			if !simCUDALast.ran[k] {
				t.Errorf("%s, gpu layers %d: %s not dispatched", c.backend, c.layers, k)
			}
		}
		for _, k := range []string{"matvec_f32", "rms_norm", "matmul_f32"} {
			if simCUDALast.ran[k] {
				t.Errorf("%s, gpu layers %d: Metal's %s dispatched on CUDA", c.backend, c.layers, k)
			}
		}
		if m.DeviceBandwidth() != 4.8e12 {
			t.Errorf("%s, gpu layers %d: device bandwidth %g, want the device's 4.8e12", c.backend, c.layers, m.DeviceBandwidth())
		}
		if m.BackendName() != c.name {
			t.Errorf("%s, gpu layers %d: backend %s, want %s", c.backend, c.layers, m.BackendName(), c.name)
		}
		for _, want := range c.logs {
			if !strings.Contains(log.String(), want) {
				t.Errorf("%s, gpu layers %d: log lacks %q:\n%s", c.backend, c.layers, want, log.String())
			}
		}
	}
}

// TestCUDAMemoryPlan: a model that does not fit in cuMemGetInfo's free memory is a
// one-line error naming the sizes and the --gpu-layers that fits, before any allocation.
func TestCUDAMemoryPlan(t *testing.T) {
	needSim(t)
	useSimCUDA(t, 3_000_000, nil)
	_, err := Load(refdata.Path(t, "models", "stories260K.gguf"), Options{ContextSize: 2048, Backend: "cuda"})
	if err == nil {
		t.Fatal("a model larger than the free memory loaded")
	}
	msg := err.Error()
	for _, want := range []string{"the model needs ", "(weights 1.12 MiB, KV cache ", "but NVIDIA H200 (simulated) has 2.86 MiB free of 143360.00 MiB", "use --gpu-layers ", "or a smaller --ctx"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if !simCUDALast.closed {
		t.Error("the device was left open")
	}
}

// TestCUDALoadFailureClosesDevice: a load that fails after the device was opened (here
// an allocation while weights are uploaded) returns the driver's error and closes the
// device.
func TestCUDALoadFailureClosesDevice(t *testing.T) {
	needSim(t)
	useSimCUDA(t, 100<<30, nil)
	simCUDAAllocLimit = 5
	_, err := Load(refdata.Path(t, "models", "stories260K.gguf"), Options{Backend: "cuda"})
	if err == nil || !strings.Contains(err.Error(), "cuMemAlloc") {
		t.Errorf("an allocation failing during the load: %v", err)
	}
	if simCUDALast == nil || !simCUDALast.closed {
		t.Error("the device was left open")
	}
}

// TestCUDAErrors: a CUDA device that fails to open is Load's error naming the call,
// for `--backend cuda` and for auto (never a silent CPU run); only a missing driver
// or device lets auto run on the CPU, saying why under Verbose.
func TestCUDAErrors(t *testing.T) {
	model := refdata.Path(t, "models", "stories260K.gguf")
	broken := errors.New("cuda: cuModuleLoadData(1234 bytes of PTX): CUDA_ERROR_INVALID_PTX")
	useSimCUDA(t, 0, broken)
	for _, backend := range []string{"cuda", "auto"} {
		_, err := Load(model, Options{Backend: backend})
		if !errors.Is(err, broken) || !strings.Contains(err.Error(), "cuModuleLoadData") {
			t.Errorf("%s with a failing driver: %v", backend, err)
		}
	}
	// --device N reaches the driver; it means nothing to the other backends
	for _, backend := range []string{"cuda", "auto"} {
		simCUDAOrdinal = -1
		if _, err := Load(model, Options{Backend: backend, Device: 3}); err == nil || simCUDAOrdinal != 3 {
			t.Errorf("%s, device 3: opened device %d (%v)", backend, simCUDAOrdinal, err)
		}
	}
	if _, err := Load(model, Options{Backend: "metal-sim", Device: 1}); err == nil || err.Error() != "device 1: a device number applies to backend cuda (or auto), not metal-sim" {
		t.Errorf("metal-sim, device 1: %v", err)
	}
	for _, cause := range []error{cuda.ErrNoDriver, fmt.Errorf("cuda: cuInit: CUDA_ERROR_NO_DEVICE (%w)", cuda.ErrNoDevice)} {
		useSimCUDA(t, 0, cause)
		if _, err := Load(model, Options{Backend: "cuda"}); !errors.Is(err, cause) || !strings.HasPrefix(err.Error(), "backend cuda: cuda: ") {
			t.Errorf("--backend cuda, %v: %v", cause, err)
		}
		var log bytes.Buffer
		m, err := Load(model, Options{Backend: "auto", Log: &log, Verbose: true})
		if err != nil {
			t.Fatalf("auto, %v: %v", cause, err)
		}
		if m.BackendName() != "cpu" || !strings.Contains(log.String(), "backend auto: CPU ("+cause.Error()+")") {
			t.Errorf("auto, %v: backend %s, log:\n%s", cause, m.BackendName(), log.String())
		}
		m.Close()
	}
}

// TestCUDANoDriver: on a machine without the NVIDIA driver (this one, CI), `--backend
// cuda` is a one-line error saying so, not a panic and not the CPU.
func TestCUDANoDriver(t *testing.T) {
	if d, err := cuda.Open(0); err == nil {
		d.Close()
		t.Skip("SKIP: a CUDA driver and device are present")
	}
	_, err := Load(refdata.Path(t, "models", "stories260K.gguf"), Options{Backend: "cuda"})
	if err == nil || !errors.Is(err, cuda.ErrNoDriver) || !strings.HasPrefix(err.Error(), "backend cuda: cuda: no NVIDIA driver") || strings.Contains(err.Error(), "\n") {
		t.Errorf("--backend cuda without a driver: %v", err)
	}
}
