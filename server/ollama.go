package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/inferno-go/inferno/chat"
)

// ollamaOptions are the options Ollama's runner takes that change generation; the
// load-time ones (num_ctx, num_gpu, num_thread, ...) are serve's flags and refused here
// as unknown parameters.
type ollamaOptions struct {
	NumPredict       *int            `json:"num_predict"`
	Temperature      *float64        `json:"temperature"`
	TopK             *int            `json:"top_k"`
	TopP             *float64        `json:"top_p"`
	MinP             *float64        `json:"min_p"`
	RepeatPenalty    *float64        `json:"repeat_penalty"`
	RepeatLastN      *int            `json:"repeat_last_n"`
	PresencePenalty  *float64        `json:"presence_penalty"`
	FrequencyPenalty *float64        `json:"frequency_penalty"`
	Seed             *int64          `json:"seed"`
	Stop             json.RawMessage `json:"stop"`
}

func (o *ollamaOptions) params() (*genParams, error) {
	stop, err := parseStop(o.Stop)
	if err != nil {
		return nil, badRequest("options.%v", err)
	}
	return &genParams{maxTokens: o.NumPredict, maxTokensName: "num_predict", temperature: o.Temperature, topK: o.TopK, topP: o.TopP,
		minP: o.MinP, repeatPenalty: o.RepeatPenalty, repeatLastN: o.RepeatLastN, presence: o.PresencePenalty,
		frequency: o.FrequencyPenalty, seed: o.Seed, stop: stop, logprobs: -1}, nil
}

// ollamaCommon are the fields /api/chat and /api/generate share.
type ollamaCommon struct {
	Model     string          `json:"model"`
	Stream    *bool           `json:"stream"` // Ollama streams unless told not to
	Options   ollamaOptions   `json:"options"`
	Format    json.RawMessage `json:"format"`
	KeepAlive json.RawMessage `json:"keep_alive"` // accepted: models stay loaded while the server runs
	Think     json.RawMessage `json:"think"`
	Images    json.RawMessage `json:"images"`
}

func (c *ollamaCommon) check() error {
	present := func(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }
	switch {
	case present(c.Format) && string(c.Format) != `""`:
		return unsupported("format (structured output) is not supported")
	case present(c.Think) && string(c.Think) != "false":
		return unsupported("think is not supported")
	case present(c.Images) && string(c.Images) != "[]":
		return unsupported("images are not supported")
	}
	return nil
}

func (c *ollamaCommon) streaming() bool { return c.Stream == nil || *c.Stream }

type ollamaMessage struct {
	Role      string          `json:"role"`
	Content   string          `json:"content"`
	Images    json.RawMessage `json:"images"`
	ToolCalls json.RawMessage `json:"tool_calls"`
	Thinking  string          `json:"thinking"`
}

type ollamaChatRequest struct {
	ollamaCommon
	Messages []ollamaMessage `json:"messages"`
	Tools    json.RawMessage `json:"tools"`
}

type ollamaGenerateRequest struct {
	ollamaCommon
	Prompt   string          `json:"prompt"`
	System   string          `json:"system"`
	Raw      bool            `json:"raw"`
	Suffix   string          `json:"suffix"`
	Template string          `json:"template"`
	Context  json.RawMessage `json:"context"`
}

// ollamaFinal is the last object of a reply, durations in nanoseconds.
func ollamaFinal(j *job, start time.Time) map[string]any {
	t := jobTimings(j)
	return map[string]any{"done": true, "done_reason": finishReason(j.res.StopReason),
		"total_duration": time.Since(start).Nanoseconds(), "load_duration": 0,
		"prompt_eval_count": t.PromptN, "prompt_eval_duration": j.promptT.Nanoseconds(),
		"eval_count": t.PredictedN, "eval_duration": j.genT.Nanoseconds()}
}

