package main

import (
	"context"
	"encoding/json"
	"github.com/inferno-go/inferno/sample"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/inferno-go/inferno"
	"github.com/inferno-go/inferno/cuda"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/metal/sim"
)

func TestRunOutputJSON(t *testing.T) {
	model := refdata.Path(t, "models", "stories260K.gguf")
	out := filepath.Join(t.TempDir(), "run.json")
	stdout, err := runCLI(t, "run", "-m", model, "-p", "Once upon a time", "--temp", "0", "-n", "64", "--output-json", out)
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		PromptIDs     []int32 `json:"prompt_ids"`
		GeneratedIDs  []int32 `json:"generated_ids"`
		GeneratedText string  `json:"generated_text"`
	}
	raw, _ := os.ReadFile(refdata.Path(t, "reference", "stories260K_once_upon_a_time.json"))
	json.Unmarshal(raw, &ref)
	var got runJSON
	raw, err = os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.PromptTokens, ref.PromptIDs) || !reflect.DeepEqual(got.Tokens, ref.GeneratedIDs) ||
		got.Text != ref.GeneratedText || got.StopReason != "max_tokens" || got.Backend != "cpu" {
		t.Errorf("run json: %+v", got)
	}
	if got.Timings.GenTokensPerS <= 0 || got.Timings.PromptTokensPerS <= 0 {
		t.Errorf("timings: %+v", got.Timings)
	}
	if !strings.Contains(stdout, ref.GeneratedText) || !strings.Contains(stdout, "generation: 64 tokens") {
		t.Errorf("stdout/stderr: %q", stdout)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	model := refdata.Path(t, "models", "stories260K.gguf")
	for _, args := range [][]string{
		{"run", "-m", model, "-p", "x", "--temp", "-1"},
		{"run", "-m", model, "-p", "x", "--top-p", "0"},
		{"run", "-m", model, "-p", "x", "--tokens", "-3"},
		{"run", "-m", model},
		{"run", "-p", "x"},
		{"run", "-m", model, "-p", "x", "--bogus"},
		{"run", "-m", "/nonexistent.gguf", "-p", "x"},
	} {
		if _, err := runCLI(t, args...); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

func TestTokenizeAndLogits(t *testing.T) {
	model := refdata.Path(t, "models", "stories260K.gguf")
	out, err := runCLI(t, "tokenize", "-m", model, "--text", "Once upon a time", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ IDs []int32 }
	json.Unmarshal([]byte(out), &tok)
	if !reflect.DeepEqual(tok.IDs, []int32{1, 403, 407, 261, 378}) {
		t.Errorf("tokenize: %s", out)
	}
	path := filepath.Join(t.TempDir(), "logits.json")
	if _, err := runCLI(t, "logits", "-m", model, "-p", "Once upon a time", "--output-json", path); err != nil {
		t.Fatal(err)
	}
	var lg struct {
		PromptTokens []int32   `json:"prompt_tokens"`
		Logits       []float32 `json:"logits"`
	}
	raw, _ := os.ReadFile(path)
	json.Unmarshal(raw, &lg)
	var ref struct {
		LastLogits []float32 `json:"last_logits"`
	}
	raw, _ = os.ReadFile(refdata.Path(t, "reference", "stories260K_once_upon_a_time.json"))
	json.Unmarshal(raw, &ref)
	if len(lg.Logits) != 512 || len(lg.PromptTokens) != 5 {
		t.Fatalf("logits: %d values, %d prompt tokens", len(lg.Logits), len(lg.PromptTokens))
	}
	var num, den float64
	for i := range ref.LastLogits {
		d := float64(lg.Logits[i] - ref.LastLogits[i])
		num += d * d
		den += float64(ref.LastLogits[i]) * float64(ref.LastLogits[i])
	}
	if num/den > 1e-6 {
		t.Errorf("logits NMSE %.3g", num/den)
	}
}

// TestPerplexity: within 0.5% of llama-perplexity's figures.
func TestPerplexity(t *testing.T) {
	story, err := os.ReadFile(refdata.Path(t, "reference", "story.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		model    string
		ctx      int
		ppl, err float64
	}{
		{"stories260K.gguf", 128, 3.8480, 0.26189},
		{"stories260K.gguf", 256, 3.9540, 0.28521},
		{"stories260K-Q4_K_M-mixed.gguf", 128, 3.9140, 0.26902},
		{"mini/mini-llama-Q4_K_M.gguf", 128, 35669.9049, 0},
	} {
		m, err := inferno.Load(refdata.Path(t, "models", c.model), inferno.Options{Threads: 2, ContextSize: c.ctx})
		if err != nil {
			t.Fatal(err)
		}
		res, err := perplexity(m, string(story), c.ctx, nil)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		if rel := math.Abs(res.PPL-c.ppl) / c.ppl; rel > 0.005 {
			t.Errorf("%s c=%d: PPL %.4f, llama.cpp %.4f (%.2f%% off)", c.model, c.ctx, res.PPL, c.ppl, 100*rel)
		}
		if c.err > 0 && math.Abs(res.StdErr-c.err)/c.err > 0.01 {
			t.Errorf("%s c=%d: ± %.5f, llama.cpp %.5f", c.model, c.ctx, res.StdErr, c.err)
		}
		t.Logf("%s c=%d: PPL %.4f ± %.5f (llama.cpp %.4f)", c.model, c.ctx, res.PPL, res.StdErr, c.ppl)
	}
}

func TestKernelsCommand(t *testing.T) {
	if _, err := runCLI(t, "kernels", "test", "--backend", "bogus"); err == nil {
		t.Error("unknown backend accepted")
	}
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	out, err := runCLI(t, "kernels", "test", "--backend", "metal-sim", "--filter", "norm")
	if err != nil || !strings.Contains(out, "6 passed, 0 failed") || !strings.Contains(out, "PASS  rms_norm 2x4096") || !strings.Contains(out, "PASS  rms_norm_wide 2x4096") {
		t.Errorf("kernels test: %v\n%s", err, out)
	}
	out, err = runCLI(t, "kernels", "bench", "--backend", "metal-sim", "--filter", "matvec_q8_0", "--calls", "1", "--json")
	if err != nil || !strings.Contains(out, `"simulated": true`) || !strings.Contains(out, `"kernel": "matvec_q8_0"`) {
		t.Errorf("kernels bench: %v\n%s", err, out)
	}
	out, err = runCLI(t, "kernels", "bench", "--backend", "metal-sim", "--filter", "_wide", "--calls", "1", "--json")
	if err != nil || !strings.Contains(out, `"kernel": "matvec_wide_q4_k"`) || !strings.Contains(out, `"kernel": "rms_norm_wide"`) {
		t.Errorf("kernels bench --filter _wide: %v\n%s", err, out)
	}
	out, err = runCLI(t, "kernels", "bench", "--backend", "metal-sim", "--decode", "--filter", "matvec_q4_0", "--calls", "1")
	if err != nil || strings.Count(out, "matvec_q4_0 ") != 5 || !strings.Contains(out, "gate/up 5632x2048") || !strings.Contains(out, "output 32000x2048") {
		t.Errorf("kernels bench --decode: %v\n%s", err, out)
	}
	// the CUDA entry points on the simulator, in another lane order
	out, err = runCLI(t, "kernels", "test", "--backend", "cuda-sim", "--lane-order", "reverse", "--filter", "norm")
	if err != nil || !strings.Contains(out, "device: cuda-sim") || !strings.Contains(out, "6 passed, 0 failed") || !strings.Contains(out, "PASS  rms_norm_wide 2x4096") {
		t.Errorf("kernels test --backend cuda-sim: %v\n%s", err, out)
	}
	out, err = runCLI(t, "kernels", "bench", "--backend", "cuda-sim", "--filter", "rms_norm_wide", "--calls", "1", "--json")
	if err != nil || !strings.Contains(out, `"simulated": true`) || !strings.Contains(out, `"kernel": "rms_norm_wide"`) {
		t.Errorf("kernels bench --backend cuda-sim: %v\n%s", err, out)
	}
}

// TestChatReusesCache: the second turn evaluates only what it adds; /reset starts over.
func TestChatReusesCache(t *testing.T) {
	m, err := inferno.Load(refdata.Path(t, "models", "stories260K.gguf"), inferno.Options{Threads: 2, ContextSize: 512})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var out, log strings.Builder
	c, err := newConversation(m, "", "Tell stories.", false, &out, &log)
	if err != nil {
		t.Fatal(err)
	}
	if c.tmpl.Name != "chatml" {
		t.Errorf("template %s, want the chatml fallback (stories260K has none)", c.tmpl.Name)
	}
	p := greedyOpts(24)
	if _, err := c.turn(context.Background(), "Once upon a time", p, nil); err != nil {
		t.Fatal(err)
	}
	first := c.Evaluated
	_, full, _ := c.tokens()
	if _, err := c.turn(context.Background(), "The little dog", p, nil); err != nil {
		t.Fatal(err)
	}
	second := c.Evaluated - first
	_, full2, _ := c.tokens()
	if second >= len(full2)-len(full)+20 || second <= 0 {
		t.Errorf("second turn evaluated %d tokens of a %d-token prompt (first prompt %d)", second, len(full2), len(full))
	}
	// the REPL: /reset and /exit
	out.Reset()
	c2, _ := newConversation(m, "", "", false, &out, &log)
	if err := c2.repl(strings.NewReader("Hello\n/reset\nHi\n/exit\n"), p, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "(conversation reset)") || len(c2.msgs) != 2 {
		t.Errorf("repl: %d messages, log %q", len(c2.msgs), log.String())
	}
	// context full: the user is asked; "s" stops
	small, _ := inferno.Load(refdata.Path(t, "models", "stories260K.gguf"), inferno.Options{Threads: 1, ContextSize: 120})
	defer small.Close()
	c3, _ := newConversation(small, "", "", false, &out, &log)
	asked := ""
	ask := func(q string) string { asked = q; return "s" }
	var errLast error
	for i := 0; i < 6 && errLast == nil; i++ {
		_, errLast = c3.turn(context.Background(), "Once upon a time", greedyOpts(16), ask)
	}
	if errLast != errStop || !strings.Contains(asked, "context full") {
		t.Errorf("context limit: %v, asked %q", errLast, asked)
	}
	// "d" drops the oldest turn and the conversation goes on
	c4, _ := newConversation(small, "", "", false, &out, &log)
	drops := 0
	askDrop := func(string) string { drops++; return "d" }
	for i := 0; i < 6; i++ {
		if _, err := c4.turn(context.Background(), "Once upon a time", greedyOpts(16), askDrop); err != nil {
			t.Fatalf("turn %d after dropping: %v", i, err)
		}
	}
	if drops == 0 || len(c4.msgs) >= 12 {
		t.Errorf("dropping: asked %d times, %d messages kept", drops, len(c4.msgs))
	}
	// Ctrl-C cancels the reply's context: the reply stops, the next turn still works
	c5, _ := newConversation(m, "", "", false, &out, &log)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := c5.turn(cancelled, "Once upon a time", greedyOpts(24), nil)
	if err != nil || res.StopReason != inferno.StopCancelled {
		t.Errorf("cancelled turn: %v, stop reason %v", err, res)
	}
	if _, err := c5.turn(context.Background(), "The little dog", greedyOpts(8), nil); err != nil {
		t.Errorf("turn after a cancelled one: %v", err)
	}
}

func greedyOpts(n int) inferno.GenerateOptions {
	p := sample.Defaults()
	p.Temperature = 0
	return inferno.GenerateOptions{MaxTokens: n, Sampling: p}
}

func TestRunChatVerbosePrompt(t *testing.T) {
	model := refdata.Path(t, "models", "stories260K.gguf")
	out, err := runCLI(t, "run", "-m", model, "-p", "Hi", "--chat", "--system", "Be nice", "--verbose-prompt", "--temp", "0", "-n", "4", "--chat-template", "zephyr")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "<|system|>\nBe nice</s>") || !strings.Contains(out, "prompt ids (") {
		t.Errorf("verbose prompt:\n%s", out)
	}
}

func TestSystemAndQuantizeCommands(t *testing.T) {
	out, err := runCLI(t, "system", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var s systemInfo
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Cores < 1 || s.Backends["cpu"] != "available" {
		t.Errorf("system: %v %+v", err, s)
	}
	// cuda: its devices, or why not (no driver here)
	if c := s.Backends["cuda"]; c == "" || (strings.HasPrefix(c, "available") != (len(s.CUDA) > 0)) {
		t.Errorf("system: cuda %q with %d devices", c, len(s.CUDA))
	}
	if s.Backends["cuda-sim"] == "" || s.Backends["cuda-sim"] != s.Backends["metal-sim"] {
		t.Errorf("system: cuda-sim %q, metal-sim %q: want the simulator's one status for both", s.Backends["cuda-sim"], s.Backends["metal-sim"])
	}
	dst := filepath.Join(t.TempDir(), "q.gguf")
	if _, err := runCLI(t, "quantize", refdata.Path(t, "models", "qmini", "qmini-F32.gguf"), dst, "Q4_K_M", "-q"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := os.ReadFile(refdata.Path(t, "models", "qmini", "qmini-Q4_K_M.gguf"))
	// same tensor data section (metadata order may differ only in KV position; here it is the same)
	if len(got) != len(ref) {
		t.Errorf("quantized file is %d bytes, llama-quantize's %d", len(got), len(ref))
	}
	if _, err := runCLI(t, "quantize", "in", "out", "Q9_X"); err == nil || !strings.Contains(err.Error(), "unknown quantization type") {
		t.Errorf("bad type: %v", err)
	}
	if _, err := runCLI(t, "run", "-m", "x", "-p", "y", "--log-format", "xml"); err == nil {
		t.Error("--log-format xml accepted")
	}
}

func TestCPUProfileFlag(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	if _, err := runCLI(t, "--cpuprofile", prof, "tokenize", "-m", refdata.Path(t, "models", "stories260K.gguf"), "--text", "Once upon a time"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Errorf("--cpuprofile wrote nothing: %v", err)
	}
	if _, err := runCLI(t, "--cpuprofile", filepath.Join(t.TempDir(), "no", "such", "dir", "p"), "system"); err == nil {
		t.Error("--cpuprofile into a missing directory: accepted")
	}
}

// TestRunCUDAWithoutDriver: `run --backend cuda` on a machine without the NVIDIA
// driver fails at once with one line saying so; it does not run on the CPU.
func TestRunCUDAWithoutDriver(t *testing.T) {
	if d, err := cuda.Open(0); err == nil {
		d.Close()
		t.Skip("SKIP: a CUDA driver and device are present")
	}
	out, err := runCLI(t, "run", "-m", refdata.Path(t, "models", "stories260K.gguf"), "-p", "x", "-n", "4", "--backend", "cuda")
	if err == nil || !strings.HasPrefix(err.Error(), "backend cuda: cuda: no NVIDIA driver") || strings.Contains(err.Error(), "\n") {
		t.Errorf("run --backend cuda: %v", err)
	}
	if strings.Contains(out, "GPU enabled: false") {
		t.Errorf("it fell back to the CPU:\n%s", out)
	}
}
