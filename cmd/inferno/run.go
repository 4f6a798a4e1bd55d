package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"

	"github.com/inferno-go/inferno"
	"github.com/inferno-go/inferno/chat"
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
	device    int
	origins   configOrigins
	sessions  int // sessions open at once that the memory check counts (serve's --parallel); 0: 1
	// llamaOrder: the CPU layers' matrix products in llama.cpp's float order
	// (perplexity's measurements, which must agree with llama-perplexity's to the last
	// digit)
	llamaOrder bool
}

// configOrigins records, per flag, where the configuration set the value of a flag the
// user did not give, so that an error names the real source, not a flag.
type configOrigins map[string]string

// name is how an error names a flag's value: "--threads -3", or, when the value came
// from the configuration, "threads -3 (from backend_config.threads in /x/.inferno.toml)".
func (o configOrigins) name(flag string, v any) string {
	if origin, ok := o[flag]; ok {
		return fmt.Sprintf("%s %v (from %s)", flag, v, origin)
	}
	return fmt.Sprintf("--%s %v", flag, v)
}

func (f *modelFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.model, "model", "m", "", "GGUF model file, or the name of a model in the cache (inferno list) (required)")
	_ = cmd.MarkFlagRequired("model")
	f.registerLoad(cmd)
}

// registerLoad registers every model flag but --model (serve takes several).
func (f *modelFlags) registerLoad(cmd *cobra.Command) {
	cmd.Flags().IntVarP(&f.threads, "threads", "t", 0, "CPU threads (0: all cores)")
	cmd.Flags().IntVar(&f.ctx, "ctx", 0, "context size in tokens (0: the model's, at most 4096)")
	cmd.Flags().IntVar(&f.batch, "batch", 512, "prompt tokens per forward pass")
	cmd.Flags().BoolVar(&f.f32KV, "f32-kv", false, "keep the KV cache in float32 (default float16, as llama.cpp)")
	cmd.Flags().StringVar(&f.backend, "backend", "auto", "auto (CUDA where the NVIDIA driver finds a GPU, Metal on a Mac, else the CPU; --verbose says why), cpu, cuda (NVIDIA GPU), metal, or metal-sim / cuda-sim (the Metal / CUDA kernels on the CPU simulator)")
	cmd.Flags().IntVar(&f.gpuLayers, "gpu-layers", 999, "transformer blocks on the GPU, first ones first (0: CPU only)")
	cmd.Flags().IntVar(&f.device, "device", 0, "the CUDA GPU's number on a host with several (inferno system lists them)")
}

