package server

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/inferno-go/inferno"
	"github.com/inferno-go/inferno/chat"
	"github.com/inferno-go/inferno/sample"
)

// genParams are the generation parameters both APIs share; nil means the default.
type genParams struct {
	maxTokens     *int // nil: until the end of text or the context
	maxTokensName string
	temperature   *float64
	topP          *float64
	topK          *int
	minP          *float64
	repeatPenalty *float64
	repeatLastN   *int
	presence      *float64
	frequency     *float64
	seed          *int64
	stop          []string
	ignoreEOS     bool // generate past end-of-generation tokens (llama-server's ignore_eos)
	logprobs      int  // top alternatives per token; -1: none
}

// sampling is the sampler chain `inferno run` uses, from llama.cpp's defaults with the
// request's values; no seed or a negative one draws a random seed, as run's -1 does.
func (p *genParams) sampling() (sample.Params, error) {
	sp := sample.Defaults()
	f32 := func(name string, v *float64, dst *float32) error {
		if v == nil {
			return nil
		}
		if math.IsNaN(*v) || math.IsInf(*v, 0) || math.Abs(*v) > math.MaxFloat32 {
			return badRequest("%s %v is not a finite number", name, *v)
		}
		*dst = float32(*v)
		return nil
	}
	for _, f := range []struct {
		name string
		v    *float64
		dst  *float32
	}{{"temperature", p.temperature, &sp.Temperature}, {"top_p", p.topP, &sp.TopP}, {"min_p", p.minP, &sp.MinP},
		{"repeat_penalty", p.repeatPenalty, &sp.RepeatPenalty}, {"presence_penalty", p.presence, &sp.PresencePenalty},
		{"frequency_penalty", p.frequency, &sp.FrequencyPenalty}} {
		if err := f32(f.name, f.v, f.dst); err != nil {
			return sp, err
		}
	}
	if p.topK != nil {
		sp.TopK = *p.topK
	}
	if p.repeatLastN != nil {
		sp.PenaltyLastN = *p.repeatLastN
	}
	if p.seed != nil && *p.seed >= 0 {
		sp.Seed = uint64(*p.seed)
	} else {
		var b [8]byte
		rand.Read(b[:])
		sp.Seed = binary.LittleEndian.Uint64(b[:]) >> 1
	}
	if err := sp.Validate(); err != nil {
		return sp, badRequest("sampling parameters: %v", err)
	}
	return sp, nil
}

// newJob checks the prompt and parameters against the model and builds the job: a
// prompt that does not fit, or one that leaves no room for max_tokens, is refused with
// both sizes (never truncated).
func (s *Server) newJob(ctx context.Context, e *engine, ids []int32, p *genParams) (*job, error) {
	nctx := e.m.ContextSize()
	if len(ids) == 0 {
		return nil, badRequest("the prompt is empty")
	}
	if len(ids) >= nctx {
		return nil, &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "context_length_exceeded",
			msg: fmt.Sprintf("the prompt is %d tokens, the context holds %d (with room for at least one generated token)", len(ids), nctx)}
	}
	opt := inferno.GenerateOptions{Stop: p.stop, IgnoreEOS: p.ignoreEOS}
	if p.maxTokens != nil {
		switch n := *p.maxTokens; {
		case n < 0 && p.maxTokensName == "num_predict" && n == -1:
			// Ollama's "until the end": the zero value below
		case n < 1:
			return nil, badRequest("%s %d must be >= 1", p.maxTokensName, n)
		case n > nctx-len(ids): // not len(ids)+n, which a huge n overflows
			return nil, &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "context_length_exceeded",
				msg: fmt.Sprintf("the prompt is %d tokens and %s asks for %d more, the context holds %d", len(ids), p.maxTokensName, n, nctx)}
		default:
			opt.MaxTokens = n
		}
	}
	if len(p.stop) > 16 {
		return nil, badRequest("stop has %d strings, at most 16", len(p.stop))
	}
	var err error
	if opt.Sampling, err = p.sampling(); err != nil {
		return nil, err
	}
	if vocab := e.m.Tokenizer().Len(); p.logprobs > vocab {
		return nil, badRequest("top_logprobs %d is more than the vocabulary of %d", p.logprobs, vocab)
	}
	return newJob(ctx, ids, opt, p.logprobs), nil
}

