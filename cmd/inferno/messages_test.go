package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/inferno-go/inferno"
	cpubackend "github.com/inferno-go/inferno/cpu"
	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/metal/sim"
	"github.com/inferno-go/inferno/tensor"
)

// runCLISplit is runCLI with stdout and stderr apart, and stdin given.
func runCLISplit(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

// isolateConfig makes the test's configuration only what it writes: an empty XDG
// directory and a fresh working directory (so refdata.Path must come first).
func isolateConfig(t *testing.T) (cwd string) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cwd = t.TempDir()
	t.Chdir(cwd)
	return cwd
}

// TestConfigValueErrorsNameSource: a bad value from .inferno.toml or INFERNO_* is
// reported with its source, not as a flag the user never gave.
func TestConfigValueErrorsNameSource(t *testing.T) {
	model := refdata.Path(t, "models", "stories260K.gguf")
	cwd := isolateConfig(t)
	file := filepath.Join(cwd, ".inferno.toml")
	if err := os.WriteFile(file, []byte("[backend_config]\nthreads = -3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := runCLI(t, "run", "-m", model, "-p", "x")
	if err == nil || !strings.Contains(err.Error(), "backend_config.threads in "+file) || strings.Contains(err.Error(), "--threads") {
		t.Errorf("threads from %s: %v", file, err)
	}
	// the flag, when given, is named as a flag
	_, err = runCLI(t, "run", "-m", model, "-p", "x", "--threads", "-4")
	if err == nil || !strings.Contains(err.Error(), "--threads -4 must be >= 0") {
		t.Errorf("threads flag: %v", err)
	}
	os.Remove(file)
	t.Setenv("INFERNO_BATCH_SIZE", "0")
	_, err = runCLI(t, "run", "-m", model, "-p", "x")
	if err == nil || !strings.Contains(err.Error(), "INFERNO_BATCH_SIZE") || strings.Contains(err.Error(), "--batch") {
		t.Errorf("batch from the environment: %v", err)
	}
	t.Setenv("INFERNO_BATCH_SIZE", "")
	t.Setenv("INFERNO_TEMPERATURE", "-1")
	_, err = runCLI(t, "chat", "-m", model)
	if err == nil || !strings.Contains(err.Error(), "INFERNO_TEMPERATURE") {
		t.Errorf("temperature from the environment: %v", err)
	}
}

func TestUnknownEnvironmentVariableWarns(t *testing.T) {
	isolateConfig(t)
	t.Setenv("INFERNO_THREDS", "2")
	_, stderr, err := runCLISplit(t, "", "config", "show")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "warning: ignoring unknown environment variables ") || !strings.Contains(stderr, "INFERNO_THREDS") {
		t.Errorf("no warning for INFERNO_THREDS: %q", stderr)
	}
}

// TestLogFormatJSON: with --log-format json every line on stderr is a JSON record,
// the loading progress included.
func TestLogFormatJSON(t *testing.T) {
	model := refdata.Path(t, "models", "stories260K.gguf")
	isolateConfig(t)
	_, stderr, err := runCLISplit(t, "", "run", "-m", model, "-p", "Once", "-n", "2", "--temp", "0", "--log-format", "json")
	if err != nil {
		t.Fatal(err)
	}
	loading := 0
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var rec struct{ Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON record: %q", line)
		}
		if strings.HasPrefix(rec.Msg, "loading:") {
			loading++
		}
	}
	if loading != 1 {
		t.Errorf("%d loading records, want one:\n%s", loading, stderr)
	}
	out := filepath.Join(t.TempDir(), "logits.json")
	_, stderr, err = runCLISplit(t, "", "logits", "-m", model, "-p", "Once", "--output-json", out, "--log-format", "json")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("logits: not a JSON record: %q", line)
		}
	}
}