func (f *modelFlags) validate() error {
	switch {
	case f.threads < 0:
		return fmt.Errorf("%s must be >= 0", f.origins.name("threads", f.threads))
	case f.ctx < 0:
		return fmt.Errorf("%s must be >= 0", f.origins.name("ctx", f.ctx))
	case f.batch <= 0:
		return fmt.Errorf("%s must be > 0", f.origins.name("batch", f.batch))
	case f.gpuLayers < 0:
		return fmt.Errorf("%s must be >= 0", f.origins.name("gpu-layers", f.gpuLayers))
	case f.device < 0:
		return fmt.Errorf("--device %d must be >= 0", f.device)
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
	f.origins = configOrigins{}
	fromConfig := func(flag, key string, dst *int) {
		if !fl.Changed(flag) {
			*dst = c.Int(key)
			f.origins[flag] = c.Values[key].Origin
		}
	}
	fromConfig("threads", "threads", &f.threads)
	if c.Int("context_size") != 0 {
		fromConfig("ctx", "context_size", &f.ctx)
	}
	fromConfig("batch", "batch_size", &f.batch)
	fromConfig("gpu-layers", "gpu_layers", &f.gpuLayers)
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
	lp.onlyDone = true // plain logs get one line when done, not ten
	m, err := inferno.Load(path, inferno.Options{Threads: f.threads, ContextSize: f.ctx, BatchSize: f.batch,
		F32KVCache: f.f32KV, LlamaBatchOrder: f.llamaOrder, Backend: backend, GPULayers: f.gpuLayers, Log: logWriter(stderr), Verbose: flagVerbose, Device: f.device, Sessions: f.sessions,
		LoadProgress: func(done, total int) { lp.update(done, total, "blocks") }})
	var oe *inferno.OptionError
	if errors.As(err, &oe) {
		return nil, fmt.Errorf("%s %s", f.origins.name(optionFlags[oe.Option], oe.Value), oe.Reason)
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logWriter(stderr), "backend %s, %d CPU threads, context %d tokens\n", m.BackendName(), m.Threads(), m.ContextSize())
	return m, nil
}

// optionFlags are the flags of the inferno.Options fields an OptionError may name.
var optionFlags = map[string]string{"Threads": "threads", "ContextSize": "ctx", "BatchSize": "batch", "Sessions": "parallel"}

type samplingFlags struct {
	temp, topP, minP, repeat, freq, presence float32
	topK, lastN                              int
	seed                                     int64
	origins                                  configOrigins
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
	s.origins = configOrigins{}
	fromConfig := func(flag, key string) bool { // the user did not set flag: key's value and source
		if fl.Changed(flag) {
			return false
		}
		s.origins[flag] = c.Values[key].Origin
		return true
	}
	if fromConfig("temp", "temperature") {
		s.temp = float32(c.Float("temperature"))
	}
	if fromConfig("top-k", "top_k") {
		s.topK = c.Int("top_k")
	}
	if fromConfig("top-p", "top_p") {
		s.topP = float32(c.Float("top_p"))
	}
	if fromConfig("min-p", "min_p") {
		s.minP = float32(c.Float("min_p"))
	}
	if fromConfig("repeat-penalty", "repeat_penalty") {
		s.repeat = float32(c.Float("repeat_penalty"))
	}
	if fromConfig("seed", "seed") {
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
	err := p.Validate()
	if err == nil {
		return p, nil
	}
	// A value from the configuration is checked alone (the rest at their defaults), so
	// that the error names the file or variable it came from.
	for _, flag := range slices.Sorted(maps.Keys(s.origins)) {
		one := sample.Defaults()
		switch flag {
		case "temp":
			one.Temperature = p.Temperature
		case "top-k":
			one.TopK = p.TopK
		case "top-p":
			one.TopP = p.TopP
		case "min-p":
			one.MinP = p.MinP
		case "repeat-penalty":
			one.RepeatPenalty = p.RepeatPenalty
		}
		if err := one.Validate(); err != nil {
			return p, fmt.Errorf("sampling: %w (from %s)", err, s.origins[flag])
		}
	}
	return p, fmt.Errorf("sampling flags: %w", err)
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
			if !useChat {
				for _, name := range []string{"system", "chat-template"} {
					if cmd.Flags().Changed(name) {
						return fmt.Errorf("--%s applies only with --chat", name)
					}
				}
			}
			if outJSON != "" {
				if err := checkOutputPath("--output-json", outJSON); err != nil {
					return err
				}
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
			s, err := m.NewSession()
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := s.Generate(ctx, ids, inferno.GenerateOptions{
				MaxTokens: tokens, Sampling: params, Stop: stops, IgnoreEOS: ignoreEOS,
			}, func(s string) error { _, err := io.WriteString(out, s); return err })
			fmt.Fprintln(out)
			if err != nil { // a failed run's timings mean nothing (a prompt refused at once reads as millions of tok/s)
				return err
			}
			if !flagQuiet {
				fmt.Fprintf(logWriter(stderr), "load: %.1f ms | prompt: %d tokens in %.1f ms (%.2f tok/s) | generation: %d tokens in %.1f ms (%.2f tok/s) | stop: %s\n",
					ms(m.LoadTime()), len(res.PromptTokens), ms(res.PromptTime), res.PromptTokensPerSecond(),
					len(res.Tokens), ms(res.GenTime), res.GenTokensPerSecond(), res.StopReason)
			}
			if outJSON != "" {
				j := runJSON{Model: mf.model, Backend: m.BackendName(), PromptTokens: res.PromptTokens, Tokens: res.Tokens,
					Text: res.Text, StopReason: string(res.StopReason), Timings: timingsJSON{
						LoadMS: ms(m.LoadTime()), PromptMS: ms(res.PromptTime), PromptTokensPerS: res.PromptTokensPerSecond(),
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