// submit queues j on e; a full queue is a 429 with Retry-After.
func (s *Server) submit(e *engine, j *job) error {
	if err := e.submit(j); err != nil {
		return &apiError{status: http.StatusTooManyRequests, typ: "server_error", code: "queue_full", retryAfter: true,
			msg: fmt.Sprintf("server busy: %d requests already wait for model %s; retry later", cap(e.queue), e.name)}
	}
	return nil
}

// wait passes j's output to piece as it comes and returns when j is finished (with its
// error) or the client has gone (the scheduler sees the request's context and frees
// the slot within one step).
func wait(j *job, piece func(text string, lps []tokenLogprob) error) error {
	for {
		select {
		case <-j.notify:
		case <-j.ctx.Done():
			return j.ctx.Err()
		}
		text, lps, fin := j.take()
		if (text != "" || len(lps) > 0) && piece != nil {
			if err := piece(text, lps); err != nil {
				return err
			}
		}
		if fin {
			return j.err
		}
	}
}

// parseStop reads stop: null, a string, or a list of strings.
func parseStop(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, badRequest("stop must be a string or a list of strings")
	}
	return list, nil
}

// finishReason is OpenAI's (and Ollama's done_reason) for a stop reason.
func finishReason(r inferno.StopReason) string {
	switch r {
	case inferno.StopMaxTokens, inferno.StopContext:
		return "length"
	}
	return "stop"
}

// encodeChat renders msgs with the model's chat template and tokenizes them.
func (s *Server) encodeChat(m Model, msgs []chat.Message) ([]int32, error) {
	t, err := templateFor(m)
	if err != nil {
		return nil, &apiError{status: http.StatusInternalServerError, typ: "server_error", msg: fmt.Sprintf("chat template: %v", err)}
	}
	_, ids, err := t.Encode(m.Model.Tokenizer(), msgs)
	if err != nil {
		return nil, badRequest("rendering the messages with the chat template: %v", err)
	}
	return ids, nil
}

// timings is llama-server's timings object.
type timings struct {
	CacheN              int     `json:"cache_n"`
	PromptN             int     `json:"prompt_n"`
	PromptMS            float64 `json:"prompt_ms"`
	PromptPerTokenMS    float64 `json:"prompt_per_token_ms"`
	PromptPerSecond     float64 `json:"prompt_per_second"`
	PredictedN          int     `json:"predicted_n"`
	PredictedMS         float64 `json:"predicted_ms"`
	PredictedPerTokenMS float64 `json:"predicted_per_token_ms"`
	PredictedPerSecond  float64 `json:"predicted_per_second"`
}

func jobTimings(j *job) timings {
	j.mu.Lock()
	defer j.mu.Unlock()
	t := timings{CacheN: j.cached, PromptN: len(j.ids) - j.cached, PromptMS: ms(j.promptT), PredictedMS: ms(j.genT)}
	if j.res != nil {
		t.PredictedN = len(j.res.Tokens)
	}
	if t.PromptN > 0 {
		t.PromptPerTokenMS = t.PromptMS / float64(t.PromptN)
	}
	if t.PredictedN > 0 {
		t.PredictedPerTokenMS = t.PredictedMS / float64(t.PredictedN)
	}
	t.PromptPerSecond, t.PredictedPerSecond = rate(t.PromptN, j.promptT), rate(t.PredictedN, j.genT)
	return t
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// jobFailed maps a job's error to the response: its own apiError, else a 500 (the
// evaluation itself failed, not the input).
func jobFailed(err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	return &apiError{status: http.StatusInternalServerError, typ: "server_error", msg: err.Error()}
}
