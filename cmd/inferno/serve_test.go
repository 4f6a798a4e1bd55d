package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/internal/refdata"
)

func TestServeRefuses(t *testing.T) {
	path := refdata.Path(t, "models", "stories260K.gguf")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, `"model" not set`},
		{[]string{"serve", "-m", path, "--host", "0.0.0.0"}, "give --api-key KEY"},
		{[]string{"serve", "-m", path, "--api-key", "k", "--no-auth"}, "exclude each other"},
		{[]string{"serve", "-m", path, "--parallel", "0"}, "--parallel 0 must be > 0"},
		{[]string{"serve", "-m", path, "--port", "70000"}, "--port 70000"},
		{[]string{"serve", "-m", path, "-m", "other/" + "stories260K.gguf"}, `both be named "stories260K"`},
		{[]string{"serve", "-m", path, "--threads", "-2"}, "--threads -2 must be >= 0"},
		{[]string{"serve", "-m", path, "--backend", "cpu", "--parallel", "1000000000", "--ctx", "512"}, "for 1000000000 sessions"},
	} {
		var stderr strings.Builder
		err := runCLIContext(context.Background(), &stderr, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v, want a one-line error containing %q", c.args, err, c.want)
		}
	}
}

// serve with run's model flags (--ctx, --threads, --backend) answers on its port and
// shuts down when its context ends.
func TestServeAnswers(t *testing.T) {
	path := refdata.Path(t, "models", "stories260K.gguf")
	addr := make(chan string, 1)
	serveListening = func(a string) { addr <- a }
	defer func() { serveListening = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runCLIContext(ctx, io.Discard, "serve", "-m", path, "--port", "0", "--backend", "cpu", "-t", "1", "--ctx", "256", "--parallel", "2")
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	}
	resp, err := http.Get(base + "/inferno/status")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Models []struct {
			Name    string
			Context int
		}
		Slots []struct{}
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if len(st.Models) != 1 || st.Models[0].Name != "stories260K" || st.Models[0].Context != 256 || len(st.Slots) != 2 {
		t.Errorf("status: %+v", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after its context ended: %v", err)
	}
}
