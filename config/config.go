// Package config resolves Inferno's settings from, in order of precedence: command-line
// flags, environment variables (INFERNO_ + the key in upper case, e.g.
// INFERNO_CONTEXT_SIZE), .inferno.toml in the working directory, then
// $XDG_CONFIG_HOME/inferno/config.toml, then defaults — and remembers where each value
// came from (`inferno config show`). Unknown keys are errors that name the key; unknown
// INFERNO_* variables are reported by UnknownEnv (the command warns).
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Source says where a value came from.
type Source string

const (
	Default Source = "default"
	Flag    Source = "flag"
)

// Setting is one key.
type Setting struct {
	Section string // backend_config or sampling
	Key     string
	Kind    string // "bool", "int", "float"
	Default any
	Help    string
}

// Settings are every key a config file may hold.
var Settings = []Setting{
	{"backend_config", "gpu_enabled", "bool", true, "use the GPU (CUDA or Metal) when there is one"},
	{"backend_config", "gpu_layers", "int", 999, "transformer blocks on the GPU"},
	{"backend_config", "context_size", "int", 0, "tokens per session (0: the model's, at most 4096)"},
	{"backend_config", "batch_size", "int", 512, "prompt tokens per forward pass"},
	{"backend_config", "threads", "int", 0, "CPU threads (0: all cores)"},
	{"sampling", "temperature", "float", 0.8, "temperature (0: greedy)"},
	{"sampling", "top_k", "int", 40, "top-k (0: off)"},
	{"sampling", "top_p", "float", 0.95, "top-p (1: off)"},
	{"sampling", "min_p", "float", 0.05, "min-p (0: off)"},
	{"sampling", "repeat_penalty", "float", 1.0, "repetition penalty (1: off)"},
	{"sampling", "seed", "int", -1, "random seed (-1: random)"},
}

// Value is a resolved setting.
type Value struct {
	Setting
	Value  any
	Source Source
	// Origin names the source as an error message should: the variable
	// (INFERNO_THREADS), the key and file (backend_config.threads in /x/.inferno.toml),
	// "flag" or "default".
	Origin string
}

// Config is the resolved configuration.
type Config struct {
	Values map[string]*Value // by key
	Files  []string          // config files read, lowest precedence first
}

// Load resolves the file and environment layers (flags are applied with Override).
// cwd and xdg are the directories to look in ("" to skip).
func Load(cwd, xdg string, env func(string) string) (*Config, error) {
	c := &Config{Values: map[string]*Value{}}
	for _, s := range Settings {
		c.Values[s.Key] = &Value{Setting: s, Value: s.Default, Source: Default, Origin: string(Default)}
	}
	var paths []string
	if xdg != "" {
		paths = append(paths, filepath.Join(xdg, "inferno", "config.toml"))
	}
	if cwd != "" {
		paths = append(paths, filepath.Join(cwd, ".inferno.toml"))
	}
	for _, p := range paths {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := c.readFile(p); err != nil {
			return nil, err
		}
		c.Files = append(c.Files, p)
	}
	for _, s := range Settings {
		name := envName(s)
		if v := env(name); v != "" {
			x, err := parse(s, v)
			if err != nil {
				return nil, fmt.Errorf("environment %s: %w", name, err)
			}
			val := c.Values[s.Key]
			val.Value, val.Source, val.Origin = x, Source("env "+name), name
		}
	}
	return c, nil
}

