package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/inferno-go/inferno/chat"
)

// samplingFields are the sampling parameters both OpenAI endpoints take; top_k, min_p,
// repeat_penalty, repeat_last_n and ignore_eos are llama-server's extensions.
type samplingFields struct {
	Model            string          `json:"model"`
	Stream           bool            `json:"stream"`
	StreamOptions    *streamOptions  `json:"stream_options"`
	MaxTokens        *int            `json:"max_tokens"`
	Temperature      *float64        `json:"temperature"`
	TopP             *float64        `json:"top_p"`
	TopK             *int            `json:"top_k"`
	MinP             *float64        `json:"min_p"`
	RepeatPenalty    *float64        `json:"repeat_penalty"`
	RepeatLastN      *int            `json:"repeat_last_n"`
	IgnoreEOS        bool            `json:"ignore_eos"`
	Seed             *int64          `json:"seed"`
	Stop             json.RawMessage `json:"stop"`
	PresencePenalty  *float64        `json:"presence_penalty"`
	FrequencyPenalty *float64        `json:"frequency_penalty"`
	N                *int            `json:"n"`
	LogitBias        map[string]any  `json:"logit_bias"`
	User             string          `json:"user"` // accepted, no effect
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

func (f *samplingFields) params() (*genParams, error) {
	if f.N != nil && *f.N != 1 {
		return nil, unsupported("n %d: only n = 1 (one choice) is supported", *f.N)
	}
	if len(f.LogitBias) > 0 {
		return nil, unsupported("logit_bias is not supported")
	}
	if f.StreamOptions != nil && !f.Stream {
		return nil, badRequest("stream_options applies only with stream: true")
	}
	stop, err := parseStop(f.Stop)
	if err != nil {
		return nil, err
	}
	return &genParams{maxTokens: f.MaxTokens, maxTokensName: "max_tokens", temperature: f.Temperature, topP: f.TopP, topK: f.TopK,
		minP: f.MinP, repeatPenalty: f.RepeatPenalty, repeatLastN: f.RepeatLastN, seed: f.Seed, stop: stop,
		presence: f.PresencePenalty, frequency: f.FrequencyPenalty, ignoreEOS: f.IgnoreEOS, logprobs: -1}, nil
}

type chatRequest struct {
	samplingFields
	Messages            []chatMessage   `json:"messages"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Logprobs            *bool           `json:"logprobs"`
	TopLogprobs         *int            `json:"top_logprobs"`
	Tools               json.RawMessage `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	Functions           json.RawMessage `json:"functions"`
	FunctionCall        json.RawMessage `json:"function_call"`
	ParallelToolCalls   json.RawMessage `json:"parallel_tool_calls"`
	ResponseFormat      *struct {
		Type string `json:"type"`
	} `json:"response_format"`
}

type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name"`
	ToolCalls  json.RawMessage `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

// messages converts OpenAI messages (content a string or a list of text parts) for the
// chat template; tools, images and audio are refused.
func (r *chatRequest) messages() ([]chat.Message, error) {
	if len(r.Messages) == 0 {
		return nil, badRequest("messages is empty: want at least one message")
	}
	out := make([]chat.Message, 0, len(r.Messages))
	for i, m := range r.Messages {
		role := m.Role
		switch role {
		case "system", "user", "assistant":
		case "developer": // OpenAI's newer name for the system message
			role = "system"
		case "tool", "function":
			return nil, unsupported("messages[%d]: role %q: tools are not supported", i, m.Role)
		default:
			return nil, badRequest("messages[%d]: role %q is not system, user or assistant", i, m.Role)
		}
		if len(m.ToolCalls) > 0 && string(m.ToolCalls) != "null" {
			return nil, unsupported("messages[%d]: tool_calls: tools are not supported", i)
		}
		text, err := messageText(m.Content)
		if err != nil {
			return nil, badRequest("messages[%d].content: %v", i, err)
		}
		out = append(out, chat.Message{Role: role, Content: text})
	}
	return out, nil
}

func messageText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("want a string or a list of {type, text} parts")
	}
	var b strings.Builder
	for i, p := range parts {
		if p.Type != "text" {
			return "", fmt.Errorf("part %d has type %q: only text is supported", i, p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

func (r *chatRequest) params() (*genParams, error) {
	present := func(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }
	switch {
	case present(r.Tools) || present(r.Functions):
		return nil, unsupported("tools are not supported")
	case present(r.ToolChoice) && string(r.ToolChoice) != `"none"`:
		return nil, unsupported("tool_choice is not supported (tools are not)")
	case present(r.FunctionCall) && string(r.FunctionCall) != `"none"`:
		return nil, unsupported("function_call is not supported (tools are not)")
	case r.ResponseFormat != nil && r.ResponseFormat.Type != "text":
		return nil, unsupported("response_format %q: only text is supported", r.ResponseFormat.Type)
	}
	p, err := r.samplingFields.params()
	if err != nil {
		return nil, err
	}
	if r.MaxCompletionTokens != nil {
		if r.MaxTokens != nil && *r.MaxTokens != *r.MaxCompletionTokens {
			return nil, badRequest("max_tokens %d and max_completion_tokens %d differ: give one", *r.MaxTokens, *r.MaxCompletionTokens)
		}
		p.maxTokens, p.maxTokensName = r.MaxCompletionTokens, "max_completion_tokens"
	}
	if r.Logprobs != nil && *r.Logprobs {
		p.logprobs = 0
		if r.TopLogprobs != nil {
			if *r.TopLogprobs < 0 || *r.TopLogprobs > 20 {
				return nil, badRequest("top_logprobs %d must be in [0, 20]", *r.TopLogprobs)
			}
			p.logprobs = *r.TopLogprobs
		}
	} else if r.TopLogprobs != nil {
		return nil, badRequest("top_logprobs needs logprobs: true")
	}
	return p, nil
}

func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

type usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func jobUsage(j *job) usage {
	j.mu.Lock()
	defer j.mu.Unlock()
	u := usage{PromptTokens: len(j.ids)}
	if j.res != nil {
		u.CompletionTokens = len(j.res.Tokens)
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	u.PromptTokensDetails.CachedTokens = j.cached
	return u
}

// chatLogprob is one entry of choices[].logprobs.content.
type chatLogprob struct {
	Token       string        `json:"token"`
	Logprob     float64       `json:"logprob"`
	Bytes       []int         `json:"bytes"`
	TopLogprobs []chatTopProb `json:"top_logprobs"`
}

type chatTopProb struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

func (s *Server) chatLogprobs(e *engine, lps []tokenLogprob) []chatLogprob {
	tk := e.m.Tokenizer()
	piece := func(t int32) (string, []int) {
		b := tk.Piece(t, false)
		ints := make([]int, len(b))
		for i, c := range b {
			ints[i] = int(c)
		}
		return string(b), ints
	}
	out := make([]chatLogprob, 0, len(lps))
	for _, lp := range lps {
		t, b := piece(lp.Token)
		c := chatLogprob{Token: t, Logprob: lp.Logprob, Bytes: b, TopLogprobs: []chatTopProb{}}
		for _, a := range lp.Top {
			at, ab := piece(a.Token)
			c.TopLogprobs = append(c.TopLogprobs, chatTopProb{Token: at, Logprob: a.Logprob, Bytes: ab})
		}
		out = append(out, c)
	}
	return out
}

// sse writes server-sent events, flushing each.
type sse struct {
	w http.ResponseWriter
}

func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &sse{w: w}
}

func (s *sse) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", b); err != nil {
		return err
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

func (s *sse) done() {
	fmt.Fprint(s.w, "data: [DONE]\n\n")
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

// streamError ends a stream whose generation failed after the headers went out.
func (s *sse) fail(err error) {
	s.send(map[string]any{"error": map[string]any{"message": err.Error(), "type": "server_error", "code": nil}})
	s.done()
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := decode(r, &req); err != nil {
		s.failErr(w, r, err)
		return
	}
	p, err := req.params()
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	e, m, err := s.lookup(req.Model)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	msgs, err := req.messages()
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
	id, created := newID("chatcmpl-"), time.Now().Unix()
	if !req.Stream {
		var text strings.Builder
		var lps []tokenLogprob
		if err := wait(j, func(t string, l []tokenLogprob) error { text.WriteString(t); lps = append(lps, l...); return nil }); err != nil {
			if r.Context().Err() == nil {
				s.failErr(w, r, jobFailed(err))
			}
			return
		}
		choice := map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text.String()},
			"finish_reason": finishReason(j.res.StopReason), "logprobs": nil}
		if p.logprobs >= 0 {
			choice["logprobs"] = map[string]any{"content": s.chatLogprobs(e, lps)}
		}
		writeJSON(w, map[string]any{"id": id, "object": "chat.completion", "created": created, "model": e.name,
			"choices": []any{choice}, "usage": jobUsage(j), "timings": jobTimings(j), "system_fingerprint": "inferno"})
		return
	}
	ev := startSSE(w)
	chunk := func(delta map[string]any, finish any, lps []tokenLogprob) map[string]any {
		c := map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil}
		if p.logprobs >= 0 && len(lps) > 0 {
			c["logprobs"] = map[string]any{"content": s.chatLogprobs(e, lps)}
		}
		return map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": e.name,
			"system_fingerprint": "inferno", "choices": []any{c}}
	}
	if ev.send(chunk(map[string]any{"role": "assistant", "content": ""}, nil, nil)) != nil {
		return
	}
	err = wait(j, func(t string, l []tokenLogprob) error {
		return ev.send(chunk(map[string]any{"content": t}, nil, l))
	})
	if err != nil {
		if r.Context().Err() == nil {
			ev.fail(jobFailed(err))
		}
		return
	}
	last := chunk(map[string]any{}, finishReason(j.res.StopReason), nil)
	last["timings"] = jobTimings(j)
	if ev.send(last) != nil {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		ev.send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": e.name,
			"system_fingerprint": "inferno", "choices": []any{}, "usage": jobUsage(j)})
	}
	ev.done()
}

type completionRequest struct {
	samplingFields
	Prompt   json.RawMessage `json:"prompt"`
	Logprobs *int            `json:"logprobs"`
	Echo     bool            `json:"echo"`
	Suffix   *string         `json:"suffix"`
	BestOf   *int            `json:"best_of"`
}

// prompt reads prompt: a string, or a list of one string.
func (r *completionRequest) prompt() (string, error) {
	var one string
	if err := json.Unmarshal(r.Prompt, &one); err == nil {
		return one, nil
	}
	var list []string
	if err := json.Unmarshal(r.Prompt, &list); err == nil {
		if len(list) != 1 {
			return "", unsupported("prompt is a list of %d strings: only one prompt per request is supported", len(list))
		}
		return list[0], nil
	}
	if len(r.Prompt) == 0 {
		return "", badRequest("prompt is required")
	}
	return "", badRequest("prompt must be a string (token-id prompts are not supported)")
}

// completionLogprobs is the legacy completions logprobs object.
func (s *Server) completionLogprobs(e *engine, lps []tokenLogprob, offset int) map[string]any {
	tk := e.m.Tokenizer()
	tokens, lp, top, offs := []string{}, []float64{}, []map[string]float64{}, []int{}
	for _, l := range lps {
		t := string(tk.Piece(l.Token, false))
		tokens, lp, offs = append(tokens, t), append(lp, l.Logprob), append(offs, offset)
		offset += len(t)
		m := map[string]float64{}
		for _, a := range l.Top {
			m[string(tk.Piece(a.Token, false))] = a.Logprob
		}
		top = append(top, m)
	}
	return map[string]any{"tokens": tokens, "token_logprobs": lp, "top_logprobs": top, "text_offset": offs}
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	if err := decode(r, &req); err != nil {
		s.failErr(w, r, err)
		return
	}
	p, err := req.samplingFields.params()
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	switch {
	case req.Echo:
		err = unsupported("echo is not supported")
	case req.Suffix != nil && *req.Suffix != "":
		err = unsupported("suffix is not supported")
	case req.BestOf != nil && *req.BestOf != 1:
		err = unsupported("best_of %d: only 1 is supported", *req.BestOf)
	case req.Logprobs != nil && (*req.Logprobs < 0 || *req.Logprobs > 5):
		err = badRequest("logprobs %d must be in [0, 5]", *req.Logprobs)
	case req.Logprobs != nil:
		p.logprobs = *req.Logprobs
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	e, _, err := s.lookup(req.Model)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	prompt, err := req.prompt()
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	j, err := s.newJob(r.Context(), e, e.m.Tokenize(prompt), p)
	if err == nil {
		err = s.submit(e, j)
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	id, created := newID("cmpl-"), time.Now().Unix()
	choice := func(text string, finish any, lps []tokenLogprob, offset int) map[string]any {
		c := map[string]any{"index": 0, "text": text, "finish_reason": finish, "logprobs": nil}
		if p.logprobs >= 0 {
			c["logprobs"] = s.completionLogprobs(e, lps, offset)
		}
		return c
	}
	if !req.Stream {
		var text strings.Builder
		var lps []tokenLogprob
		if err := wait(j, func(t string, l []tokenLogprob) error { text.WriteString(t); lps = append(lps, l...); return nil }); err != nil {
			if r.Context().Err() == nil {
				s.failErr(w, r, jobFailed(err))
			}
			return
		}
		writeJSON(w, map[string]any{"id": id, "object": "text_completion", "created": created, "model": e.name,
			"choices": []any{choice(text.String(), finishReason(j.res.StopReason), lps, 0)},
			"usage":   jobUsage(j), "timings": jobTimings(j), "system_fingerprint": "inferno"})
		return
	}
	ev := startSSE(w)
	object := func(c map[string]any) map[string]any {
		return map[string]any{"id": id, "object": "text_completion", "created": created, "model": e.name,
			"system_fingerprint": "inferno", "choices": []any{c}}
	}
	offset := 0
	err = wait(j, func(t string, l []tokenLogprob) error {
		err := ev.send(object(choice(t, nil, l, offset)))
		offset += len(t)
		return err
	})
	if err != nil {
		if r.Context().Err() == nil {
			ev.fail(jobFailed(err))
		}
		return
	}
	last := object(choice("", finishReason(j.res.StopReason), nil, offset))
	last["timings"] = jobTimings(j)
	if ev.send(last) != nil {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		ev.send(map[string]any{"id": id, "object": "text_completion", "created": created, "model": e.name,
			"choices": []any{}, "usage": jobUsage(j)})
	}
	ev.done()
}

func (s *Server) modelObject(name string) map[string]any {
	return map[string]any{"id": name, "object": "model", "created": s.started.Unix(), "owned_by": "inferno"}
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	data := []any{}
	for _, n := range s.names() {
		data = append(data, s.modelObject(n))
	}
	writeJSON(w, map[string]any{"object": "list", "data": data})
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request) {
	e, _, err := s.lookup(r.PathValue("id"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, s.modelObject(e.name))
}
