package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inferno-go/inferno"
	"github.com/inferno-go/inferno/chat"
	"github.com/inferno-go/inferno/internal/refdata"
	"github.com/inferno-go/inferno/sample"
)

const modelName = "stories260K"

var (
	modelOnce sync.Once
	model     *inferno.Model
	modelErr  error
)

// testModel is stories260K, loaded once for the package's tests (a Model serves any
// number of sessions).
func testModel(t testing.TB) *inferno.Model {
	t.Helper()
	path := refdata.Path(t, "models", "stories260K.gguf")
	modelOnce.Do(func() {
		model, modelErr = inferno.Load(path, inferno.Options{Threads: 1, ContextSize: 512, Backend: "cpu", Sessions: 16})
	})
	if modelErr != nil {
		t.Fatal(modelErr)
	}
	return model
}

func TestMain(m *testing.M) {
	code := m.Run()
	if model != nil {
		model.Close()
	}
	os.Exit(code)
}

// newTestServer serves stories260K over httptest with cfg's settings.
func newTestServer(t testing.TB, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	cfg.Models = []Model{{Name: modelName, Model: testModel(t)}}
	if cfg.Version == "" {
		cfg.Version = "test"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

func post(t testing.TB, ts *httptest.Server, path string, body any) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	resp, err := http.Post(ts.URL+path, "application/json", r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// postAsync is post for another goroutine: it reports a failure with Error and
// returns the status code (0 on failure).
func postAsync(t testing.TB, ts *httptest.Server, path string, body any) int {
	j, _ := json.Marshal(body)
	if s, ok := body.(string); ok {
		j = []byte(s)
	}
	resp, err := http.Post(ts.URL+path, "application/json", bytes.NewReader(j))
	if err != nil {
		t.Error(err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func get(t testing.TB, ts *httptest.Server, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func decodeJSON(t testing.TB, data []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	return v
}

// runReference is what `inferno run` does with the same prompt ids and sampling: a
// fresh session's Generate.
func runReference(t testing.TB, ids []int32, p sample.Params, maxTokens int, stop []string) *inferno.Result {
	t.Helper()
	s, err := testModel(t).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Generate(context.Background(), ids, inferno.GenerateOptions{MaxTokens: maxTokens, Sampling: p, Stop: stop}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func greedy() sample.Params { p := sample.Defaults(); p.Temperature = 0; return p }

func seeded(seed uint64) sample.Params { p := sample.Defaults(); p.Seed = seed; return p }

// completionCase is one /v1/completions request and the run it must equal.
type completionCase struct {
	prompt    string
	maxTokens int
	seed      int64 // -1: greedy
}

func (c completionCase) body(stream bool) map[string]any {
	b := map[string]any{"model": modelName, "prompt": c.prompt, "max_tokens": c.maxTokens, "stream": stream}
	if c.seed < 0 {
		b["temperature"] = 0
	} else {
		b["seed"] = c.seed
	}
	return b
}

func (c completionCase) reference(t testing.TB) *inferno.Result {
	p := greedy()
	if c.seed >= 0 {
		p = seeded(uint64(c.seed))
	}
	return runReference(t, testModel(t).Tokenize(c.prompt), p, c.maxTokens, nil)
}

func completionText(t testing.TB, ts *httptest.Server, c completionCase) (string, int, string) {
	t.Helper()
	resp, data := post(t, ts, "/v1/completions", c.body(false))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, data)
	}
	v := decodeJSON(t, data)
	ch := v["choices"].([]any)[0].(map[string]any)
	return ch["text"].(string), int(v["usage"].(map[string]any)["completion_tokens"].(float64)), ch["finish_reason"].(string)
}

func TestCompletionEqualsRun(t *testing.T) {
	_, ts := newTestServer(t, Config{Parallel: 2})
	for _, c := range []completionCase{{"Once upon a time", 40, -1}, {"Lily had a dog", 30, 42}, {"The sun", 25, 7}} {
		want := c.reference(t)
		text, n, finish := completionText(t, ts, c)
		if text != want.Text || n != len(want.Tokens) {
			t.Errorf("%+v: server %q (%d tokens), run %q (%d tokens)", c, text, n, want.Text, len(want.Tokens))
		}
		if wantFinish := finishReason(want.StopReason); finish != wantFinish {
			t.Errorf("%+v: finish_reason %s, want %s", c, finish, wantFinish)
		}
		// again, with the prompt now cached in a slot
		if text2, _, _ := completionText(t, ts, c); text2 != want.Text {
			t.Errorf("%+v, the prompt cached: %q, want %q", c, text2, want.Text)
		}
	}
}

// Sixteen different requests at once, each equal to its own run alone.
func TestConcurrentEqualsRun(t *testing.T) {
	_, ts := newTestServer(t, Config{Parallel: 16})
	prompts := []string{"Once upon a time", "Lily", "The cat", "Tom and Sue", "One day", "A big tree", "Ben", "The sky"}
	var cases []completionCase
	for i := range 16 {
		seed := int64(-1)
		if i%2 == 1 {
			seed = int64(100 + i)
		}
		cases = append(cases, completionCase{prompts[i%len(prompts)], 20 + i, seed})
	}
	want := make([]*inferno.Result, len(cases))
	for i, c := range cases {
		want[i] = c.reference(t)
	}
	got := make([]string, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() { got[i], _, _ = completionText(t, ts, c) })
	}
	wg.Wait()
	for i := range cases {
		if got[i] != want[i].Text {
			t.Errorf("%+v: concurrent %q, alone %q", cases[i], got[i], want[i].Text)
		}
	}
}

// sseEvents reads an SSE body: the JSON objects and whether it ended with [DONE].
func sseEvents(t testing.TB, body io.Reader) ([]map[string]any, bool) {
	t.Helper()
	var evs []map[string]any
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		d, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("not an SSE data line: %q", line)
		}
		if d == "[DONE]" {
			if sc.Scan() && sc.Text() != "" {
				t.Errorf("data after [DONE]: %q", sc.Text())
			}
			return evs, true
		}
		evs = append(evs, decodeJSON(t, []byte(d)))
	}
	return evs, false
}

func chatBody(msgs []map[string]string, extra map[string]any) map[string]any {
	b := map[string]any{"model": modelName, "messages": msgs, "temperature": 0, "max_tokens": 30}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func chatIDs(t testing.TB, msgs []chat.Message) []int32 {
	t.Helper()
	s := &Server{}
	ids, err := s.encodeChat(Model{Name: modelName, Model: testModel(t)}, msgs)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestChatCompletions(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	msgs := []map[string]string{{"role": "system", "content": "You tell stories."}, {"role": "user", "content": "Tell me about a dog."}}
	want := runReference(t, chatIDs(t, []chat.Message{{Role: "system", Content: "You tell stories."}, {Role: "user", Content: "Tell me about a dog."}}), greedy(), 30, nil)

	resp, data := post(t, ts, "/v1/chat/completions", chatBody(msgs, nil))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, data)
	}
	v := decodeJSON(t, data)
	ch := v["choices"].([]any)[0].(map[string]any)
	msg := ch["message"].(map[string]any)
	if msg["role"] != "assistant" || msg["content"] != want.Text || v["object"] != "chat.completion" || v["model"] != modelName {
		t.Errorf("got %s, want content %q", data, want.Text)
	}
	u := v["usage"].(map[string]any)
	if int(u["prompt_tokens"].(float64)) != len(want.PromptTokens) || int(u["completion_tokens"].(float64)) != len(want.Tokens) ||
		u["total_tokens"].(float64) != u["prompt_tokens"].(float64)+u["completion_tokens"].(float64) {
		t.Errorf("usage %v, want %d prompt + %d completion tokens", u, len(want.PromptTokens), len(want.Tokens))
	}
	tm := v["timings"].(map[string]any)
	if tm["predicted_n"].(float64) != float64(len(want.Tokens)) || tm["predicted_per_second"].(float64) <= 0 {
		t.Errorf("timings %v", tm)
	}

	// streaming: a role chunk, content chunks that add up, finish_reason, usage, [DONE]
	for _, includeUsage := range []bool{false, true} {
		extra := map[string]any{"stream": true}
		if includeUsage {
			extra["stream_options"] = map[string]any{"include_usage": true}
		}
		j, _ := json.Marshal(chatBody(msgs, extra))
		resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("Content-Type %q", ct)
		}
		evs, done := sseEvents(t, resp.Body)
		resp.Body.Close()
		if !done || len(evs) < 3 {
			t.Fatalf("stream: %d events, [DONE] %v", len(evs), done)
		}
		var text strings.Builder
		finish := ""
		usageSeen := false
		for i, ev := range evs {
			if ev["object"] != "chat.completion.chunk" {
				t.Errorf("event %d: object %v", i, ev["object"])
			}
			chs := ev["choices"].([]any)
			if len(chs) == 0 {
				usageSeen = true
				if int(ev["usage"].(map[string]any)["completion_tokens"].(float64)) != len(want.Tokens) {
					t.Errorf("usage chunk %v", ev["usage"])
				}
				continue
			}
			c := chs[0].(map[string]any)
			delta := c["delta"].(map[string]any)
			if i == 0 && delta["role"] != "assistant" {
				t.Errorf("first chunk %v has no assistant role", delta)
			}
			if s, ok := delta["content"].(string); ok {
				text.WriteString(s)
			}
			if f, ok := c["finish_reason"].(string); ok {
				finish = f
				if _, ok := ev["timings"]; !ok {
					t.Errorf("the finishing chunk has no timings")
				}
			}
		}
		if text.String() != want.Text || finish != finishReason(want.StopReason) || usageSeen != includeUsage {
			t.Errorf("stream (include_usage %v): %q finish %q usage %v, want %q finish %q", includeUsage, text.String(), finish, usageSeen, want.Text, finishReason(want.StopReason))
		}
	}
}

// A second turn that repeats the first one's messages evaluates only its new tokens.
func TestChatReusesPrefix(t *testing.T) {
	_, ts := newTestServer(t, Config{Parallel: 2})
	first := []map[string]string{{"role": "user", "content": "Tell me about a cat."}}
	_, data := post(t, ts, "/v1/chat/completions", chatBody(first, nil))
	reply := decodeJSON(t, data)["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
	second := append(first, map[string]string{"role": "assistant", "content": reply}, map[string]string{"role": "user", "content": "And a dog?"})
	ids1 := chatIDs(t, []chat.Message{{Role: "user", Content: "Tell me about a cat."}})
	ids2 := chatIDs(t, []chat.Message{{Role: "user", Content: "Tell me about a cat."}, {Role: "assistant", Content: reply}, {Role: "user", Content: "And a dog?"}})
	common := commonPrefix(ids1, ids2)
	if common < len(ids1)-1 {
		t.Fatalf("the rendered second turn shares only %d of the first's %d tokens", common, len(ids1))
	}
	_, data = post(t, ts, "/v1/chat/completions", chatBody(second, nil))
	v := decodeJSON(t, data)
	cached := int(v["usage"].(map[string]any)["prompt_tokens_details"].(map[string]any)["cached_tokens"].(float64))
	if cached < common {
		t.Errorf("cached_tokens %d, want at least the %d tokens the turns share", cached, common)
	}
	if n := int(v["timings"].(map[string]any)["prompt_n"].(float64)); n != len(ids2)-cached {
		t.Errorf("prompt_n %d, want %d - %d", n, len(ids2), cached)
	}
}

func TestLogprobs(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	resp, data := post(t, ts, "/v1/chat/completions", chatBody([]map[string]string{{"role": "user", "content": "Hi"}},
		map[string]any{"logprobs": true, "top_logprobs": 3, "max_tokens": 5}))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, data)
	}
	content := decodeJSON(t, data)["choices"].([]any)[0].(map[string]any)["logprobs"].(map[string]any)["content"].([]any)
	if len(content) == 0 {
		t.Fatal("no logprobs")
	}
	for i, c := range content {
		e := c.(map[string]any)
		top := e["top_logprobs"].([]any)
		if len(top) != 3 {
			t.Fatalf("token %d: %d top_logprobs, want 3", i, len(top))
		}
		sum := 0.0
		for k, a := range top {
			lp := a.(map[string]any)["logprob"].(float64)
			sum += math.Exp(lp)
			if k > 0 && lp > top[k-1].(map[string]any)["logprob"].(float64) {
				t.Errorf("token %d: top_logprobs not in descending order", i)
			}
		}
		// greedy: the chosen token is the most likely one
		if e["logprob"].(float64) != top[0].(map[string]any)["logprob"].(float64) || e["token"] != top[0].(map[string]any)["token"] || sum > 1+1e-9 || e["logprob"].(float64) > 0 {
			t.Errorf("token %d: %v", i, e)
		}
	}
	// the values are log-softmax of the logits: check one against a direct computation
	lp := logprobsOf([]float32{1, 2, 3}, 1, 2)
	z := math.Log(math.Exp(1) + math.Exp(2) + math.Exp(3))
	if math.Abs(lp.Logprob-(2-z)) > 1e-12 || lp.Top[0].Token != 2 || lp.Top[1].Token != 1 || math.Abs(lp.Top[0].Logprob-(3-z)) > 1e-12 {
		t.Errorf("logprobsOf: %+v", lp)
	}
}

func TestModelsEndpoints(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	_, data := get(t, ts, "/v1/models")
	v := decodeJSON(t, data)
	d := v["data"].([]any)
	if v["object"] != "list" || len(d) != 1 || d[0].(map[string]any)["id"] != modelName {
		t.Errorf("/v1/models: %s", data)
	}
	if resp, data := get(t, ts, "/v1/models/"+modelName); resp.StatusCode != 200 || decodeJSON(t, data)["id"] != modelName {
		t.Errorf("/v1/models/%s: %d %s", modelName, resp.StatusCode, data)
	}
	if resp, _ := get(t, ts, "/v1/models/nope"); resp.StatusCode != 404 {
		t.Errorf("/v1/models/nope: %d", resp.StatusCode)
	}
	if resp, data := get(t, ts, "/health"); resp.StatusCode != 200 || decodeJSON(t, data)["status"] != "ok" {
		t.Errorf("/health: %d %s", resp.StatusCode, data)
	}
}

// errorCase is a request the server must refuse with status, its message containing
// want.
type errorCase struct {
	path   string
	body   any
	status int
	want   string
}

func TestErrors(t *testing.T) {
	_, ts := newTestServer(t, Config{MaxBodyBytes: 64 << 10})
	msgs := []map[string]string{{"role": "user", "content": "Hi"}}
	chatWith := func(k string, v any) map[string]any { return chatBody(msgs, map[string]any{k: v}) }
	long := strings.Repeat("the cat sat on the mat. ", 200) // more than 512 tokens
	cases := []errorCase{
		{"/v1/chat/completions", `{"model":`, 400, "malformed JSON"},
		{"/v1/chat/completions", ``, 400, "empty"},
		{"/v1/chat/completions", `[1,2]`, 400, "malformed JSON"},
		{"/v1/chat/completions", `{"model":"stories260K","messages":[]} {}`, 400, "after the JSON"},
		{"/v1/chat/completions", chatWith("n", 2), 400, "n 2"},
		{"/v1/chat/completions", chatWith("tools", []any{map[string]any{"type": "function"}}), 400, "tools are not supported"},
		{"/v1/chat/completions", chatWith("tool_choice", "auto"), 400, "tool_choice"},
		{"/v1/chat/completions", chatWith("response_format", map[string]any{"type": "json_object"}), 400, "response_format \"json_object\""},
		{"/v1/chat/completions", chatWith("logit_bias", map[string]any{"1": 5}), 400, "logit_bias"},
		{"/v1/chat/completions", chatWith("frobnicate", 1), 400, "unknown parameter \"frobnicate\""},
		{"/v1/chat/completions", chatWith("model", "nope"), 404, `model "nope" not found`},
		{"/v1/chat/completions", chatWith("model", "../../etc/passwd"), 404, "not found"},
		{"/v1/chat/completions", chatWith("temperature", -1), 400, "temperature"},
		{"/v1/chat/completions", chatWith("top_p", 2), 400, "top-p"},
		{"/v1/chat/completions", chatWith("temperature", "hot"), 400, "malformed JSON"},
		{"/v1/chat/completions", chatWith("max_tokens", 0), 400, "max_tokens 0 must be >= 1"},
		{"/v1/chat/completions", chatWith("max_tokens", 100000), 400, "the context holds 512"},
		{"/v1/chat/completions", chatWith("max_tokens", int64(math.MaxInt64)), 400, "the context holds 512"},
		{"/v1/chat/completions", chatWith("max_tokens", 1e30), 400, "malformed JSON"},
		{"/v1/chat/completions", chatWith("seed", 1.5), 400, "malformed JSON"},
		{"/v1/chat/completions", chatWith("max_completion_tokens", 7), 400, "differ"},
		{"/v1/chat/completions", chatWith("stop", 5), 400, "stop must be a string or a list"},
		{"/v1/chat/completions", chatWith("top_logprobs", 3), 400, "needs logprobs"},
		{"/v1/chat/completions", chatWith("stream_options", map[string]any{"include_usage": true}), 400, "only with stream"},
		{"/v1/chat/completions", chatWith("messages", []any{}), 400, "messages is empty"},
		{"/v1/chat/completions", chatWith("messages", []any{map[string]any{"role": "tool", "content": "x"}}), 400, "tools are not supported"},
		{"/v1/chat/completions", chatWith("messages", []any{map[string]any{"role": "wizard", "content": "x"}}), 400, "role \"wizard\""},
		{"/v1/chat/completions", chatWith("messages", []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "image_url"}}}}), 400, "only text"},
		{"/v1/chat/completions", chatWith("messages", []any{map[string]any{"role": "user", "content": long}}), 400, "the context holds 512"},
		{"/v1/chat/completions", chatWith("messages", []any{map[string]any{"role": "user", "content": strings.Repeat("x", 70<<10)}}), 413, "larger than the limit of 65536 bytes"},
		{"/v1/completions", map[string]any{"model": modelName, "prompt": long}, 400, "the prompt is"},
		{"/v1/completions", map[string]any{"model": modelName, "prompt": []string{"a", "b"}}, 400, "only one prompt"},
		{"/v1/completions", map[string]any{"model": modelName, "prompt": []int{1, 2}}, 400, "token-id prompts"},
		{"/v1/completions", map[string]any{"model": modelName}, 400, "prompt is required"},
		{"/v1/completions", map[string]any{"model": modelName, "prompt": "a", "echo": true}, 400, "echo"},
		{"/v1/completions", map[string]any{"model": modelName, "prompt": "a", "best_of": 3}, 400, "best_of"},
		{"/v1/completions", map[string]any{"model": modelName, "prompt": "a", "logprobs": 9}, 400, "logprobs 9"},
		{"/v1/completions", map[string]any{"model": modelName, "prompt": "a", "n": 3}, 400, "n 3"},
		{"/v1/completions", map[string]any{"model": "nope", "prompt": "a"}, 404, "not found"},
		{"/api/chat", map[string]any{"model": "nope", "messages": msgs}, 404, "not found"},
		{"/api/chat", map[string]any{"model": modelName, "messages": msgs, "options": map[string]any{"num_ctx": 4096}}, 400, "num_ctx"},
		{"/api/chat", map[string]any{"model": modelName, "messages": msgs, "format": "json"}, 400, "format"},
		{"/api/chat", map[string]any{"model": modelName, "messages": msgs, "tools": []any{map[string]any{}}}, 400, "tools"},
		{"/api/chat", map[string]any{"model": modelName, "messages": msgs, "options": map[string]any{"temperature": -2}}, 400, "temperature"},
		{"/api/generate", map[string]any{"model": modelName, "prompt": "a", "suffix": "b"}, 400, "suffix"},
		{"/api/generate", map[string]any{"model": modelName, "prompt": "a", "images": []string{"AAAA"}}, 400, "images"},
		{"/api/generate", map[string]any{"model": modelName, "prompt": long, "raw": true}, 400, "the context holds 512"},
		{"/api/generate", `{"model": 5}`, 400, "malformed JSON"},
		{"/api/show", map[string]any{"model": "nope"}, 404, "not found"},
	}
	for _, c := range cases {
		resp, data := post(t, ts, c.path, c.body)
		msg := ""
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Errorf("%s %v: not JSON: %s", c.path, c.body, data)
			continue
		}
		if strings.HasPrefix(c.path, "/api/") {
			msg, _ = v["error"].(string) // Ollama's shape
		} else if e, ok := v["error"].(map[string]any); ok {
			msg, _ = e["message"].(string)
			if e["type"] == nil {
				t.Errorf("%s: error without a type: %s", c.path, data)
			}
		}
		if resp.StatusCode != c.status || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("%s %.200v: %d %q, want %d containing %q", c.path, c.body, resp.StatusCode, msg, c.status, c.want)
		}
	}
}

