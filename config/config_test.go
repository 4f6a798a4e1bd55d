package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPrecedence(t *testing.T) {
	cwd, xdg := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(xdg, "inferno"), 0o755)
	os.WriteFile(filepath.Join(xdg, "inferno", "config.toml"), []byte("[backend_config]\ncontext_size = 1024\nthreads = 3\n[sampling]\ntop_k = 7\n"), 0o644)
	os.WriteFile(filepath.Join(cwd, ".inferno.toml"), []byte("[backend_config]\ngpu_enabled = false\ncontext_size = 2048\nbatch_size = 256\n"), 0o644)
	env := map[string]string{"INFERNO_BATCH_SIZE": "128"}
	c, err := Load(cwd, xdg, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	c.Override("threads", 5)
	for _, w := range []struct {
		key    string
		val    any
		source string
	}{
		{"context_size", 2048, ".inferno.toml"}, // cwd file beats XDG
		{"batch_size", 128, "env INFERNO_BATCH_SIZE"},
		{"threads", 5, "flag"},
		{"top_k", 7, "config.toml"},
		{"gpu_enabled", false, ".inferno.toml"},
		{"temperature", 0.8, "default"},
	} {
		v := c.Values[w.key]
		if v.Value != w.val || !strings.Contains(string(v.Source), w.source) {
			t.Errorf("%s = %v (%s), want %v from %s", w.key, v.Value, v.Source, w.val, w.source)
		}
	}
}

func TestUnknownKeysAndTypes(t *testing.T) {
	cwd := t.TempDir()
	os.WriteFile(filepath.Join(cwd, ".inferno.toml"), []byte("[backend_config]\ngpu_layer = 3\n[sampling]\ntemprature = 1\n"), 0o644)
	_, err := Load(cwd, "", func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "backend_config.gpu_layer") || !strings.Contains(err.Error(), "sampling.temprature") {
		t.Errorf("unknown keys: %v", err)
	}
	os.WriteFile(filepath.Join(cwd, ".inferno.toml"), []byte("[backend_config]\nthreads = \"two\"\n"), 0o644)
	if _, err := Load(cwd, "", func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "threads") {
		t.Errorf("wrong type: %v", err)
	}
	os.WriteFile(filepath.Join(cwd, ".inferno.toml"), []byte(""), 0o644)
	if _, err := Load(cwd, "", func(k string) string {
		if k == "INFERNO_THREADS" {
			return "lots"
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "INFERNO_THREADS") {
		t.Errorf("bad env: %v", err)
	}
}

// TestOrigin: each value names its source as an error message needs it.
func TestOrigin(t *testing.T) {
	cwd := t.TempDir()
	file := filepath.Join(cwd, ".inferno.toml")
	os.WriteFile(file, []byte("[backend_config]\nthreads = -3\n"), 0o644)
	env := map[string]string{"INFERNO_BATCH_SIZE": "0"}
	c, err := Load(cwd, "", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"threads":     "backend_config.threads in " + file,
		"batch_size":  "INFERNO_BATCH_SIZE",
		"temperature": "default",
	} {
		if got := c.Values[key].Origin; got != want {
			t.Errorf("%s: origin %q, want %q", key, got, want)
		}
	}
}

func TestUnknownEnv(t *testing.T) {
	got := UnknownEnv([]string{"INFERNO_THREADS=2", "INFERNO_THREDS=2", "INFERNO_MODELS_DIR=/m", "HOME=/h", "INFERNO_CTX=9", "XINFERNO_A=1"})
	if want := []string{"INFERNO_CTX", "INFERNO_THREDS"}; !slices.Equal(got, want) {
		t.Errorf("unknown %v, want %v", got, want)
	}
	if known := KnownEnv(); !slices.Contains(known, "INFERNO_CONTEXT_SIZE") || !slices.Contains(known, "INFERNO_CLANG") {
		t.Errorf("known %v", known)
	}
}