// ollamaRun runs j and writes NDJSON objects (or, without streaming, one object with
// the whole text); piece builds an object around a piece of text.
func (s *Server) ollamaRun(w http.ResponseWriter, r *http.Request, j *job, stream bool, start time.Time, piece func(text string) map[string]any) {
	if !stream {
		var text strings.Builder
		if err := wait(j, func(t string, _ []tokenLogprob) error { text.WriteString(t); return nil }); err != nil {
			if r.Context().Err() == nil {
				s.failErr(w, r, jobFailed(err))
			}
			return
		}
		out := piece(text.String())
		for k, v := range ollamaFinal(j, start) {
			out[k] = v
		}
		writeJSON(w, out)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	send := func(v any) error {
		if err := enc.Encode(v); err != nil {
			return err
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return nil
	}
	err := wait(j, func(t string, _ []tokenLogprob) error {
		o := piece(t)
		o["done"] = false
		return send(o)
	})
	if err != nil {
		if r.Context().Err() == nil {
			send(map[string]any{"error": jobFailed(err).Error()})
		}
		return
	}
	out := piece("")
	for k, v := range ollamaFinal(j, start) {
		out[k] = v
	}
	send(out)
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

func (s *Server) ollamaChat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req ollamaChatRequest
	if err := decode(r, &req); err != nil {
		s.failErr(w, r, err)
		return
	}
	err := req.check()
	if err == nil && len(req.Tools) > 0 && string(req.Tools) != "null" && string(req.Tools) != "[]" {
		err = unsupported("tools are not supported")
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	e, m, err := s.lookup(req.Model)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if len(req.Messages) == 0 { // Ollama's way to load a model: it is loaded
		writeJSON(w, map[string]any{"model": e.name, "created_at": now(), "message": map[string]string{"role": "assistant", "content": ""},
			"done": true, "done_reason": "load"})
		return
	}
	msgs := make([]chat.Message, 0, len(req.Messages))
	for i, mm := range req.Messages {
		switch {
		case mm.Role != "system" && mm.Role != "user" && mm.Role != "assistant":
			err = badRequest("messages[%d]: role %q is not system, user or assistant", i, mm.Role)
		case len(mm.Images) > 0 && string(mm.Images) != "null" && string(mm.Images) != "[]":
			err = unsupported("messages[%d]: images are not supported", i)
		case len(mm.ToolCalls) > 0 && string(mm.ToolCalls) != "null" && string(mm.ToolCalls) != "[]":
			err = unsupported("messages[%d]: tool_calls: tools are not supported", i)
		}
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		msgs = append(msgs, chat.Message{Role: mm.Role, Content: mm.Content})
	}
	p, err := req.Options.params()
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	ids, err := s.encodeChat(m, msgs)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	j, err := s.newJob(r.Context(), e, ids, p)
	if err == nil {
		err = s.submit(e, j)
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.ollamaRun(w, r, j, req.streaming(), start, func(text string) map[string]any {
		return map[string]any{"model": e.name, "created_at": now(), "message": map[string]string{"role": "assistant", "content": text}}
	})
}

func (s *Server) ollamaGenerate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req ollamaGenerateRequest
	if err := decode(r, &req); err != nil {
		s.failErr(w, r, err)
		return
	}
	err := req.check()
	switch {
	case err != nil:
	case req.Suffix != "":
		err = unsupported("suffix (fill-in-the-middle) is not supported")
	case req.Template != "":
		err = unsupported("template is not supported: start inferno serve with --chat-template")
	case len(req.Context) > 0 && string(req.Context) != "null" && string(req.Context) != "[]":
		err = unsupported("context (token ids of an earlier reply) is not supported: send /api/chat messages instead")
	case req.Raw && req.System != "":
		err = badRequest("system applies only without raw")
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	e, m, err := s.lookup(req.Model)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if req.Prompt == "" { // Ollama's way to load a model: it is loaded
		writeJSON(w, map[string]any{"model": e.name, "created_at": now(), "response": "", "done": true, "done_reason": "load"})
		return
	}
	p, err := req.Options.params()
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	var ids []int32
	if req.Raw {
		ids = e.m.Tokenize(req.Prompt)
	} else {
		var msgs []chat.Message
		if req.System != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: req.System})
		}
		msgs = append(msgs, chat.Message{Role: "user", Content: req.Prompt})
		if ids, err = s.encodeChat(m, msgs); err != nil {
			s.failErr(w, r, err)
			return
		}
	}
	j, err := s.newJob(r.Context(), e, ids, p)
	if err == nil {
		err = s.submit(e, j)
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.ollamaRun(w, r, j, req.streaming(), start, func(text string) map[string]any {
		return map[string]any{"model": e.name, "created_at": now(), "response": text}
	})
}

// modelFacts are what the listing endpoints say about a model.
type modelFacts struct {
	arch       string
	parameters int64
	typeMix    map[string]int
	quant      string // the most common weight type of the blocks
	size       int64
}

func facts(m Model) modelFacts {
	f := modelFacts{arch: m.Model.HParams().Arch, typeMix: map[string]int{}}
	bytesByType := map[string]int64{}
	for _, t := range m.Model.Tensors() {
		f.parameters += int64(t.NumElements())
		f.size += int64(t.Size)
		name := t.Type.String()
		f.typeMix[name]++
		if len(t.Dims) > 1 {
			bytesByType[name] += int64(t.Size)
		}
	}
	var best int64 = -1
	for _, name := range sortedKeys(bytesByType) {
		if bytesByType[name] > best {
			f.quant, best = name, bytesByType[name]
		}
	}
	return f
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// paramSize is Ollama's parameter_size: 260K, 1.1B.
func paramSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.0fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func (s *Server) ollamaDetails(m Model) map[string]any {
	f := facts(m)
	return map[string]any{"parent_model": "", "format": "gguf", "family": f.arch, "families": []string{f.arch},
		"parameter_size": paramSize(f.parameters), "quantization_level": f.quant}
}

func (s *Server) ollamaTags(w http.ResponseWriter, r *http.Request) {
	models := []any{}
	for _, n := range s.names() {
		m := s.models[n]
		models = append(models, map[string]any{"name": n, "model": n, "modified_at": s.started.UTC().Format(time.RFC3339),
			"size": facts(m).size, "digest": "", "details": s.ollamaDetails(m)})
	}
	writeJSON(w, map[string]any{"models": models})
}

func (s *Server) ollamaPS(w http.ResponseWriter, r *http.Request) {
	models := []any{}
	for _, n := range s.names() {
		m := s.models[n]
		vram := m.Model.GPUMemory()
		models = append(models, map[string]any{"name": n, "model": n, "size": facts(m).size, "digest": "",
			"details": s.ollamaDetails(m), "expires_at": "0001-01-01T00:00:00Z", // never unloaded while serving
			"size_vram": vram.Weights + vram.KVCache + vram.Compute, "context_length": m.Model.ContextSize()})
	}
	writeJSON(w, map[string]any{"models": models})
}

func (s *Server) ollamaShow(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model   string `json:"model"`
		Name    string `json:"name"` // the older spelling
		Verbose bool   `json:"verbose"`
	}
	if err := decode(r, &req); err != nil {
		s.failErr(w, r, err)
		return
	}
	name := req.Model
	if name == "" {
		name = req.Name
	}
	_, m, err := s.lookup(name)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	info := map[string]any{}
	f := facts(m)
	info["general.architecture"] = f.arch
	info["general.parameter_count"] = f.parameters
	h := m.Model.HParams()
	for k, v := range map[string]any{"context_length": h.NCtxTrain, "embedding_length": h.NEmbd, "block_count": h.NLayer,
		"feed_forward_length": h.NFF, "attention.head_count": h.NHead, "attention.head_count_kv": h.NKVHead} {
		info[f.arch+"."+k] = v
	}
	tmpl := ""
	if v, ok := m.Model.Metadata("tokenizer.chat_template"); ok {
		tmpl, _ = v.Any().(string)
	}
	writeJSON(w, map[string]any{"modelfile": "", "parameters": "", "template": tmpl, "details": s.ollamaDetails(m),
		"model_info": info, "capabilities": []string{"completion"}, "modified_at": s.started.UTC().Format(time.RFC3339)})
}

func (s *Server) ollamaVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]string{"version": s.cfg.Version})
}