// TestChatContextLimits: a reply cut at the context limit says so; the drop/stop
// question is asked again on any other answer; a message that fits but for the -n
// reserve is told apart from one that does not fit at all.
func TestChatContextLimits(t *testing.T) {
	model := refdata.Path(t, "models", "stories260K.gguf")
	isolateConfig(t)
	_, stderr, err := runCLISplit(t, "Once upon a time\n", "chat", "-m", model, "-n", "0", "--ctx", "128", "--temp", "0", "-t", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "the reply stopped at the context limit of 128 tokens") {
		t.Errorf("no notice of the context limit:\n%s", stderr)
	}

	_, _, err = runCLISplit(t, "Hi\n", "chat", "-m", model, "--ctx", "256", "-t", "1")
	m := regexp.MustCompile(`this message needs (\d+) tokens plus 512 kept for the reply \(-n\)`).FindStringSubmatch(fmt.Sprint(err))
	if m == nil {
		t.Errorf("--ctx 256, -n 512: %v", err)
	} else if n, _ := strconv.Atoi(m[1]); n >= 256 {
		t.Errorf("the message alone counted as %d tokens: %v", n, err)
	}
	_, _, err = runCLISplit(t, strings.Repeat("Once upon a time ", 40)+"\n", "chat", "-m", model, "--ctx", "64", "-t", "1")
	if err == nil || !strings.Contains(err.Error(), "this message alone needs") {
		t.Errorf("a message longer than the context: %v", err)
	}

	small, err := inferno.Load(model, inferno.Options{Threads: 1, ContextSize: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	var out, log strings.Builder
	c, _ := newConversation(small, "", "", false, &out, &log)
	var asked []string
	answers := []string{"", "x", "s"}
	ask := func(q string) string { asked = append(asked, q); a := answers[0]; answers = answers[1:]; return a }
	for i := 0; i < 6 && err == nil; i++ {
		_, err = c.turn(context.Background(), "Once upon a time", greedyOpts(16), ask)
	}
	if err != errStop || len(asked) != 3 || !strings.Contains(asked[1], "Please answer d") {
		t.Errorf("drop/stop question: %v after %d questions %q", err, len(asked), asked)
	}
}

func TestChatInputErrors(t *testing.T) {
	model := refdata.Path(t, "models", "stories260K.gguf")
	isolateConfig(t)
	_, _, err := runCLISplit(t, "Hi\n", "chat", "-m", model, "-n", "-1")
	if err == nil || !strings.Contains(err.Error(), "--tokens -1 must be >= 0") {
		t.Errorf("chat -n -1: %v", err)
	}
	_, _, err = runCLISplit(t, strings.Repeat("\x00", maxInputLine+10), "chat", "-m", model, "-t", "1")
	if err == nil || !strings.Contains(err.Error(), "an input line is longer than 1048576 bytes") {
		t.Errorf("an endless line: %v", err)
	}
}

// TestRunRefusesBeforeWork: flags that would be ignored or an output that cannot be
// written are errors before the model runs; a failed run prints no timings.
func TestRunRefusesBeforeWork(t *testing.T) {
	model := refdata.Path(t, "models", "stories260K.gguf")
	isolateConfig(t)
	for _, flag := range []string{"--system", "--chat-template"} {
		_, err := runCLI(t, "run", "-m", model, "-p", "Hi", "-n", "2", flag, "zephyr")
		if err == nil || !strings.Contains(err.Error(), flag+" applies only with --chat") {
			t.Errorf("%s without --chat: %v", flag, err)
		}
	}
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "out.json")
	for _, args := range [][]string{
		{"run", "-m", model, "-p", "Once upon a time", "-n", "8", "--output-json", bad},
		{"logits", "-m", model, "-p", "Once upon a time", "--output-json", bad},
		{"run", "-m", model, "-p", "Once", "-n", "8", "--output-json", t.TempDir()},
	} {
		out, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), "--output-json") || strings.Contains(out, "loading") {
			t.Errorf("%v: %v after\n%s", args, err, out)
		}
	}
	dir := t.TempDir()
	if _, err := runCLI(t, "run", "-m", model, "-p", "Once", "-n", "2", "--output-json", filepath.Join(dir, "out.json")); err != nil {
		t.Fatal(err)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "*")); len(names) != 1 {
		t.Errorf("the output directory holds %v, want only out.json", names)
	}
	// a prompt longer than the context fails at once: no summary with absurd rates
	out, err := runCLI(t, "run", "-m", model, "--ctx", "16", "-p", strings.Repeat("Once upon a time ", 10))
	if err == nil || strings.Contains(out, "tok/s") {
		t.Errorf("failed run: %v after\n%s", err, out)
	}
}

// TestUnknownSubcommands: a command group given an unknown subcommand is an error,
// not its help and exit status 0.
func TestUnknownSubcommands(t *testing.T) {
	for _, group := range []string{"config", "kernels", "completion"} {
		_, err := runCLI(t, group, "bogus")
		if err == nil || !strings.Contains(err.Error(), `unknown command "bogus" for "inferno `+group+`"`) {
			t.Errorf("%s bogus: %v", group, err)
		}
		if out, err := runCLI(t, group); err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("%s alone: %v\n%s", group, err, out)
		}
	}
}

func TestKernelsBenchFilterMatchesNothing(t *testing.T) {
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: the Metal simulator is not available: %v", err)
	}
	_, err := runCLI(t, "kernels", "bench", "--backend", "metal-sim", "--filter", "nomatch", "--calls", "1")
	if err == nil || !strings.Contains(err.Error(), `no kernel matches --filter "nomatch"`) {
		t.Errorf("kernels bench --filter nomatch: %v", err)
	}
}

