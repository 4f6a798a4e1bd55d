// Package inferno runs GGUF Llama-family language models in pure Go.
//
// Load a model once and open a Session per conversation; a Session owns its KV cache,
// the Model's weights are shared. Generation streams tokens to a callback and stops at
// an end-of-generation token, a token budget, a stop string, or when the context is
// cancelled. Running past the context length is an error, never a silent truncation.
package inferno

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/cuda"
	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/model/llama"
	"github.com/inferno-go/inferno/tokenizer"
)

// Options configure loading.
type Options struct {
	Threads     int  // CPU worker threads; 0: all cores
	ContextSize int  // tokens per session; 0: the model's training context, at most 4096
	BatchSize   int  // prompt tokens per forward pass; 0: 512
	F32KVCache  bool // store K/V in float32 instead of llama.cpp's default float16 (CPU)
	// LlamaBatchOrder computes the CPU layers' matrix products of F32, F16, Q4_0, Q5_0
	// and Q8_0 weights in the float order of llama.cpp's AVX2 build (tinyBLAS for
	// batches), slower than the kernels, for measurements that must agree with
	// llama-perplexity to the last digit. Layers on a GPU compute in its own order.
	LlamaBatchOrder bool
	Backend         string // "auto" (default: CUDA or Metal when a device exists), "cpu", "cuda", "metal", "metal-sim", "cuda-sim"
	GPULayers       int    // transformer blocks on the GPU, first ones first; 0 or more than the model has: all
	Log             io.Writer
	Verbose         bool // log why "auto" chose its backend
	Device          int  // the CUDA device's number on hosts with several (0: the first)
	// Sessions is how many sessions will be open at once (a server's slots); the memory
	// check counts a KV cache and compute buffers for each. 0: 1.
	Sessions int
	// LoadProgress, when set, is called as transformer blocks are loaded.
	LoadProgress func(done, total int)
}

// ErrClosed is returned by a Model used after its Close, and by a Session used after
// its Close or its Model's Close.
var ErrClosed = llama.ErrClosed

// Model is a loaded model. It is safe for concurrent use: any number of goroutines may
// each run their own Session on it.
type Model struct {
	path      string
	file      *gguf.File
	llm       *llama.Model
	tokenizer *tokenizer.Tokenizer
	opts      Options
	loadTime  time.Duration
	cpu       *cpu.Backend
	gpu       *metal.Backend
	// offloaded counts blocks on the GPU (+1 when the output head is there too).
	offloaded, totalLayers int

	// mu orders the allocation and release of sessions (and the GPU memory counters
	// they change) with Close.
	mu            sync.Mutex
	closed        bool
	loggedSession bool
}