// Random and truncated bodies on every POST endpoint are a 4xx, never a 500 or a crash.
func TestMalformedInputNever500(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	valid := []string{
		`{"model":"stories260K","messages":[{"role":"user","content":"Hi"}],"max_tokens":3,"temperature":0,"stop":["a"],"seed":1}`,
		`{"model":"stories260K","prompt":"Hi","max_tokens":3,"logprobs":2,"top_p":0.5}`,
		`{"model":"stories260K","messages":[{"role":"user","content":"Hi"}],"stream":false,"options":{"num_predict":3,"top_k":5}}`,
		`{"model":"stories260K","prompt":"Hi","stream":false,"options":{"num_predict":3}}`,
	}
	paths := []string{"/v1/chat/completions", "/v1/completions", "/api/chat", "/api/generate", "/api/show"}
	rng := uint64(12345)
	next := func(n int) int { rng = rng*6364136223846793005 + 1442695040888963407; return int(rng>>33) % n }
	for i := range 120 {
		b := []byte(valid[next(len(valid))])
		switch i % 4 {
		case 0:
			b = b[:next(len(b))]
		case 1:
			b[next(len(b))] = byte(next(256))
		case 2:
			k := next(len(b))
			b = append(b[:k:k], append([]byte(`{"x":[[[`), b[k:]...)...)
		case 3:
			for range 3 {
				b[next(len(b))] = "{}[]\":,0-e"[next(10)]
			}
		}
		path := paths[next(len(paths))]
		resp, data := post(t, ts, path, string(b))
		if resp.StatusCode >= 500 {
			t.Errorf("%s %q: %d %s", path, b, resp.StatusCode, data)
		}
	}
	for _, c := range []struct{ method, path string }{{"GET", "/v1/chat/completions"}, {"DELETE", "/v1/models"}, {"PUT", "/api/chat"}} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 405", c.method, c.path, resp.StatusCode)
		}
	}
}

