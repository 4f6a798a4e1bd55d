package inferno

import (
	"errors"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
)

// TestLoadRefusesSettingsBeyondTheMachine: a context, batch or thread count that the
// machine cannot hold is an OptionError naming the option, returned before anything
// is allocated (it used to be "fatal error: runtime: out of memory", or a hang while
// a hundred million workers started).
func TestLoadRefusesSettingsBeyondTheMachine(t *testing.T) {
	path := refdata.Path(t, "models", "stories260K.gguf")
	for _, c := range []struct {
		opts   Options
		option string
		want   string
	}{
		{Options{Threads: 2, ContextSize: 1 << 40}, "ContextSize", "is more than the 2147483647 positions"},
		{Options{Threads: 2, ContextSize: 1 << 30}, "ContextSize", "of memory"},
		{Options{Threads: 2, BatchSize: 1 << 40}, "BatchSize", "of memory"},
		{Options{Threads: 1 << 30}, "Threads", "the most threads this machine"},
		// a context one session holds, times more sessions than memory holds (a server's slots)
		{Options{Threads: 2, ContextSize: 4096, Sessions: 1 << 30}, "ContextSize", "for 1073741824 sessions"},
		{Options{Threads: 2, Sessions: -1}, "Sessions", "must be >= 0"},
	} {
		m, err := Load(path, c.opts)
		if err == nil {
			m.Close()
			t.Errorf("%+v: loaded", c.opts)
			continue
		}
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != c.option || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v, want a one-line OptionError for %s containing %q", c.opts, err, c.option, c.want)
		}
	}
	m, err := Load(path, Options{Threads: 2, ContextSize: 4096, BatchSize: 4096})
	if err != nil {
		t.Fatalf("a context that fits: %v", err)
	}
	m.Close()
}
