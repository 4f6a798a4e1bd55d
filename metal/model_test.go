package metal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/kernels"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/metal/sim"
	"github.com/inferno-go/inferno/model/llama"
	"github.com/inferno-go/inferno/sample"
)

func simBackend(t *testing.T) *metal.Backend {
	t.Helper()
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	d, err := metal.NewSimDevice()
	if err != nil {
		t.Fatal(err)
	}
	return metal.NewBackend(d)
}

func open(t *testing.T, path string) *gguf.File {
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func greedy(t *testing.T, m *llama.Model, prompt []int32, n int) (first []float32, toks []int32) {
	st, err := m.NewState(len(prompt)+n+1, 512, false)
	if err != nil {
		t.Fatal(err)
	}
	pos := make([]int32, len(prompt))
	for i := range pos {
		pos[i] = int32(i)
	}
	logits, _, err := st.Forward(context.Background(), prompt, pos, llama.LastLogits)
	if err != nil {
		t.Fatal(err)
	}
	first = append([]float32(nil), logits...)
	p := int32(len(prompt))
	for i := 0; i < n; i++ {
		tok := sample.Argmax(logits)
		toks = append(toks, tok)
		if i == n-1 {
			break
		}
		if logits, _, err = st.Forward(context.Background(), []int32{tok}, []int32{p}, llama.LastLogits); err != nil {
			t.Fatal(err)
		}
		p++
	}
	return first, toks
}

func nmse(a, b []float32) float64 {
	var num, den float64
	for i := range b {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return num / den
}

// TestStoriesOnSimulatedGPU: 64 greedy tokens on the simulated GPU equal the CPU
// backend's for the reference prompts, all layers offloaded and with 2 GPU layers.
func TestStoriesOnSimulatedGPU(t *testing.T) {
	gpu := simBackend(t)
	c := cpu.New(2)
	defer c.Close()
	f := open(t, refdata.Path(t, "models", "stories260K.gguf"))
	mc, err := llama.Load(c, f)
	if err != nil {
		t.Fatal(err)
	}
	mg, err := llama.Load(gpu, f)
	if err != nil {
		t.Fatal(err)
	}
	mixed, err := llama.LoadPlaced(llama.Placement{
		Layer: func(i int) backend.Backend {
			if i < 2 {
				return gpu
			}
			return c
		}, Emb: gpu, Out: c}, f)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(refdata.Path(t, "reference", "stories260K_[a-z]*_*.json"))
	for _, path := range files {
		var ref struct {
			PromptIDs []int32 `json:"prompt_ids"`
		}
		raw, _ := os.ReadFile(path)
		json.Unmarshal(raw, &ref)
		_, want := greedy(t, mc, ref.PromptIDs, 64)
		for name, m := range map[string]*llama.Model{"metal-sim": mg, "gpu-layers 2": mixed} {
			_, got := greedy(t, m, ref.PromptIDs, 64)
			same := 0
			for same < len(got) && got[same] == want[same] {
				same++
			}
			if same != len(want) {
				t.Errorf("%s %s: tokens diverge at %d\n got %v\nwant %v", name, filepath.Base(path), same, got, want)
			}
		}
	}
}

// TestMiniLogitsOnSimulatedGPU: last-position logits of every mini model within NMSE
// 2e-3 of the CPU backend's.
func TestMiniLogitsOnSimulatedGPU(t *testing.T) {
	gpu := simBackend(t)
	c := cpu.New(2)
	defer c.Close()
	models, _ := filepath.Glob(refdata.Path(t, "models", "mini", "*.gguf"))
	if len(models) == 0 {
		t.Fatal("no mini models")
	}
	prompt := []int32{1, 9038, 2501, 263, 931} // "Once upon a time"
	for _, p := range models {
		f := open(t, p)
		mc, err := llama.Load(c, f)
		if err != nil {
			t.Fatal(err)
		}
		mg, err := llama.Load(gpu, f)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := greedy(t, mc, prompt, 1)
		got, _ := greedy(t, mg, prompt, 1)
		e := nmse(got, want)
		t.Logf("%s: NMSE %.3g", filepath.Base(p), e)
		if e > 2e-3 {
			t.Errorf("%s: NMSE %.3g > 2e-3", filepath.Base(p), e)
		}
	}
}

// countingDevice counts buffer allocations.
type countingDevice struct {
	*metal.SimDevice
	allocs atomic.Int64
}

func (d *countingDevice) NewBuffer(n int) (metal.Buffer, error) {
	d.allocs.Add(1)
	return d.SimDevice.NewBuffer(n)
}

// TestDecodeAllocatesNoBuffers: once a session has run its prompt and first decode
// step, further decode steps (and greedy argmax) allocate no device buffer: arguments
// are inline, positions live in a reused staging buffer, attention's partial results
// in the session's cache.
func TestDecodeAllocatesNoBuffers(t *testing.T) {
	d := &countingDevice{SimDevice: simBackend(t).Device().(*metal.SimDevice)}
	gpu := metal.NewBackend(d)
	m, err := llama.Load(gpu, open(t, refdata.Path(t, "models", "stories260K.gguf")))
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.NewState(64, 16, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, tok, err := st.Forward(ctx, []int32{1, 200, 300, 400}, []int32{0, 1, 2, 3}, llama.Argmax)
	if err != nil {
		t.Fatal(err)
	}
	if _, tok, err = st.Forward(ctx, []int32{tok}, []int32{4}, llama.Argmax); err != nil {
		t.Fatal(err)
	}
	before := d.allocs.Load()
	for p := int32(5); p < 40; p++ {
		if _, tok, err = st.Forward(ctx, []int32{tok}, []int32{p}, llama.Argmax); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.Forward(ctx, []int32{tok}, []int32{p}, llama.LastLogits); err != nil {
			t.Fatal(err)
		}
	}
	if n := d.allocs.Load() - before; n != 0 {
		t.Errorf("70 decode steps allocated %d device buffers, want 0", n)
	}
}

// TestSessionsConcurrently: sessions created and run from several goroutines on one
// metal-sim backend (run with -race: the byte counts and the error were plain fields).
func TestSessionsConcurrently(t *testing.T) {
	gpu := simBackend(t)
	m, err := llama.Load(gpu, open(t, refdata.Path(t, "models", "stories260K.gguf")))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	toks := make([]int32, 4)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := m.NewState(32, 8, false)
			if err != nil {
				t.Error(err)
				return
			}
			_ = gpu.ScratchBytes() + gpu.KVBytes()
			_, tok, err := st.Forward(context.Background(), []int32{1, 200, 300}, []int32{0, 1, 2}, llama.Argmax)
			toks[i] = tok
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, tok := range toks[1:] {
		if tok != toks[0] {
			t.Errorf("sessions disagree: %v", toks)
		}
	}
	if err := gpu.Err(); err != nil {
		t.Fatal(err)
	}
}

// recordingDevice notes the kernels dispatched; it reports target as its Info's.
type recordingDevice struct {
	*metal.SimDevice
	kernels map[string]bool
	target  metal.Target
}

func (d *recordingDevice) Run(x metal.Dispatch) error {
	d.kernels[x.Kernel] = true
	return d.SimDevice.Run(x)
}

func (d *recordingDevice) Info() metal.Info {
	i := d.SimDevice.Info()
	i.Target = d.target
	return i
}

// dispatchedFamilies runs a prompt, a decode step and greedy sampling of stories260K
// (head dim 8) and qmini (head dim 64: CUDA's flash attention) on a backend over a device
// reporting target, and returns the kernel families used.
func dispatchedFamilies(t *testing.T, target metal.Target) map[string]bool {
	d := &recordingDevice{SimDevice: simBackend(t).Device().(*metal.SimDevice), kernels: map[string]bool{}, target: target}
	// stories260K for Llama's kernels; the arch files for backend.ArchOps' (arch.metal)
	var m *llama.Model
	var st *llama.State
	for _, path := range []string{refdata.Path(t, "models", "stories260K.gguf"), refdata.Path(t, "models", "arch", "arch-llama3-F32.gguf"),
		refdata.Path(t, "models", "arch", "arch-qwen2-F32.gguf"), refdata.Path(t, "models", "arch", "arch-gemma2-Q8_0.gguf"),
		refdata.Path(t, "models", "qmini", "qmini-Q4_0.gguf")} {
		var err error
		m, err = llama.Load(metal.NewBackend(d), open(t, path))
		if err != nil {
			t.Fatal(err)
		}
		st, err = m.NewState(64, 16, false)
		if err != nil {
			t.Fatal(err)
		}
		prompt := []int32{1, 200, 300, 400, 10, 20, 30, 40, 50, 60}
		pos := []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
		_, tok, err := st.Forward(context.Background(), prompt, pos, llama.Argmax)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.Forward(context.Background(), []int32{tok}, []int32{10}, llama.LastLogits); err != nil {
			t.Fatal(err)
		}
	}
	// a batch of a few tokens: the decode matvec without the one-token fusion
	if _, _, err := st.Forward(context.Background(), []int32{5, 6, 7}, []int32{11, 12, 13}, llama.LastLogits); err != nil {
		t.Fatal(err)
	}
	// a decode step with NeoX RoPE (pairs half a head apart: CUDA's rope_kv after the
	// products); the logits are not looked at
	spec := *m.ArchSpec // a copy: the registry's entry is shared
	spec.NeoX = !spec.NeoX
	m.ArchSpec = &spec
	if _, _, err := st.Forward(context.Background(), []int32{8}, []int32{14}, llama.LastLogits); err != nil {
		t.Fatal(err)
	}
	families := map[string]bool{}
	for k := range d.kernels {
		families[family(k)] = true
	}
	return families
}

// TestBackendDispatchesEveryKernel: a prompt, decode steps and greedy sampling use
// every kernel of the library (per-type kernels: for one type at least), so the library
// holds no kernel the backend never dispatches. A target-specific kernel
// (metal.TargetKernels) must be used on its target and never on the other.
func TestBackendDispatchesEveryKernel(t *testing.T) {
	used := map[metal.Target]map[string]bool{
		metal.TargetMetal: dispatchedFamilies(t, metal.TargetMetal),
		metal.TargetCUDA:  dispatchedFamilies(t, metal.TargetCUDA),
	}
	lib, err := sim.Load(kernels.Sources())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for k := range lib.Kernels {
		f := family(k)
		if seen[f] {
			continue
		}
		seen[f] = true
		only, specific := metal.TargetKernels[f]
		for tg, fams := range used {
			switch {
			case !specific && !fams[f]:
				t.Errorf("kernel %s: the backend never dispatches it on target %d", k, tg)
			case specific && tg == only && !fams[f]:
				t.Errorf("kernel %s: the backend never dispatches it on its target %d", k, tg)
			case specific && tg != only && fams[f]:
				t.Errorf("kernel %s: dispatched on target %d, but it is for target %d only", k, tg, only)
			}
		}
	}
	for f := range metal.TargetKernels {
		if !seen[f] {
			t.Errorf("metal.TargetKernels names %s, which the library does not have", f)
		}
	}
}

// family strips a weight type suffix: matvec_q4_k -> matvec.
func family(kernel string) string {
	for _, typ := range kernels.WeightTypes() {
		if f, ok := strings.CutSuffix(kernel, "_"+typ); ok {
			return f
		}
	}
	return kernel
}

// stepRecorder keeps the dispatches recorded since the last Sync and, at each Sync,
// appends that list to syncs.
type stepRecorder struct {
	*metal.SimDevice
	target  metal.Target
	pending []metal.Dispatch
	syncs   [][]metal.Dispatch
}

func (d *stepRecorder) Info() metal.Info {
	i := d.SimDevice.Info()
	i.Target = d.target
	return i
}

func (d *stepRecorder) Run(x metal.Dispatch) error {
	x.Args = slices.Clone(x.Args)
	for i := range x.Args {
		x.Args[i].Bytes = slices.Clone(x.Args[i].Bytes)
	}
	d.pending = append(d.pending, x)
	return d.SimDevice.Run(x)
}

func (d *stepRecorder) Sync() error {
	if len(d.pending) > 0 {
		d.syncs = append(d.syncs, d.pending)
	}
	d.pending = nil
	return d.SimDevice.Sync()
}

// sameDispatch says how a and b differ as dispatches (kernel, geometry, each
// argument's buffer, offset and inline bytes), "" if in nothing.
func sameDispatch(a, b metal.Dispatch) string {
	switch {
	case a.Kernel != b.Kernel || a.Grid != b.Grid || a.Threads != b.Threads || !slices.Equal(a.Threadgroup, b.Threadgroup) || len(a.Args) != len(b.Args):
		return fmt.Sprintf("%s grid %v threads %v vs %s grid %v threads %v", a.Kernel, a.Grid, a.Threads, b.Kernel, b.Grid, b.Threads)
	case len(a.Constants) != 0 || len(b.Constants) != 0:
		return "function constants"
	}
	for i := range a.Args {
		x, y := a.Args[i], b.Args[i]
		if x.Buf != y.Buf || x.Off != y.Off || !bytes.Equal(x.Bytes, y.Bytes) {
			return fmt.Sprintf("%s argument %d: offset %d bytes %x vs offset %d bytes %x (same buffer: %v)", a.Kernel, i, x.Off, x.Bytes, y.Off, y.Bytes, x.Buf == y.Buf)
		}
	}
	return ""
}

// TestDecodeStepsDispatchTheSame: consecutive greedy decode steps of a session record
// one dispatch list each (one Sync), identical apart from the buffers' contents — the
// position and the cached-position count are read from device memory, the attention
// grid covers the whole context (Metal) or its splits take their share of the valid
// positions on the device (CUDA's attn_decode) — so a CUDA graph captured from one
// replays the next. Both targets.
func TestDecodeStepsDispatchTheSame(t *testing.T) {
	for _, target := range []metal.Target{metal.TargetMetal, metal.TargetCUDA} {
		t.Run(fmt.Sprint("target ", target), func(t *testing.T) {
			d := &stepRecorder{SimDevice: simBackend(t).Device().(*metal.SimDevice), target: target}
			m, err := llama.Load(metal.NewBackend(d), open(t, refdata.Path(t, "models", "stories260K.gguf")))
			if err != nil {
				t.Fatal(err)
			}
			st, err := m.NewState(80, 16, false)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			_, tok, err := st.Forward(ctx, []int32{1, 200, 300, 400}, []int32{0, 1, 2, 3}, llama.Argmax)
			if err != nil {
				t.Fatal(err)
			}
			// positions 31, 32 and 33 cross a 32-position attention block
			var steps [][][]metal.Dispatch
			for p := int32(4); p < 34; p++ {
				d.syncs = nil
				if _, tok, err = st.Forward(ctx, []int32{tok}, []int32{p}, llama.Argmax); err != nil {
					t.Fatal(err)
				}
				if p >= 31 {
					steps = append(steps, d.syncs)
				}
			}
			for i, s := range steps {
				if len(s) != 1 || len(s[0]) < 16 {
					t.Fatalf("decode step %d: %d syncs, want 1 of the whole step", 31+i, len(s))
				}
			}
			for i := 1; i < len(steps); i++ {
				a, b := steps[0][0], steps[i][0]
				if len(a) != len(b) {
					t.Fatalf("decode steps at 31 and %d: %d and %d dispatches", 31+i, len(a), len(b))
				}
				for j := range a {
					if diff := sameDispatch(a[j], b[j]); diff != "" {
						t.Errorf("decode steps at 31 and %d, dispatch %d: %s", 31+i, j, diff)
					}
				}
			}
		})
	}
}

// TestQminiOnCUDATarget: the kernels the backend picks for CUDA (matmul_mma_<type> for
// the 10-token prompt, matvec_fused_<type> for the decode steps, rms_norm_wide), run on the simulator, give
// last-position logits within NMSE 2e-3 of the CPU backend's for the TinyLlama mixes'
// weight types (and F16), and are the ones dispatched: no Metal-only matmul, matvec or
// rms_norm is recorded.
func TestQminiOnCUDATarget(t *testing.T) {
	sd := simBackend(t).Device().(*metal.SimDevice)
	c := cpu.New(2)
	defer c.Close()
	// under qmini's 512-token vocabulary; at least matmulMinTokens long
	prompt := []int32{1, 200, 300, 400, 10, 20, 30, 40, 50, 60}
	for _, name := range []string{"Q4_0", "Q8_0", "Q4_K_M", "Q6_K", "F16"} {
		f := open(t, refdata.Path(t, "models", "qmini", "qmini-"+name+".gguf"))
		mc, err := llama.Load(c, f)
		if err != nil {
			t.Fatal(err)
		}
		d := &recordingDevice{SimDevice: sd, kernels: map[string]bool{}, target: metal.TargetCUDA}
		mg, err := llama.Load(metal.NewBackend(d), f)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := greedy(t, mc, prompt, 2)
		got, _ := greedy(t, mg, prompt, 2)
		e := nmse(got, want)
		t.Logf("qmini-%s: NMSE %.3g", name, e)
		if e > 2e-3 {
			t.Errorf("qmini-%s: NMSE %.3g > 2e-3", name, e)
		}
		wide, wideMM := 0, 0
		for k := range d.kernels {
			if only, ok := metal.TargetKernels[family(k)]; ok && only != metal.TargetCUDA {
				t.Errorf("qmini-%s: %s dispatched on CUDA", name, k)
			}
			if strings.HasPrefix(k, "matvec_fused_") { // decode steps: the fused matvec
				wide++
			}
			if strings.HasPrefix(k, "matmul_mma_") {
				wideMM++
			}
		}
		if wide == 0 || wideMM == 0 || !d.kernels["rms_norm_wide"] {
			t.Errorf("qmini-%s: wide kernels not dispatched: %v", name, d.kernels)
		}
	}
}