// ndjson reads an NDJSON body.
func ndjson(t testing.TB, body io.Reader) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		out = append(out, decodeJSON(t, sc.Bytes()))
	}
	return out
}

func TestOllama(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	msgs := []map[string]string{{"role": "user", "content": "Tell me about a dog."}}
	want := runReference(t, chatIDs(t, []chat.Message{{Role: "user", Content: "Tell me about a dog."}}), greedy(), 20, nil)
	opts := map[string]any{"temperature": 0, "num_predict": 20}

	// /api/chat streams by default
	j, _ := json.Marshal(map[string]any{"model": modelName, "messages": msgs, "options": opts})
	resp, err := http.Post(ts.URL+"/api/chat", "application/json", bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q", ct)
	}
	objs := ndjson(t, resp.Body)
	resp.Body.Close()
	var text strings.Builder
	for i, o := range objs {
		text.WriteString(o["message"].(map[string]any)["content"].(string))
		if (i == len(objs)-1) != o["done"].(bool) {
			t.Errorf("object %d of %d: done %v", i, len(objs), o["done"])
		}
	}
	final := objs[len(objs)-1]
	if text.String() != want.Text || final["done_reason"] != finishReason(want.StopReason) ||
		int(final["eval_count"].(float64)) != len(want.Tokens) {
		t.Errorf("/api/chat: %q %v, want %q", text.String(), final, want.Text)
	}
	for _, k := range []string{"total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_duration"} {
		if _, ok := final[k].(float64); !ok {
			t.Errorf("final object has no %s: %v", k, final)
		}
	}
	if final["eval_duration"].(float64) <= 0 || final["total_duration"].(float64) < final["eval_duration"].(float64) {
		t.Errorf("durations %v", final)
	}

	// /api/generate without streaming, raw: the prompt as `inferno run` tokenizes it
	resp, data := post(t, ts, "/api/generate", map[string]any{"model": modelName + ":latest", "prompt": "Once upon a time", "raw": true, "stream": false, "options": opts})
	v := decodeJSON(t, data)
	wantRaw := runReference(t, testModel(t).Tokenize("Once upon a time"), greedy(), 20, nil)
	if resp.StatusCode != 200 || v["response"] != wantRaw.Text || v["done"] != true || int(v["prompt_eval_count"].(float64)) > len(wantRaw.PromptTokens) {
		t.Errorf("/api/generate: %d %s, want %q", resp.StatusCode, data, wantRaw.Text)
	}

	_, data = get(t, ts, "/api/tags")
	tags := decodeJSON(t, data)["models"].([]any)
	if len(tags) != 1 || tags[0].(map[string]any)["name"] != modelName || tags[0].(map[string]any)["details"].(map[string]any)["family"] != "llama" {
		t.Errorf("/api/tags: %s", data)
	}
	_, data = post(t, ts, "/api/show", map[string]any{"model": modelName})
	if info := decodeJSON(t, data)["model_info"].(map[string]any); info["general.architecture"] != "llama" || info["llama.block_count"] != 5.0 {
		t.Errorf("/api/show: %s", data)
	}
	_, data = get(t, ts, "/api/ps")
	if ps := decodeJSON(t, data)["models"].([]any); len(ps) != 1 || ps[0].(map[string]any)["context_length"] != 512.0 {
		t.Errorf("/api/ps: %s", data)
	}
	if _, data = get(t, ts, "/api/version"); decodeJSON(t, data)["version"] != "test" {
		t.Errorf("/api/version: %s", data)
	}
}