// Load opens a GGUF model.
func Load(path string, opts Options) (*Model, error) {
	start := time.Now()
	if opts.BatchSize <= 0 {
		opts.BatchSize = 512
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	tk, err := tokenizer.FromGGUF(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	h, err := llama.ReadHParams(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if opts.ContextSize <= 0 {
		opts.ContextSize = min(h.NCtxTrain, 4096)
	}
	if opts.Sessions < 0 {
		f.Close()
		return nil, &OptionError{"Sessions", opts.Sessions, "must be >= 0"}
	}
	opts.Sessions = max(opts.Sessions, 1)
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	if err := checkThreads(opts.Threads); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := cpu.KernelSet(); err != nil { // a kernel set asked for and not run is refused
		f.Close()
		return nil, err
	}
	b := cpu.New(opts.Threads)
	mm := &Model{path: path, file: f, tokenizer: tk, cpu: b, opts: opts, totalLayers: h.NLayer + 1}
	place := llama.All(b)
	gpu, nGPU, err := openGPU(opts, h, f, log)
	if err != nil {
		b.Close()
		f.Close()
		return nil, err
	}
	if gpu != nil && nGPU > 0 && opts.F32KVCache {
		// the GPU kernels read a float16 cache: refuse rather than keep F16 silently
		gpu.Device().Close()
		b.Close()
		f.Close()
		return nil, fmt.Errorf("--f32-kv: the %s backend keeps the KV cache in float16; use --backend cpu (or --gpu-layers 0) for a float32 cache", gpu.Name())
	}
	b.SetLlamaBatchOrder(opts.LlamaBatchOrder)
	if gpu != nil && nGPU > 0 && opts.LlamaBatchOrder {
		fmt.Fprintf(log, "llama.cpp's batch order: only the layers on the CPU (the %s backend computes in its own)\n", gpu.Name())
	}
	loaded := false
	defer func() { // a failed load releases the device (a CUDA context) too
		if !loaded {
			if gpu != nil {
				gpu.Device().Close()
			}
			b.Close()
			f.Close()
		}
	}()
	// the GPU's session memory counts against the machine's only where they share it
	onSharedGPU := gpu != nil && gpu.Device().Info().UnifiedMemory
	if err := checkMemory(h, opts, b.Threads(), gpu == nil || nGPU < h.NLayer, onSharedGPU); err != nil {
		return nil, err
	}
	if gpu != nil {
		mm.gpu = gpu
		place = llama.Placement{
			Layer: func(i int) backend.Backend {
				if i < nGPU {
					return gpu
				}
				return b
			},
			Emb: gpu, Out: b,
		}
		mm.offloaded = nGPU
		if nGPU == h.NLayer {
			place.Out = gpu
			mm.offloaded++
		}
		fmt.Fprintf(log, "load_tensors: offloaded %d/%d layers to GPU\n", mm.offloaded, mm.totalLayers)
	}
	place.Progress = opts.LoadProgress
	m, err := llama.LoadPlaced(place, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if tk.Len() != m.NVocab {
		return nil, fmt.Errorf("%s: tokenizer has %d tokens, model %d", path, tk.Len(), m.NVocab)
	}
	mm.llm = m
	if gpu != nil {
		fmt.Fprintf(log, "%s model buffer size = %s\n", gpuPrefix(gpu), metal.MiB(gpu.WeightBytes()))
	}
	mm.loadTime = time.Since(start)
	loaded = true
	return mm, nil
}

// gpuPrefix starts the log lines about the GPU's buffers, as llama.cpp's do.
func gpuPrefix(g *metal.Backend) string {
	switch n := g.Name(); n {
	case "metal":
		return "Metal"
	case "cuda":
		return "CUDA"
	default:
		return n
	}
}

// openCUDA opens CUDA device number ordinal (tests substitute one).
var openCUDA = func(ordinal int) (cuda.Device, error) { return cuda.Open(ordinal) }

// openGPU picks the GPU backend the options ask for, logs what it chose, and checks
// the memory plan before anything is allocated on the device.
func openGPU(opts Options, h llama.HParams, f *gguf.File, log io.Writer) (_ *metal.Backend, _ int, err error) {
	nGPU := opts.GPULayers
	if nGPU <= 0 || nGPU > h.NLayer {
		nGPU = h.NLayer
	}
	dev, cu, err := openDevice(opts, log)
	if err != nil {
		return nil, 0, err
	}
	if dev == nil {
		fmt.Fprintf(log, "GGUF backend - GPU enabled: false, GPU layers: 0\n")
		return nil, 0, nil
	}
	defer func() {
		if err != nil {
			dev.Close()
		}
	}()
	layers := opts.GPULayers
	if layers <= 0 {
		layers = 999
	}
	fmt.Fprintf(log, "GGUF backend - GPU enabled: true, GPU layers: %d\n", layers)
	var limit int64 // what the plan must fit in, and its source for the error
	var limitText string
	if cu != nil {
		i := cu.Info()
		free, total, err := cu.MemInfo()
		if err != nil {
			return nil, 0, err
		}
		driver := "driver CUDA " + i.Driver()
		if cu.Simulated() {
			driver = "no driver (the CPU simulator)"
		}
		fmt.Fprintf(log, "CUDA: device %s, compute capability %s, %d multiprocessors, memory %s (%s free), %s\n",
			i.Name, i.ComputeCapability(), i.Multiprocessors, metal.MiB(total), metal.MiB(free), driver)
		limit, limitText = free, fmt.Sprintf("%s has %s free of %s", i.Name, metal.MiB(free), metal.MiB(total))
	} else {
		info := dev.Info()
		fmt.Fprintf(log, "%s: device %s, GPU family %s, unified memory: %v, recommended max working set %s\n",
			map[bool]string{true: "metal-sim", false: "Metal"}[dev.Simulated()], info.Name, info.Family, info.UnifiedMemory, metal.MiB(info.MaxWorkingSet))
		limit, limitText = info.MaxWorkingSet, fmt.Sprintf("%s recommends at most %s", info.Name, metal.MiB(info.MaxWorkingSet))
	}
	plan := planMemory(h, f, nGPU, opts)
	fmt.Fprintf(log, "memory plan: weights %s, KV cache %s, compute %s (total %s)\n",
		metal.MiB(plan.weights), metal.MiB(plan.kv), metal.MiB(plan.compute), metal.MiB(plan.total()))
	if limit > 0 && plan.total() > limit {
		fit := 0
		for n := nGPU - 1; n >= 0; n-- {
			if planMemory(h, f, n, opts).total() <= limit {
				fit = n
				break
			}
		}
		return nil, 0, fmt.Errorf("the model needs %s on the GPU (weights %s, KV cache %s, compute %s) but %s: use --gpu-layers %d or a smaller --ctx",
			metal.MiB(plan.total()), metal.MiB(plan.weights), metal.MiB(plan.kv), metal.MiB(plan.compute), limitText, fit)
	}
	return metal.NewBackend(dev), nGPU, nil
}

// openDevice opens the device opts.Backend names (nil for the CPU); cu is set when it
// is a CUDA device. "auto" takes CUDA where a driver finds a device (Linux, Windows),
// Metal on macOS, the CPU otherwise, and with Verbose logs why. A GPU that exists but
// fails to open is an error, never a quiet fall-back to the CPU.
func openDevice(opts Options, log io.Writer) (dev metal.Device, cu cuda.Device, err error) {
	if opts.Device != 0 && opts.Backend != "cuda" && opts.Backend != "auto" && opts.Backend != "" {
		return nil, nil, fmt.Errorf("device %d: a device number applies to backend cuda (or auto), not %s", opts.Device, opts.Backend)
	}
	switch name := opts.Backend; name {
	case "cpu":
		return nil, nil, nil
	case "metal":
		if runtime.GOOS != "darwin" {
			return nil, nil, fmt.Errorf("backend metal needs macOS on Apple Silicon (this is %s/%s); use --backend cpu, cuda or metal-sim", runtime.GOOS, runtime.GOARCH)
		}
		dev, err = metal.NewDevice()
		return dev, nil, err
	case "metal-sim":
		dev, err = metal.NewSimDevice()
		return dev, nil, err
	case "cuda-sim":
		s, err := cuda.NewSimDevice()
		if err != nil {
			return nil, nil, fmt.Errorf("backend cuda-sim: %w", err)
		}
		return cuda.NewMetalDevice(s), s, nil
	case "cuda":
		if cu, err = openCUDA(opts.Device); err != nil {
			return nil, nil, fmt.Errorf("backend cuda: %w", err)
		}
		return cuda.NewMetalDevice(cu), cu, nil
	case "", "auto":
		var reason string
		dev, cu, reason, err = autoDevice(opts.Device)
		if err != nil {
			return nil, nil, err
		}
		if opts.Verbose {
			fmt.Fprintf(log, "backend auto: %s\n", reason)
		}
		return dev, cu, nil
	default:
		return nil, nil, fmt.Errorf("unknown backend %q (want auto, cpu, cuda, metal, metal-sim or cuda-sim)", name)
	}
}

func autoDevice(ordinal int) (metal.Device, cuda.Device, string, error) {
	switch runtime.GOOS {
	case "linux", "windows":
		cu, err := openCUDA(ordinal)
		switch {
		case errors.Is(err, cuda.ErrNoDriver) || errors.Is(err, cuda.ErrNoDevice):
			return nil, nil, fmt.Sprintf("CPU (%v)", err), nil
		case err != nil:
			return nil, nil, "", fmt.Errorf("backend auto: the CUDA device does not work (%w); use --backend cpu to run on the CPU", err)
		}
		return cuda.NewMetalDevice(cu), cu, "CUDA on " + cu.Name(), nil
	case "darwin":
		d, err := metal.NewDevice()
		if err != nil {
			return nil, nil, fmt.Sprintf("CPU (%v)", err), nil
		}
		return d, nil, "Metal on " + d.Name(), nil
	}
	return nil, nil, fmt.Sprintf("CPU (no GPU backend on %s)", runtime.GOOS), nil
}

type memPlan struct{ weights, kv, compute int64 }

func (p memPlan) total() int64 { return p.weights + p.kv + p.compute }

// planMemory estimates what the GPU will hold with nGPU blocks offloaded: the block
// weights (plus embedding and output when every block is there), one session's F16 KV
// cache and the activation scratch of one batch, for each of opts.Sessions sessions.
func planMemory(h llama.HParams, f *gguf.File, nGPU int, opts Options) memPlan {
	var p memPlan
	all := nGPU >= h.NLayer
	for i := range f.Tensors {
		t := &f.Tensors[i]
		var layer int
		onGPU := false
		if _, err := fmt.Sscanf(t.Name, "blk.%d.", &layer); err == nil {
			onGPU = layer < nGPU
		} else if strings.HasPrefix(t.Name, "token_embd") {
			onGPU = nGPU > 0
		} else {
			onGPU = all
		}
		if onGPU {
			p.weights += int64(t.Size)
		}
	}
	if nGPU > 0 { // the GPU keeps its KV cache in float16; each open session has its own
		n := int64(max(opts.Sessions, 1))
		p.kv = satMul(h.KVCacheBytes(opts.ContextSize, 2), n)
		p.compute = satMul(h.ScratchBytes(opts.BatchSize, all), n)
	}
	return p
}

// BackendName names the backend running the model: "cpu", "cuda", "metal",
// "metal-sim", or e.g. "cuda+cpu" when the blocks are split.
// RowCountDependent says whether the model runs on a backend (a GPU) whose products give
// a row results that depend on the batch it was evaluated in: there a session's cached
// tokens give exactly what a fresh evaluation gives only up to the last whole batch
// (Options.BatchSize) of the prompt that put them there (a server reusing a prefix
// cuts it there). On the CPU results never depend on the batch.
func (m *Model) RowCountDependent() bool { return m.llm.RowCountDependent() }

func (m *Model) BackendName() string {
	if m.gpu == nil {
		return "cpu"
	}
	if m.offloaded < m.totalLayers {
		return m.gpu.Name() + "+cpu"
	}
	return m.gpu.Name()
}

// DeviceName names the GPU ("" when everything runs on the CPU).
func (m *Model) DeviceName() string {
	if m.gpu == nil {
		return ""
	}
	return m.gpu.Device().Name()
}

// DeviceBandwidth is the peak bandwidth in bytes/s of the memory of the GPU the model
// runs on, where that GPU has memory of its own and reports it (CUDA); 0 otherwise.
func (m *Model) DeviceBandwidth() float64 {
	if m.gpu == nil {
		return 0
	}
	return m.gpu.Device().Info().MemoryBandwidth
}

// GPUMemory is what the GPU holds, in bytes.
type GPUMemory struct {
	Weights int64
	KVCache int64 // of the open sessions
	Compute int64 // the open sessions' activations
}

// GPUMemory reports the GPU memory in use (zero without a GPU).
func (m *Model) GPUMemory() GPUMemory {
	if m.gpu == nil {
		return GPUMemory{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return GPUMemory{Weights: m.gpu.WeightBytes(), KVCache: m.gpu.KVBytes(), Compute: m.gpu.ScratchBytes()}
}

// Layers is how many of the model's layers (its blocks, plus the output head) run on
// the GPU, and how many there are.
func (m *Model) Layers() (onGPU, total int) { return m.offloaded, m.totalLayers }

// DeviceInfo describes the GPU the model runs on (false when it runs on the CPU).
func (m *Model) DeviceInfo() (metal.Info, bool) {
	if m.gpu == nil {
		return metal.Info{}, false
	}
	return m.gpu.Device().Info(), true
}

// Path is the model file's path.
func (m *Model) Path() string { return m.path }

// LoadTime is how long Load took.
func (m *Model) LoadTime() time.Duration { return m.loadTime }

// HParams are the model's hyperparameters.
func (m *Model) HParams() llama.HParams { return m.llm.HParams }

// Metadata is the GGUF metadata value of key (held in memory: valid after Close).
func (m *Model) Metadata(key string) (gguf.Value, bool) { return m.file.Lookup(key) }

// Tensors describes the model file's tensors (names, types, shapes, sizes).
func (m *Model) Tensors() []gguf.TensorInfo { return slices.Clone(m.file.Tensors) }

// Tokenizer is the model's vocabulary.
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tokenizer }

// Threads is the number of CPU threads.
func (m *Model) Threads() int { return m.cpu.Threads() }

// ContextSize is the per-session context length.
func (m *Model) ContextSize() int { return m.opts.ContextSize }

// Close frees the model and its sessions' memory; it waits for a forward pass in
// progress. Afterwards sessions and a second Close return ErrClosed.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("model: %w", ErrClosed)
	}
	m.closed = true
	m.llm.Close()
	m.cpu.Close()
	if m.gpu != nil {
		m.gpu.Device().Close()
	}
	return m.file.Close()
}

// Tokenize encodes text with the model's default BOS handling and special tokens parsed.
func (m *Model) Tokenize(text string) []int32 { return m.tokenizer.Encode(text, true, true) }