// copyGGUF writes a copy of src to a temporary file, with extra metadata and the F32
// tensors named in fill set to one value.
func copyGGUF(t *testing.T, src string, extra map[string]any, fill map[string]float32) string {
	t.Helper()
	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := gguf.NewWriter()
	for _, kv := range f.KVs {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range extra {
		if err := w.SetAny(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		data := append([]byte(nil), f.TensorData(ti)...)
		if v, ok := fill[ti.Name]; ok {
			for j := 0; j+4 <= len(data); j += 4 {
				binary.LittleEndian.PutUint32(data[j:], math.Float32bits(v))
			}
		}
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims, data); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "copy.gguf")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(out); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestJSONWithNaN: info --json and logits write NaN and infinities as strings instead of
// failing with "json: unsupported value: NaN".
func TestJSONWithNaN(t *testing.T) {
	src := refdata.Path(t, "models", "stories260K.gguf")
	isolateConfig(t)
	nan := float32(math.NaN())
	path := copyGGUF(t, src, map[string]any{"test.nan": nan, "test.inf": math.Inf(-1), "test.list": []float32{1.5, nan}},
		map[string]float32{"output_norm.weight": nan})
	out, err := runCLI(t, "info", path, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct{ Metadata []infoKV }
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, kv := range rep.Metadata {
		got[kv.Key] = kv.Value
	}
	if got["test.nan"] != "NaN" || got["test.inf"] != "-Inf" || !reflect.DeepEqual(got["test.list"], []any{1.5, "NaN"}) {
		t.Errorf("non-finite metadata: %v %v %v", got["test.nan"], got["test.inf"], got["test.list"])
	}
	logits := filepath.Join(t.TempDir(), "logits.json")
	if _, err := runCLI(t, "logits", "-m", path, "-p", "Once", "--output-json", logits); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(logits)
	var lg struct{ Logits []any }
	if err := json.Unmarshal(raw, &lg); err != nil || len(lg.Logits) != 512 || lg.Logits[0] != "NaN" {
		t.Errorf("NaN logits: %v, %d values, first %v", err, len(lg.Logits), lg.Logits[:min(1, len(lg.Logits))])
	}
	// finite values are written as before
	if b, _ := json.Marshal(jsonFloats32([]float32{1.5, -0.1, 1e-7, 3e38})); string(b) != "[1.5,-0.1,1e-7,3e+38]" {
		t.Errorf("finite values: %s", b)
	}
}

func TestPerplexityJSONWithNaN(t *testing.T) {
	model, story := refdata.Path(t, "models", "stories260K.gguf"), refdata.Path(t, "reference", "story.txt")
	isolateConfig(t) // after refdata.Path: the working directory changes
	path := copyGGUF(t, model, nil, map[string]float32{"output_norm.weight": float32(math.NaN())})
	out, err := runCLI(t, "perplexity", "-m", path, "-f", story, "--ctx", "128", "--json", "-q")
	var res struct {
		PPL    any `json:"ppl"`
		Chunks int `json:"chunks"`
	}
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.PPL != "NaN" || res.Chunks == 0 {
		t.Errorf("perplexity of a NaN model: %v, %+v from\n%s", err, res, out)
	}
}

// TestSystemKernels: the CPU path names the types the backend runs with assembly, as the
// backend reports them, and calls portable only the others.
func TestSystemKernels(t *testing.T) {
	out, err := runCLI(t, "system", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var s systemInfo
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	asmPart, portablePart, _ := strings.Cut(s.Kernels, "portable Go")
	asm := cpubackend.AssemblyTypes()
	for _, dt := range asm {
		if !regexp.MustCompile(`\b` + dt.String() + `\b`).MatchString(asmPart) {
			t.Errorf("cpu path %q does not name %s among the assembly types %v", s.Kernels, dt, asm)
		}
	}
	weightTypes := 0
	for _, dt := range tensor.AllTypes() {
		if _, ok := tensor.VecDotType(dt); ok {
			weightTypes++
		}
	}
	if len(asm) == weightTypes && portablePart != "" {
		t.Errorf("cpu path %q: every weight type has assembly here", s.Kernels)
	}
	for _, c := range []struct {
		asm  []tensor.DType
		want string
	}{
		{nil, "portable Go for every weight type"},
		{[]tensor.DType{tensor.F32, tensor.Q4_0}, " assembly for F32, Q4_0; portable Go for F16, Q4_1, "},
	} {
		if got := cpuKernels(cpubackend.SetAVX2, c.asm); !strings.Contains(got, c.want) {
			t.Errorf("cpuKernels(%v) = %q, want %q in it", c.asm, got, c.want)
		}
	}
}
