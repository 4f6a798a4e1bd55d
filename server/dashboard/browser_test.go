package dashboard_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/inferno-go/inferno/server/dashboard"
	"github.com/inferno-go/inferno/server/dashboard/dashboardtest"
)

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// fakeServer is the dashboard's two endpoints with made-up data: a status whose numbers
// change on every poll, and a chat that streams a reply in OpenAI's SSE format. Names
// carry markup, which the page must show as text.
type fakeServer struct {
	mu         sync.Mutex
	polls      int
	statusDown bool // /inferno/status answers 503
	statusDrop bool // /inferno/status closes the connection without an answer
	chatDown   bool // /v1/chat/completions answers 404
	requests   [][]chatMessage
	replies    []string // what each chat request streamed
	problems   []string // requests that were not what the page should send
}

const (
	fakeModel = "stories<b>260K</b>"
	fakeGPU   = `Fake GPU <img src=x>`
	fakeCPU   = "Fake CPU @ 3.0GHz"
)

func (f *fakeServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", dashboard.Handler())
	mux.HandleFunc("GET /inferno/status", f.status)
	mux.HandleFunc("POST /v1/chat/completions", f.chat)
	return mux
}

func (f *fakeServer) problem(format string, args ...any) {
	f.mu.Lock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func writeError(w http.ResponseWriter, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": message, "type": "test", "code": code}})
}

func (f *fakeServer) status(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.polls++
	n, down, drop := f.polls, f.statusDown, f.statusDrop
	f.mu.Unlock()
	if drop {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if down {
		writeError(w, http.StatusServiceUnavailable, "engine is restarting")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"version": "0.0.0-test",
		"system": map[string]any{"cpu": fakeCPU, "features": []string{"AVX2", "FMA", "F16C"}, "threads": 2,
			"gpu": map[string]any{"name": fakeGPU, "memory_used": int64(3) << 30, "memory_total": int64(80) << 30, "unified": false}},
		"models": []map[string]any{
			{"name": fakeModel, "path": "/models/stories260K.gguf", "architecture": "llama", "parameters": 292_000,
				"type_mix": map[string]int{"F32": 13, "Q8_0": 36}, "context": 512, "backend": "cpu", "layers": 5, "layers_gpu": 0},
			{"name": "tinyllama-q4", "path": "/models/tinyllama.gguf", "architecture": "llama<script>", "parameters": 1_100_048_384,
				"type_mix": map[string]int{"Q4_K": 135, "Q6_K": 21, "F32": 45}, "context": 2048, "backend": "cuda", "layers": 22, "layers_gpu": 22},
		},
		"slots": []map[string]any{
			{"id": 0, "model": fakeModel, "busy": n%2 == 0, "kv_used": 40 * (n % 12), "kv_size": 512},
			{"id": 1, "model": "", "busy": false, "kv_used": 0, "kv_size": 512},
		},
		"queue_depth": n % 3,
		"stats": map[string]any{"requests": n / 2, "prompt_tokens": 100 * n, "generated_tokens": 37 * n,
			"prompt_tokens_per_second": 100 + 10*float64(n%7), "generation_tokens_per_second": 20 + float64(n%5)},
	})
}

func (f *fakeServer) chat(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model         string        `json:"model"`
		Messages      []chatMessage `json:"messages"`
		Stream        bool          `json:"stream"`
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.problem("chat request Content-Type %q", ct)
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.problem("chat request body: %v", err)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Model != fakeModel || !req.Stream || !req.StreamOptions.IncludeUsage {
		f.problem("chat request model %q stream %v include_usage %v", req.Model, req.Stream, req.StreamOptions.IncludeUsage)
	}
	f.mu.Lock()
	down := f.chatDown
	if !down {
		f.requests = append(f.requests, req.Messages)
	}
	n := len(f.requests)
	f.mu.Unlock()
	if down {
		writeError(w, http.StatusNotFound, "model is not loaded")
		return
	}

	pieces := []string{"Once", " upon a time", ", <b>reply ", fmt.Sprint(n), "</b>", " & a fox."}
	f.mu.Lock()
	f.replies = append(f.replies, strings.Join(pieces, ""))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	flush := func() { w.(http.Flusher).Flush(); time.Sleep(20 * time.Millisecond) }
	event := func(v any) {
		b, _ := json.Marshal(v)
		// Each event is sent in two writes, split inside the JSON, as a network may.
		half := len(b) / 2
		fmt.Fprintf(w, "data: %s", b[:half])
		flush()
		fmt.Fprintf(w, "%s\n\n", b[half:])
		flush()
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": req.Model,
			"choices": []map[string]any{{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	event(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	fmt.Fprint(w, ": a comment line, which a client skips\n\n")
	for _, p := range pieces {
		event(chunk(map[string]any{"content": p}, nil))
	}
	event(chunk(map[string]any{}, "stop"))
	event(map[string]any{"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": req.Model, "choices": []any{},
		"usage":   map[string]any{"prompt_tokens": 9, "completion_tokens": len(pieces), "total_tokens": 9 + len(pieces)},
		"timings": map[string]any{"prompt_n": 9, "prompt_per_second": 123.4, "predicted_n": len(pieces), "predicted_per_second": 45.6}})
	fmt.Fprint(w, "data: [DONE]\n\n")
	flush()
}

func TestDashboardInBrowser(t *testing.T) {
	fake := &fakeServer{}
	srv := httptest.NewServer(fake.handler())
	defer srv.Close()

	res := dashboardtest.Check(t, srv.URL, filepath.Join(dashboardtest.ArtifactDir(t), "dashboard.png"))

	fake.mu.Lock()
	defer fake.mu.Unlock()
	for _, p := range fake.problems {
		t.Errorf("fake server: %s", p)
	}
	if !reflect.DeepEqual(res.Replies, fake.replies) {
		t.Errorf("the page shows replies %q, the server streamed %q", res.Replies, fake.replies)
	}
	for i, s := range res.Speeds {
		if !strings.Contains(s, "45.6 tok/s") || !strings.Contains(s, "prompt 123.4 tok/s") {
			t.Errorf("reply %d: %q does not show the server's timings (45.6, prompt 123.4 tok/s)", i+1, s)
		}
	}
	// The second request carries the conversation: the first exchange, then the new message.
	if len(fake.requests) == 2 && len(fake.replies) == 2 {
		want := []chatMessage{{"user", dashboardtest.ChatMessages[0]}, {"assistant", fake.replies[0]}, {"user", dashboardtest.ChatMessages[1]}}
		if !reflect.DeepEqual(fake.requests[1], want) {
			t.Errorf("second chat request sent messages %q, want %q", fake.requests[1], want)
		}
	} else {
		t.Errorf("the fake got %d chat requests, want 2", len(fake.requests))
	}
}

func (f *fakeServer) set(fn func(f *fakeServer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// The page shows a server that does not answer or answers with an error, keeps polling
// and recovers; a failed chat request is shown and left out of the conversation.
func TestDashboardShowsFailures(t *testing.T) {
	fake := &fakeServer{statusDrop: true, chatDown: true}
	srv := httptest.NewServer(fake.handler())
	defer srv.Close()
	b := dashboardtest.Start(t)
	dir := dashboardtest.ArtifactDir(t)

	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			dashboardtest.Screenshot(t, b, filepath.Join(dir, "dashboard-failures.png"))
			t.Fatal(err)
		}
	}
	banner := func(what, want string) {
		t.Helper()
		must(dashboardtest.WaitFor[bool](b, what, 10*time.Second, `(want) => {
			const e = document.getElementById('error');
			return !e.hidden && e.textContent.includes(want) &&
				document.getElementById('conn').textContent === 'server unreachable';
		}`, want))
	}
	must(chromedp.Run(b.Ctx, chromedp.NavigateResponse(srv.URL+"/")))
	banner("the banner for a dropped connection", "Failed to fetch")
	fake.set(func(f *fakeServer) { f.statusDrop, f.statusDown = false, true })
	banner("the banner for a 503", "HTTP 503: engine is restarting")
	dashboardtest.Screenshot(t, b, filepath.Join(dir, "dashboard-down.png"))

	fake.set(func(f *fakeServer) { f.statusDown = false })
	must(dashboardtest.WaitFor[bool](b, "the banner to go and the models to show", 10*time.Second, `(model) =>
		document.getElementById('error').hidden &&
		document.getElementById('conn').textContent === 'connected' &&
		document.getElementById('models').textContent.includes(model)`, fakeModel))

	send := func(text string) []string {
		t.Helper()
		must(nil, chromedp.Do(b.Ctx, chromedp.SendKeys(chromedp.ID("message"), text), chromedp.Click(chromedp.ID("send"))))
		reply, err := dashboardtest.WaitFor[[]string](b, "the reply to "+text, 10*time.Second, `(text) => {
			const users = Array.from(document.querySelectorAll('#messages .msg.user .text'));
			if (!users.length || users[users.length - 1].textContent !== text) return null;
			const last = document.querySelector('#messages .msg.assistant:last-child');
			if (!last || !(last.classList.contains('failed') || last.querySelector('.meta.speed'))) return null;
			return [last.classList.contains('failed') ? 'failed' : 'ok', last.querySelector('.meta').textContent];
		}`, text)
		must(nil, err)
		return reply
	}
	if got := send("first try"); got[0] != "failed" || got[1] != "Error: HTTP 404: model is not loaded" {
		t.Errorf("a chat answered 404 shows %q, want failed and the server's message", got)
	}
	fake.set(func(f *fakeServer) { f.chatDown = false })
	if got := send("second try"); got[0] != "ok" {
		t.Errorf("a chat after a failed one shows %q", got)
	}
	fake.set(func(f *fakeServer) {
		want := [][]chatMessage{{{"user", "second try"}}}
		if !reflect.DeepEqual(f.requests, want) {
			t.Errorf("chat requests sent %q, want %q (the failed exchange left out)", f.requests, want)
		}
		for _, p := range f.problems {
			t.Errorf("fake server: %s", p)
		}
	})

	// The failed loads are the browser's own network errors; anything else is a bug.
	for _, m := range b.Console() {
		if (m.Type == chromedp.ConsoleError && m.Source != "network") || m.IsException() {
			t.Errorf("browser console: %s", m)
		}
	}
}

// TestDashboardLive runs the same check against a running server, e.g.
// INFERNO_DASHBOARD_URL=http://127.0.0.1:8080 after `inferno serve -m stories260K.gguf`.
func TestDashboardLive(t *testing.T) {
	url := os.Getenv("INFERNO_DASHBOARD_URL")
	if url == "" {
		t.Skip("INFERNO_DASHBOARD_URL is unset: no running server to check")
	}
	dashboardtest.Check(t, url, filepath.Join(dashboardtest.ArtifactDir(t), "dashboard-live.png"))
}
