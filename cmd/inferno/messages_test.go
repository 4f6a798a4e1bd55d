package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
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
// directory and a fresh working directory.
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
	if !strings.Contains(stderr, "warning: ignoring unknown environment variables INFERNO_THREDS") {
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
}
