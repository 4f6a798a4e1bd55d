// Package bench measures end-to-end speed the way llama-bench does — prompt processing
// (ppN: N tokens in one batch) and token generation (tgN: N tokens one at a time) as
// separate tests over several iterations — and the machine's memory read bandwidth, so
// token generation can be reported as a fraction of the bandwidth limit.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/inferno-go/inferno"
	"github.com/inferno-go/inferno/cpu"
)

// SchemaVersion of the JSON report (docs/bench.md).
const SchemaVersion = 1

// Stats summarize samples.
type Stats struct {
	Mean   float64 `json:"mean"`
	StdDev float64 `json:"stddev"`
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

func summarize(x []float64) Stats {
	if len(x) == 0 {
		return Stats{}
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	var sum float64
	for _, v := range s {
		sum += v
	}
	mean := sum / float64(len(s))
	var ss float64
	for _, v := range s {
		ss += (v - mean) * (v - mean)
	}
	sd := 0.0
	if len(s) > 1 {
		sd = math.Sqrt(ss / float64(len(s)-1))
	}
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stats{Mean: mean, StdDev: sd, Min: s[0], Median: med, Max: s[len(s)-1]}
}

// Result is one test.
type Result struct {
	Test         string    `json:"test"` // "pp512", "tg128"
	NPrompt      int       `json:"n_prompt"`
	NGen         int       `json:"n_gen"`
	TokensPerSec Stats     `json:"tokens_per_s"`
	Samples      []float64 `json:"samples_ts"`
	// Generation only: weight bytes read per token × tok/s ÷ measured bandwidth.
	BandwidthFraction float64 `json:"bandwidth_fraction,omitempty"`
}

// ModelInfo describes the model under test.
type ModelInfo struct {
	Path          string         `json:"path"`
	SizeBytes     int64          `json:"size_bytes"`
	Params        uint64         `json:"params"`
	BitsPerWeight float64        `json:"bits_per_weight"`
	TypeMix       map[string]int `json:"type_mix"` // tensors per type
	FileType      string         `json:"file_type,omitempty"`
	BytesPerToken int64          `json:"weight_bytes_read_per_token"`
}

// SystemInfo describes where it ran.
type SystemInfo struct {
	CPU            string  `json:"cpu"`
	Cores          int     `json:"cores"`
	Threads        int     `json:"threads"`
	Backend        string  `json:"backend"`
	Device         string  `json:"device"`
	OS             string  `json:"os"`
	Arch           string  `json:"arch"`
	GoVersion      string  `json:"go_version"`
	Version        string  `json:"inferno_version"`
	MemBandwidthGB float64 `json:"mem_read_bandwidth_gb_s"`
	CPUKernels     string  `json:"cpu_kernel_set"` // the CPU backend's kernel set (cpu.KernelSet)
	// DeviceBandwidthGB is the GPU memory's peak (driver-reported) when the model runs
	// on a GPU with memory of its own; bandwidth_fraction is then of this figure.
	DeviceBandwidthGB float64 `json:"device_bandwidth_gb_s,omitempty"`
}

// Report is the whole benchmark.
type Report struct {
	SchemaVersion int        `json:"schema_version"`
	Time          string     `json:"time"`
	Results       []Result   `json:"results"`
	Model         ModelInfo  `json:"model"`
	System        SystemInfo `json:"system"`
	LoadMS        float64    `json:"load_ms"`
	PeakRSSBytes  int64      `json:"peak_rss_bytes"`
	Iterations    int        `json:"iterations"`
	Warmup        int        `json:"warmup"`
}

// Options of a run.
type Options struct {
	Iterations, Warmup int
	PromptTokens       int // 0: skip pp
	GenTokens          int // 0: skip tg
	Version            string
	Progress           func(string)
}

// Run benchmarks a loaded model.
func Run(m *inferno.Model, opt Options) (*Report, error) {
	r := &Report{SchemaVersion: SchemaVersion, Time: time.Now().UTC().Format(time.RFC3339),
		Iterations: opt.Iterations, Warmup: opt.Warmup, LoadMS: float64(m.LoadTime().Microseconds()) / 1000}
	r.Model = modelInfo(m)
	r.System = SystemInfo{CPU: cpuName(), Cores: runtime.NumCPU(), Threads: m.Threads(), Backend: m.BackendName(),
		Device: deviceName(m), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version(), Version: opt.Version}
	r.System.CPUKernels, _ = cpu.KernelSet()
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := m.HParams().NVocab
	randomTokens := func(n int) []int32 {
		t := make([]int32, n)
		for i := range t {
			t[i] = int32(rng.IntN(vocab))
		}
		return t
	}
	if opt.PromptTokens > 0 {
		if opt.PromptTokens > m.ContextSize() {
			return nil, fmt.Errorf("--prompt-tokens %d exceeds the context %d", opt.PromptTokens, m.ContextSize())
		}
		res := Result{Test: fmt.Sprintf("pp%d", opt.PromptTokens), NPrompt: opt.PromptTokens}
		s, err := m.NewSession()
		if err != nil {
			return nil, err
		}
		defer s.Close()
		for i := 0; i < opt.Warmup+opt.Iterations; i++ {
			s.Reset()
			toks := randomTokens(opt.PromptTokens)
			t0 := time.Now()
			if _, err := s.Eval(context.Background(), toks); err != nil {
				return nil, err
			}
			ts := float64(len(toks)) / time.Since(t0).Seconds()
			if i >= opt.Warmup {
				res.Samples = append(res.Samples, ts)
			}
			progress(opt, "%s iteration %d: %.2f tok/s", res.Test, i+1-opt.Warmup, ts)
		}
		res.TokensPerSec = summarize(res.Samples)
		r.Results = append(r.Results, res)
	}
	if opt.GenTokens > 0 {
		if opt.GenTokens+1 > m.ContextSize() {
			return nil, fmt.Errorf("--tokens %d exceeds the context %d", opt.GenTokens, m.ContextSize())
		}
		res := Result{Test: fmt.Sprintf("tg%d", opt.GenTokens), NGen: opt.GenTokens}
		s, err := m.NewSession()
		if err != nil {
			return nil, err
		}
		defer s.Close()
		for i := 0; i < opt.Warmup+opt.Iterations; i++ {
			s.Reset()
			toks := randomTokens(opt.GenTokens)
			t0 := time.Now()
			for _, t := range toks { // one token per forward pass, as generation does
				if _, err := s.Eval(context.Background(), []int32{t}); err != nil {
					return nil, err
				}
			}
			ts := float64(len(toks)) / time.Since(t0).Seconds()
			if i >= opt.Warmup {
				res.Samples = append(res.Samples, ts)
			}
			progress(opt, "%s iteration %d: %.2f tok/s", res.Test, i+1-opt.Warmup, ts)
		}
		res.TokensPerSec = summarize(res.Samples)
		r.Results = append(r.Results, res)
	}
	progress(opt, "measuring memory read bandwidth")
	r.System.MemBandwidthGB = MemoryBandwidth(m.Threads())
	limit := r.System.MemBandwidthGB // the weights stream from host memory (CPU, unified memory)
	if bw := m.DeviceBandwidth(); bw > 0 {
		r.System.DeviceBandwidthGB = bw / 1e9
		limit = r.System.DeviceBandwidthGB
	}
	for i := range r.Results {
		if r.Results[i].NGen > 0 && limit > 0 {
			r.Results[i].BandwidthFraction = float64(r.Model.BytesPerToken) * r.Results[i].TokensPerSec.Median / (limit * 1e9)
		}
	}
	r.PeakRSSBytes = peakRSS()
	return r, nil
}

func progress(opt Options, format string, args ...any) {
	if opt.Progress != nil {
		opt.Progress(fmt.Sprintf(format, args...))
	}
}

func modelInfo(m *inferno.Model) ModelInfo {
	mi := ModelInfo{Path: m.Path(), TypeMix: map[string]int{}}
	if st, err := os.Stat(m.Path()); err == nil {
		mi.SizeBytes = st.Size()
	}
	var bytes uint64
	hasOutput := false
	tensors := m.Tensors()
	for _, t := range tensors {
		if t.Name == "output.weight" {
			hasOutput = true
		}
	}
	for _, t := range tensors {
		mi.Params += t.NumElements()
		bytes += t.Size
		mi.TypeMix[t.Type.String()]++
		// every weight is read once per token except the embedding table (one row),
		// which doubles as the output matrix when the model ties them
		if t.Name != "token_embd.weight" || !hasOutput {
			mi.BytesPerToken += int64(t.Size)
		}
	}
	if mi.Params > 0 {
		mi.BitsPerWeight = 8 * float64(bytes) / float64(mi.Params)
	}
	if v, ok := m.Metadata("general.file_type"); ok {
		if n, ok := v.Int(); ok {
			mi.FileType = fmt.Sprint(n)
		}
	}
	return mi
}

func deviceName(m *inferno.Model) string {
	if name := m.DeviceName(); name != "" {
		return name
	}
	return cpuName()
}

func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.Index(l, ":"); i >= 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return runtime.GOARCH
}

// MemoryBandwidth measures read bandwidth in GB/s: threads sum a 512 MiB buffer with the
// CPU's widest loads (cpu.StreamSum; best of 3). A scalar loop reads ~25% less here, which
// would flatter the fraction of the limit that generation reaches.
func MemoryBandwidth(threads int) float64 {
	const n = 64 << 20 // uint64s = 512 MiB
	buf := make([]uint64, n)
	for i := range buf {
		buf[i] = uint64(i)
	}
	threads = max(1, threads)
	best := 0.0
	var sink uint64
	for rep := 0; rep < 3; rep++ {
		var wg sync.WaitGroup
		sums := make([]uint64, threads*8)
		t0 := time.Now()
		chunk := n / threads
		for t := 0; t < threads; t++ {
			wg.Add(1)
			go func(t int) {
				defer wg.Done()
				part := buf[t*chunk : (t+1)*chunk]
				sums[t*8] = cpu.StreamSum(part)
			}(t)
		}
		wg.Wait()
		gbs := float64(n*8) / time.Since(t0).Seconds() / 1e9
		best = max(best, gbs)
		for _, s := range sums {
			sink += s
		}
	}
	runtime.KeepAlive(sink)
	return best
}

// LlamaBenchResult is one entry of llama-bench's JSON output.
type LlamaBenchResult struct {
	NPrompt int     `json:"n_prompt"`
	NGen    int     `json:"n_gen"`
	AvgTS   float64 `json:"avg_ts"`
	StdTS   float64 `json:"stddev_ts"`
	Threads int     `json:"n_threads"`
}

// LoadLlamaBench reads a llama-bench -o json file.
func LoadLlamaBench(path string) ([]LlamaBenchResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rs []LlamaBenchResult
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("%s: not llama-bench JSON: %w", path, err)
	}
	return rs, nil
}

// Compare pairs our tests with llama-bench's by (n_prompt, n_gen): ours / theirs.
type Comparison struct {
	Test       string
	Ours       float64
	LlamaCpp   float64
	LlamaCppSD float64
	Ratio      float64
}

func CompareWith(r *Report, ref []LlamaBenchResult) []Comparison {
	var out []Comparison
	for _, res := range r.Results {
		for _, x := range ref {
			if x.NPrompt == res.NPrompt && x.NGen == res.NGen && x.AvgTS > 0 {
				out = append(out, Comparison{Test: res.Test, Ours: res.TokensPerSec.Mean, LlamaCpp: x.AvgTS, LlamaCppSD: x.StdTS,
					Ratio: res.TokensPerSec.Mean / x.AvgTS})
			}
		}
	}
	return out
}