func (c *Config) readFile(path string) error {
	var raw map[string]map[string]any
	md, err := toml.DecodeFile(path, &raw)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	_ = md
	sections := map[string]bool{"backend_config": true, "sampling": true}
	var unknown []string
	for sec, kv := range raw {
		if !sections[sec] {
			unknown = append(unknown, "["+sec+"]")
			continue
		}
		for k, v := range kv {
			val, ok := c.Values[k]
			if !ok || val.Section != sec {
				unknown = append(unknown, sec+"."+k)
				continue
			}
			x, err := coerce(val.Setting, v)
			if err != nil {
				return fmt.Errorf("%s: %s.%s: %w", path, sec, k, err)
			}
			val.Value, val.Source, val.Origin = x, Source("file "+path), sec+"."+k+" in "+path
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("%s: unknown keys: %s (known: %s)", path, strings.Join(unknown, ", "), strings.Join(knownKeys(), ", "))
	}
	return nil
}

// envName is the variable that sets s: INFERNO_ and the key in upper case.
func envName(s Setting) string { return "INFERNO_" + strings.ToUpper(s.Key) }

// OtherEnv are the INFERNO_* variables read outside this package, so not unknown.
var OtherEnv = []string{
	"INFERNO_MODELS_DIR",      // modelcache: where models are downloaded
	"INFERNO_CLANG",           // metal/sim: the clang++ that builds the simulator
	"INFERNO_SIM_CACHE",       // metal/sim: where the simulator's builds are kept
	"INFERNO_SIM_WORKING_SET", // metal: the simulated device's memory
	"INFERNO_REFDATA",         // internal/refdata: the tests' reference data
	"INFERNO_CUDA_REQUIRE",    // cuda: the GPU tests fail instead of skipping without a device
	"INFERNO_CUDA_GRAPH",      // cuda: 0 launches every kernel by itself, no CUDA graphs
	"INFERNO_CUDA_DEBUG",      // cuda: report a CUDA graph failure (once) on stderr
	"INFERNO_CUDA_FUSE",       // metal (CUDA target): 0 runs a decode step op by op, without the fused kernels
	"INFERNO_CPU_KERNELS",     // cpu: the kernel set (avx512vnni, avx2, neon, portable) instead of the best this CPU runs
}

// UnknownEnv returns, sorted, the INFERNO_* variables in environ (os.Environ's
// KEY=value form) that nothing reads: most likely misspelt settings.
func UnknownEnv(environ []string) []string {
	known := map[string]bool{}
	for _, s := range Settings {
		known[envName(s)] = true
	}
	for _, name := range OtherEnv {
		known[name] = true
	}
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "INFERNO_") && !known[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	return unknown
}

// KnownEnv lists every INFERNO_* variable that is read, sorted.
func KnownEnv() []string {
	names := append([]string(nil), OtherEnv...)
	for _, s := range Settings {
		names = append(names, envName(s))
	}
	sort.Strings(names)
	return names
}

func knownKeys() []string {
	var ks []string
	for _, s := range Settings {
		ks = append(ks, s.Section+"."+s.Key)
	}
	return ks
}

func coerce(s Setting, v any) (any, error) {
	switch s.Kind {
	case "bool":
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case "int":
		if i, ok := v.(int64); ok {
			return int(i), nil
		}
	case "float":
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
	}
	return nil, fmt.Errorf("expected a %s, found %T %v", s.Kind, v, v)
}

func parse(s Setting, v string) (any, error) {
	switch s.Kind {
	case "bool":
		return strconv.ParseBool(v)
	case "int":
		return strconv.Atoi(v)
	}
	return strconv.ParseFloat(v, 64)
}

// Override sets a key from a flag (highest precedence).
func (c *Config) Override(key string, v any) {
	if val, ok := c.Values[key]; ok {
		val.Value, val.Source, val.Origin = v, Flag, string(Flag)
	}
}

// Int, Float and Bool read resolved values.
func (c *Config) Int(key string) int       { return c.Values[key].Value.(int) }
func (c *Config) Float(key string) float64 { return c.Values[key].Value.(float64) }
func (c *Config) Bool(key string) bool     { return c.Values[key].Value.(bool) }

// Dirs returns the working directory and $XDG_CONFIG_HOME (or ~/.config).
func Dirs() (cwd, xdg string) {
	cwd, _ = os.Getwd()
	xdg = os.Getenv("XDG_CONFIG_HOME")
	if xdg == "" {
		if h, err := os.UserHomeDir(); err == nil {
			xdg = filepath.Join(h, ".config")
		}
	}
	return cwd, xdg
}
