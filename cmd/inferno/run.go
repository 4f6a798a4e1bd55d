package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/inferno-go/inferno"
	"github.com/inferno-go/inferno/chat"
	"github.com/inferno-go/inferno/config"
	"github.com/inferno-go/inferno/modelcache"
	"github.com/inferno-go/inferno/sample"
	"github.com/spf13/cobra"
)

// modelFlags are shared by every command that loads a model.
type modelFlags struct {
	model     string
	threads   int
	ctx       int
	batch     int
	f32KV     bool
	backend   string
	gpuLayers int
	// from holds where a config key's value came from ("env INFERNO_THREADS", "file
	// PATH") when the flag was not given.
	from map[string]config.Source
}

func (f *modelFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.model, "model", "m", "", "GGUF model file, or the name of a model in the cache (inferno list) (required)")
	cmd.Flags().IntVarP(&f.threads, "threads", "t", 0, "CPU threads (0: all cores)")
	cmd.Flags().IntVar(&f.ctx, "ctx", 0, "context size in tokens (0: the model's, at most 4096)")
	cmd.Flags().IntVar(&f.batch, "batch", 512, "prompt tokens per forward pass")
	cmd.Flags().BoolVar(&f.f32KV, "f32-kv", false, "keep the KV cache in float32 (default float16, as llama.cpp)")
	cmd.Flags().StringVar(&f.backend, "backend", "auto", "auto (Metal when a device exists), cpu, metal, or metal-sim (the Metal kernels on the CPU simulator)")
	cmd.Flags().IntVar(&f.gpuLayers, "gpu-layers", 999, "transformer blocks on the GPU, first ones first (0: CPU only)")
	_ = cmd.MarkFlagRequired("model")
}

func (f *modelFlags) validate() error {
	switch {
	case f.threads < 0:
		return fmt.Errorf("--threads %d must be >= 0", f.threads)
	case f.ctx < 0:
		return fmt.Errorf("--ctx %d must be >= 0", f.ctx)
	case f.batch <= 0:
		return fmt.Errorf("--batch %d must be > 0", f.batch)
	case f.gpuLayers < 0:
		return fmt.Errorf("--gpu-layers %d must be >= 0", f.gpuLayers)
	}
	return nil
}

// applyConfig fills every flag the user did not set from the configuration
// (.inferno.toml, $XDG_CONFIG_HOME/inferno/config.toml, INFERNO_* variables).
func (f *modelFlags) applyConfig(cmd *cobra.Command) error {
	c, err := loadConfig()
	if err != nil {
		return err
	}
	fl := cmd.Flags()
	f.from = map[string]config.Source{}
	for _, o := range loadOptions {
		if !fl.Changed(o.flag) && c.Values[o.key].Source != config.Default {
			f.from[o.key] = c.Values[o.key].Source
		}
	}
	if !fl.Changed("threads") {
		f.threads = c.Int("threads")
	}
	if !fl.Changed("ctx") && c.Int("context_size") != 0 {
		f.ctx = c.Int("context_size")
	}
	if !fl.Changed("batch") {
		f.batch = c.Int("batch_size")
	}
	if !fl.Changed("gpu-layers") {
		f.gpuLayers = c.Int("gpu_layers")
	}
	if !fl.Changed("backend") && !c.Bool("gpu_enabled") {
		f.backend = "cpu"
	}
	return nil
}

func (f *modelFlags) load(stderr io.Writer) (*inferno.Model, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	backend := f.backend
	if f.gpuLayers == 0 {
		backend = "cpu"
	}
	path, err := modelcache.Resolve(f.model)
	if err != nil {
		return nil, err
	}
	lp := newProgress(stderr, "loading")
	if !lp.tty { // plain logs get one line when done, not ten
		lp.last = 90
	}
	m, err := inferno.Load(path, inferno.Options{Threads: f.threads, ContextSize: f.ctx, BatchSize: f.batch,
		F32KVCache: f.f32KV, Backend: backend, GPULayers: f.gpuLayers, Log: logWriter(stderr),
		LoadProgress: func(done, total int) { lp.update(done, total, "blocks") }})
	var oe *inferno.OptionError
	if errors.As(err, &oe) {
		return nil, fmt.Errorf("%s %s", f.setting(oe.Option, oe.Value), oe.Reason)
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logWriter(stderr), "backend %s, %d CPU threads, context %d tokens\n", m.BackendName(), m.Threads(), m.ContextSize())
	return m, nil
}

