package main

import (
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
)

// TestHugeSettingsNameTheirSource: a context, batch or thread count the machine
// cannot hold is one line naming the flag or INFERNO_ variable it came from.
func TestHugeSettingsNameTheirSource(t *testing.T) {
	model := refdata.Path(t, "models", "stories260K.gguf")
	for _, c := range []struct {
		env, val string
		args     []string
		want     string
	}{
		{args: []string{"--ctx", "100000000"}, want: "--ctx 100000000 needs"},
		{args: []string{"--batch", "100000000"}, want: "--batch 100000000 needs"},
		{args: []string{"--threads", "100000000"}, want: "--threads 100000000 is more than"},
		{env: "INFERNO_CONTEXT_SIZE", val: "1000000000", want: "ctx 1000000000 (from INFERNO_CONTEXT_SIZE) needs"},
		{env: "INFERNO_THREADS", val: "100000000", want: "threads 100000000 (from INFERNO_THREADS) is more than"},
	} {
		if c.env != "" {
			t.Setenv(c.env, c.val)
		}
		args := append([]string{"run", "-m", model, "-p", "x", "-n", "1", "--backend", "cpu"}, c.args...)
		_, err := runCLI(t, args...)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v %s=%s: %v, want one line starting %q", c.args, c.env, c.val, err, c.want)
		}
		if c.env != "" {
			t.Setenv(c.env, "")
		}
	}
}