func TestMetricsAndStatus(t *testing.T) {
	_, ts := newTestServer(t, Config{Parallel: 3})
	_, _, _ = completionText(t, ts, completionCase{"Once upon a time", 10, -1})
	post(t, ts, "/v1/completions", map[string]any{"model": "nope", "prompt": "a"})
	resp, data := get(t, ts, "/metrics")
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	m := string(data)
	for _, want := range []string{
		`inferno_http_requests_total{code="200",route="/v1/completions"} 1`,
		`inferno_http_requests_total{code="404",route="/v1/completions"} 1`,
		`inferno_generated_tokens_total{model="stories260K"} 10`,
		`inferno_prompt_tokens_total{model="stories260K"}`,
		`inferno_generation_tokens_per_second{model="stories260K"}`,
		`inferno_queue_depth{model="stories260K"} 0`,
		`inferno_slots_busy{model="stories260K"} 0`,
		`inferno_slots{model="stories260K"} 3`,
		`inferno_kv_cache_size_tokens{model="stories260K",slot="2"} 512`,
		`inferno_kv_cache_used_tokens{model="stories260K",slot="0"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(m, "go_goroutines") {
		t.Errorf("/metrics carries the global registry's collectors")
	}

	_, data = get(t, ts, "/inferno/status")
	var st statusJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	raw := decodeJSON(t, data)
	if _, ok := raw["system"].(map[string]any)["gpu"]; !ok {
		t.Errorf("status: system.gpu missing (null on the CPU): %s", data)
	}
	mj := st.Models[0]
	if st.Version != "test" || len(st.Models) != 1 || mj.Name != modelName || mj.Architecture != "llama" || mj.Parameters <= 0 ||
		mj.TypeMix["F32"] == 0 || mj.Context != 512 || mj.Backend != "cpu" || mj.Layers != 6 || mj.LayersGPU != 0 ||
		len(st.Slots) != 3 || st.Slots[0].KVSize != 512 || st.Stats.Requests != 1 || st.Stats.GeneratedTokens != 10 ||
		st.Stats.GenerationTokensPerSecond <= 0 || st.System.Threads != 1 || st.System.GPU != nil {
		t.Errorf("status: %s", data)
	}
	used := 0
	for _, s := range st.Slots {
		used += s.KVUsed
	}
	if used == 0 {
		t.Errorf("status: no slot holds the finished request's tokens: %s", data)
	}
}

func TestAuthAndCORS(t *testing.T) {
	_, ts := newTestServer(t, Config{APIKey: "sekrit", CORSOrigin: "https://app.example"})
	do := func(method, path, auth string) *http.Response {
		req, _ := http.NewRequest(method, ts.URL+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, path := range []string{"/v1/models", "/api/tags", "/metrics", "/inferno/status"} {
		if r := do("GET", path, ""); r.StatusCode != 401 {
			t.Errorf("%s without a key: %d", path, r.StatusCode)
		}
		if r := do("GET", path, "Bearer wrong"); r.StatusCode != 401 {
			t.Errorf("%s with a wrong key: %d", path, r.StatusCode)
		}
		if r := do("GET", path, "sekrit"); r.StatusCode != 401 {
			t.Errorf("%s with the key but not as Bearer: %d", path, r.StatusCode)
		}
		r := do("GET", path, "Bearer sekrit")
		if r.StatusCode != 200 || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Errorf("%s with the key: %d, CORS %q", path, r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	if r := do("GET", "/health", ""); r.StatusCode != 200 {
		t.Errorf("/health needs no key: %d", r.StatusCode)
	}
	if r := do("OPTIONS", "/v1/chat/completions", ""); r.StatusCode != 204 || !strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", r.StatusCode, r.Header)
	}
	// without --cors-origin no CORS header and no preflight
	_, plain := newTestServer(t, Config{})
	resp, _ := get(t, plain, "/v1/models")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS header without --cors-origin")
	}
	req, _ := http.NewRequest("OPTIONS", plain.URL+"/v1/models", nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode == 204 || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight without --cors-origin: %d", r.StatusCode)
	}
}

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		host, key string
		noAuth    bool
		ok        bool
	}{
		{"127.0.0.1", "", false, true}, {"::1", "", false, true}, {"localhost", "", false, true}, {"127.0.0.2", "", false, true},
		{"0.0.0.0", "", false, false}, {"192.168.1.5", "", false, false}, {"example.com", "", false, false}, {"", "", false, false},
		{"0.0.0.0", "k", false, true}, {"0.0.0.0", "", true, true}, {"127.0.0.1", "k", true, false},
	} {
		if err := CheckListen(c.host, c.key, c.noAuth); (err == nil) != c.ok {
			t.Errorf("CheckListen(%q, %q, %v): %v", c.host, c.key, c.noAuth, err)
		}
	}
	hs := HTTPServer("127.0.0.1:0", http.NotFoundHandler())
	if hs.ReadHeaderTimeout == 0 || hs.IdleTimeout == 0 || hs.MaxHeaderBytes == 0 {
		t.Errorf("HTTPServer without limits: %+v", hs)
	}
}

// A full queue answers 429 with Retry-After; a waiting client that leaves frees its
// place; a client that leaves a running request frees the slot.
func TestQueueFullAndDisconnect(t *testing.T) {
	gate := make(chan struct{})
	var gateOn sync.Mutex
	closed := false
	open := func() {
		gateOn.Lock()
		if !closed {
			close(gate)
			closed = true
		}
		gateOn.Unlock()
	}
	s, ts := newTestServer(t, Config{Parallel: 1, Queue: 1, beforeStep: func() { <-gate }})
	defer open()
	e := s.engines[0]
	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	body := `{"model":"stories260K","prompt":"Once","max_tokens":50,"temperature":0}`
	errA := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctxA, "POST", ts.URL+"/v1/completions", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errA <- err
	}()
	waitFor(t, "request A in the slot", func() bool { return e.slotsInfo()[0].Busy || busy(e) })
	resB := make(chan int, 1)
	go func() { resB <- postAsync(t, ts, "/v1/completions", body) }()
	waitFor(t, "request B queued or admitted", func() bool {
		n := 0
		for _, si := range e.slotsInfo() {
			if si.Busy {
				n++
			}
		}
		return len(e.queue) == 1 || n == 2
	})
	resp, data := post(t, ts, "/v1/completions", body)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(data), "queue_full") {
		t.Errorf("a full queue: %d %s", resp.StatusCode, data)
	}
	cancelA() // A leaves while the scheduler waits at the gate
	<-errA
	open()
	if code := <-resB; code != 200 {
		t.Errorf("request B: %d", code)
	}
	waitFor(t, "the slot freed", func() bool { return !e.slotsInfo()[0].Busy })
}

// busy reads the scheduler's view (the published one lags a step).
func busy(e *engine) bool {
	for _, si := range e.slotsInfo() {
		if si.Busy {
			return true
		}
	}
	return false
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNewRefuses(t *testing.T) {
	m := testModel(t)
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no model"},
		{Config{Models: []Model{{Name: "a", Model: m}, {Name: "a", Model: m}}}, `two models named "a"`},
		{Config{Models: []Model{{Name: "a", Model: m}}, Parallel: -1}, "parallel -1"},
	} {
		s, err := New(c.cfg)
		if err == nil {
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v): %v, want %q", c.cfg, err, c.want)
		}
	}
}

// The dashboard, when set, is served at "/" with a restrictive CSP and without the key;
// without it "/" is not found.
func TestDashboardRoute(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>dash</html>") })
	_, ts := newTestServer(t, Config{Dashboard: page, APIKey: "k"})
	resp, data := get(t, ts, "/")
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || string(data) != "<html>dash</html>" || !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("/: %d %q CSP %q", resp.StatusCode, data, csp)
	}
	_, plain := newTestServer(t, Config{})
	if resp, _ := get(t, plain, "/"); resp.StatusCode != 404 {
		t.Errorf("/ without a dashboard: %d", resp.StatusCode)
	}
}

// A prompt longer than --batch is evaluated a chunk per step (so running streams keep
// stepping between its chunks), and still gives the tokens of `inferno run`.
func TestPromptInChunks(t *testing.T) {
	var mu sync.Mutex
	steps := 0
	_, ts := newTestServer(t, Config{Batch: 8, beforeStep: func() { mu.Lock(); steps++; mu.Unlock() }})
	c := completionCase{"Once upon a time there was a little girl named Lily who loved to play outside in the park with her dog", 5, -1}
	n := len(testModel(t).Tokenize(c.prompt))
	if n <= 16 {
		t.Fatalf("the prompt is only %d tokens", n)
	}
	want := c.reference(t)
	text, _, _ := completionText(t, ts, c)
	if text != want.Text {
		t.Errorf("in chunks of 8: %q, run: %q", text, want.Text)
	}
	mu.Lock()
	defer mu.Unlock()
	if min := (n+7)/8 + len(want.Tokens) - 1; steps < min {
		t.Errorf("%d steps for a %d-token prompt in chunks of 8 and %d tokens, want at least %d", steps, n, len(want.Tokens), min)
	}
}

// Stop strings end the text before them, streamed or not, as in `inferno run`.
func TestStopStrings(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	prompt := "Once upon a time"
	for _, stop := range []any{"l na", []string{"zzz", "little"}} {
		var stops []string
		switch v := stop.(type) {
		case string:
			stops = []string{v}
		case []string:
			stops = v
		}
		want := runReference(t, testModel(t).Tokenize(prompt), greedy(), 30, stops)
		if want.StopReason != inferno.StopString {
			t.Fatalf("stop %v: the reference did not stop on it (%s)", stop, want.StopReason)
		}
		body := map[string]any{"model": modelName, "prompt": prompt, "max_tokens": 30, "temperature": 0, "stop": stop}
		_, data := post(t, ts, "/v1/completions", body)
		ch := decodeJSON(t, data)["choices"].([]any)[0].(map[string]any)
		if ch["text"] != want.Text || ch["finish_reason"] != "stop" {
			t.Errorf("stop %v: %s, want %q", stop, data, want.Text)
		}
		body["stream"] = true
		j, _ := json.Marshal(body)
		resp, err := http.Post(ts.URL+"/v1/completions", "application/json", bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		evs, _ := sseEvents(t, resp.Body)
		resp.Body.Close()
		var text strings.Builder
		for _, ev := range evs {
			for _, c := range ev["choices"].([]any) {
				text.WriteString(c.(map[string]any)["text"].(string))
			}
		}
		if text.String() != want.Text {
			t.Errorf("stop %v streamed: %q, want %q", stop, text.String(), want.Text)
		}
	}
}

// A long prompt joins between steps in --batch chunks: while it is evaluated, a
// running stream keeps getting one token per step.
func TestLongPromptDoesNotStall(t *testing.T) {
	// the scheduler waits before each step (after publishing the slots' state) until
	// the test has read that state and lets it go on
	arrived, tick, stop := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var stopOnce sync.Once
	release := func() { stopOnce.Do(func() { close(stop) }) }
	defer release()
	s, ts := newTestServer(t, Config{Parallel: 2, Batch: 8, beforeStep: func() {
		select {
		case arrived <- struct{}{}:
		case <-stop:
			return
		}
		select {
		case <-tick:
		case <-stop:
		}
	}})
	e := s.engines[0]
	step := func() []slotInfo { <-arrived; info := e.slotsInfo(); tick <- struct{}{}; return info }
	go postAsync(t, ts, "/v1/completions", map[string]any{"model": modelName, "prompt": "Once", "max_tokens": 200, "temperature": 0})
	waitFor(t, "request A running", func() bool { return busy(e) })
	var warm []slotInfo
	for range 3 {
		warm = step()
	}
	long := "Once upon a time there was a little girl named Lily who loved to play outside in the park with her dog and her cat"
	go postAsync(t, ts, "/v1/completions", map[string]any{"model": modelName, "prompt": long, "max_tokens": 3, "temperature": 0})
	nLong := len(testModel(t).Tokenize(long))
	waitFor(t, "request B queued or admitted", func() bool {
		n := 0
		for _, si := range e.slotsInfo() {
			if si.Busy {
				n++
			}
		}
		return len(e.queue) == 1 || n == 2
	})
	var rec [][]slotInfo
	for range nLong/8 + 2 {
		rec = append(rec, step())
	}
	release() // let everything finish
	a := 0    // A's slot: the one busy before B came
	if warm[1].Busy {
		a = 1
	}
	b := 1 - a
	chunks := 0
	for i := 1; i < len(rec); i++ {
		prev, cur := rec[i-1], rec[i]
		if !prev[a].Busy || !cur[a].Busy || !prev[b].Busy {
			continue
		}
		if d := cur[b].KVUsed - prev[b].KVUsed; d == 8 {
			chunks++
			if da := cur[a].KVUsed - prev[a].KVUsed; da != 1 {
				t.Errorf("step %d: the prompt advanced 8 tokens, the running stream %d (want 1)", i, da)
			}
		}
	}
	if chunks < nLong/8-1 {
		t.Errorf("saw %d steps with a chunk of 8 prompt tokens beside a running stream, want %d: %+v", chunks, nLong/8-1, rec)
	}
}

// ignore_eos (llama-server's extension, which load scripts send) reaches the generation
// options; without it end-of-generation tokens stop the reply. (stories260K does not end
// its greedy stories within the context, so this is checked on the job, not the reply.)
func TestIgnoreEOS(t *testing.T) {
	s, ts := newTestServer(t, Config{})
	for _, ignore := range []bool{false, true} {
		var req completionRequest
		body := fmt.Sprintf(`{"prompt": "Once upon a time", "max_tokens": 8, "ignore_eos": %v}`, ignore)
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			t.Fatal(err)
		}
		p, err := req.samplingFields.params()
		if err != nil {
			t.Fatal(err)
		}
		e, _, err := s.lookup("")
		if err != nil {
			t.Fatal(err)
		}
		j, err := s.newJob(context.Background(), e, testModel(t).Tokenize("Once upon a time"), p)
		if err != nil {
			t.Fatal(err)
		}
		if j.opt.IgnoreEOS != ignore {
			t.Errorf("ignore_eos %v: the job's IgnoreEOS is %v", ignore, j.opt.IgnoreEOS)
		}
	}
	body := completionCase{"Once upon a time", 8, -1}.body(false)
	body["ignore_eos"] = true
	delete(body, "model") // one model served: it is the default, as in llama-server
	if resp, data := post(t, ts, "/v1/completions", body); resp.StatusCode != 200 {
		t.Errorf("ignore_eos, no model: %d %s", resp.StatusCode, data)
	}
	two, err := New(Config{Version: "test", Parallel: 1, Models: []Model{{Name: "a", Model: testModel(t)}, {Name: "b", Model: testModel(t)}}})
	if err != nil {
		t.Fatal(err)
	}
	defer two.Close()
	if _, _, err := two.lookup(""); err == nil || !strings.Contains(err.Error(), "model is required (one of: a, b)") {
		t.Errorf("two models, none named: %v", err)
	}
}