// loadOptions are the inferno.Options fields an OptionError may name, with their flag
// and config key.
var loadOptions = map[string]struct{ flag, key string }{
	"Threads": {"threads", "threads"}, "ContextSize": {"ctx", "context_size"}, "BatchSize": {"batch", "batch_size"},
}

// setting names a Load option as the user gave it: the flag, the INFERNO_ variable or
// the config file's key.
func (f *modelFlags) setting(option string, value int) string {
	o := loadOptions[option]
	src := string(f.from[o.key])
	switch {
	case strings.HasPrefix(src, "env "):
		return fmt.Sprintf("%s=%d", strings.TrimPrefix(src, "env "), value)
	case strings.HasPrefix(src, "file "):
		return fmt.Sprintf("%s = %d (%s)", o.key, value, strings.TrimPrefix(src, "file "))
	}
	return fmt.Sprintf("--%s %d", o.flag, value)
}

type samplingFlags struct {
	temp, topP, minP, repeat, freq, presence float32
	topK, lastN                              int
	seed                                     int64
}

func (s *samplingFlags) register(cmd *cobra.Command) {
	d := sample.Defaults()
	cmd.Flags().Float32Var(&s.temp, "temp", d.Temperature, "temperature (0: greedy)")
	cmd.Flags().IntVar(&s.topK, "top-k", d.TopK, "top-k (0: disabled)")
	cmd.Flags().Float32Var(&s.topP, "top-p", d.TopP, "top-p in (0, 1] (1: disabled)")
	cmd.Flags().Float32Var(&s.minP, "min-p", d.MinP, "min-p in [0, 1] (0: disabled)")
	cmd.Flags().Float32Var(&s.repeat, "repeat-penalty", d.RepeatPenalty, "repetition penalty (1: disabled)")
	cmd.Flags().Float32Var(&s.freq, "frequency-penalty", 0, "frequency penalty")
	cmd.Flags().Float32Var(&s.presence, "presence-penalty", 0, "presence penalty")
	cmd.Flags().IntVar(&s.lastN, "repeat-last-n", d.PenaltyLastN, "tokens of history the penalties see (-1: all)")
	cmd.Flags().Int64Var(&s.seed, "seed", -1, "random seed (-1: random)")
}

// applyConfig fills unset sampling flags from the [sampling] section.
func (s *samplingFlags) applyConfig(cmd *cobra.Command) error {
	c, err := loadConfig()
	if err != nil {
		return err
	}
	fl := cmd.Flags()
	if !fl.Changed("temp") {
		s.temp = float32(c.Float("temperature"))
	}
	if !fl.Changed("top-k") {
		s.topK = c.Int("top_k")
	}
	if !fl.Changed("top-p") {
		s.topP = float32(c.Float("top_p"))
	}
	if !fl.Changed("min-p") {
		s.minP = float32(c.Float("min_p"))
	}
	if !fl.Changed("repeat-penalty") {
		s.repeat = float32(c.Float("repeat_penalty"))
	}
	if !fl.Changed("seed") {
		s.seed = int64(c.Int("seed"))
	}
	return nil
}

func (s *samplingFlags) params() (sample.Params, error) {
	p := sample.Params{Temperature: s.temp, TopK: s.topK, TopP: s.topP, MinP: s.minP, RepeatPenalty: s.repeat,
		FrequencyPenalty: s.freq, PresencePenalty: s.presence, PenaltyLastN: s.lastN, Seed: uint64(s.seed)}
	if s.seed < 0 {
		p.Seed = uint64(randomSeed())
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("sampling flags: %w", err)
	}
	return p, nil
}

type runJSON struct {
	Model        string      `json:"model"`
	Backend      string      `json:"backend"`
	PromptTokens []int32     `json:"prompt_tokens"`
	Tokens       []int32     `json:"tokens"`
	Text         string      `json:"text"`
	StopReason   string      `json:"stop_reason"`
	Timings      timingsJSON `json:"timings"`
}

type timingsJSON struct {
	LoadMS           float64 `json:"load_ms"`
	PromptMS         float64 `json:"prompt_ms"`
	PromptTokensPerS float64 `json:"prompt_tokens_per_s"`
	GenMS            float64 `json:"gen_ms"`
	GenTokensPerS    float64 `json:"gen_tokens_per_s"`
}

func newRunCmd() *cobra.Command {
	var mf modelFlags
	var sf samplingFlags
	var prompt, outJSON string
	var tokens int
	var stops []string
	var ignoreEOS, useChat, verbosePrompt bool
	var system, tmpl string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Generate text from a prompt, streaming it to stdout",
		Example: `  inferno run -m ../shared/refdata/models/stories260K.gguf -p "Once upon a time" --temp 0
  inferno run -m model.gguf -p "Hello" --tokens 64 --temp 0.7 --top-p 0.9 --seed 42 --output-json out.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tokens < 0 {
				return fmt.Errorf("--tokens %d must be >= 0", tokens)
			}
			if err := mf.applyConfig(cmd); err != nil {
				return err
			}
			if err := sf.applyConfig(cmd); err != nil {
				return err
			}
			params, err := sf.params()
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			m, err := mf.load(stderr)
			if err != nil {
				return err
			}
			defer m.Close()
			ids := m.Tokenize(prompt)
			if useChat {
				c, err := newConversation(m, tmpl, system, false, io.Discard, stderr)
				if err != nil {
					return err
				}
				c.msgs = append(c.msgs, chat.Message{Role: "user", Content: prompt})
				text, cids, err := c.tokens()
				if err != nil {
					return err
				}
				ids = cids
				if verbosePrompt {
					fmt.Fprintf(stderr, "prompt (template %s):\n%s\n", c.tmpl.Name, text)
				}
			}
			if verbosePrompt {
				fmt.Fprintf(stderr, "prompt ids (%d): %v\n", len(ids), ids)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			out := cmd.OutOrStdout()
			res, err := m.NewSession().Generate(ctx, ids, inferno.GenerateOptions{
				MaxTokens: tokens, Sampling: params, Stop: stops, IgnoreEOS: ignoreEOS,
			}, func(s string) error { _, err := io.WriteString(out, s); return err })
			fmt.Fprintln(out)
			if res != nil && !flagQuiet {
				fmt.Fprintf(logWriter(stderr), "load: %.1f ms | prompt: %d tokens in %.1f ms (%.2f tok/s) | generation: %d tokens in %.1f ms (%.2f tok/s) | stop: %s\n",
					ms(m.LoadTime), len(res.PromptTokens), ms(res.PromptTime), res.PromptTokensPerSecond(),
					len(res.Tokens), ms(res.GenTime), res.GenTokensPerSecond(), res.StopReason)
			}
			if err != nil {
				return err
			}
			if outJSON != "" {
				j := runJSON{Model: mf.model, Backend: m.BackendName(), PromptTokens: res.PromptTokens, Tokens: res.Tokens,
					Text: res.Text, StopReason: res.StopReason, Timings: timingsJSON{
						LoadMS: ms(m.LoadTime), PromptMS: ms(res.PromptTime), PromptTokensPerS: res.PromptTokensPerSecond(),
						GenMS: ms(res.GenTime), GenTokensPerS: res.GenTokensPerSecond()}}
				if j.Tokens == nil {
					j.Tokens = []int32{}
				}
				if err := writeJSONFile(outJSON, j); err != nil {
					return err
				}
			}
			return nil
		},
	}
	mf.register(cmd)
	sf.register(cmd)
	cmd.Flags().StringVarP(&prompt, "prompt", "p", "", "prompt text (required)")
	cmd.Flags().IntVarP(&tokens, "tokens", "n", 128, "tokens to generate (0: until end of text or context)")
	cmd.Flags().StringArrayVar(&stops, "stop", nil, "stop string (repeatable)")
	cmd.Flags().BoolVar(&ignoreEOS, "ignore-eos", false, "keep generating past end-of-text tokens")
	cmd.Flags().BoolVar(&useChat, "chat", false, "wrap the prompt in the model's chat template (as one user turn)")
	cmd.Flags().StringVar(&system, "system", "", "system message (with --chat)")
	cmd.Flags().StringVar(&tmpl, "chat-template", "", "built-in template name or Jinja file (with --chat)")
	cmd.Flags().BoolVar(&verbosePrompt, "verbose-prompt", false, "print the rendered prompt and its token ids first")
	cmd.Flags().StringVar(&outJSON, "output-json", "", "write prompt/generated ids, text and timings to this JSON file")
	_ = cmd.MarkFlagRequired("prompt")
	return cmd
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--output-json: %w", err)
	}
	return nil
}
