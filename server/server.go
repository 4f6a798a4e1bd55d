// Package server is `inferno serve`: an OpenAI- and Ollama-compatible HTTP API over
// loaded models. Each model has --parallel slots (a Session each) and one scheduler
// goroutine that steps every active slot — a prompt chunk or one next token — through
// one batched evaluation, admitting queued requests between steps.
package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/inferno-go/inferno"
	"github.com/inferno-go/inferno/chat"
)

// Model is a loaded model and the name requests use for it.
type Model struct {
	Name  string
	Model *inferno.Model
	// ChatTemplate overrides the model's chat template (a built-in name or a file), as
	// `inferno chat --chat-template` does; "" uses the model's.
	ChatTemplate string
}

// System describes the machine for /inferno/status (the CLI fills it).
type System struct {
	CPU      string   `json:"cpu"`
	Features []string `json:"features"`
}

// Config configures a Server.
type Config struct {
	Models   []Model
	Parallel int // slots per model (0: 4)
	Queue    int // requests per model waiting for a slot before 429 (0: 64)
	Batch    int // prompt tokens per step per slot (0: 512)
	// APIKey, when set, is required as "Authorization: Bearer KEY" on the API.
	APIKey string
	// CORSOrigin, when set, is the origin ("*" for any) browsers may call the API from.
	CORSOrigin   string
	MaxBodyBytes int64 // request body limit (0: 4 MiB)
	Version      string
	System       System
	// Dashboard, when set, is served at "/" with a restrictive Content-Security-Policy;
	// without it "/" is not found.
	Dashboard http.Handler
	Log       io.Writer

	beforeStep func() // tests: runs in each scheduler before each step
}

// Server serves the API. Close stops its schedulers and frees the slots' sessions (not
// the models).
type Server struct {
	cfg     Config
	engines []*engine
	byName  map[string]*engine
	models  map[string]Model
	stats   *stats
	metrics *metrics
	mux     *http.ServeMux
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started time.Time
}

// New opens cfg.Parallel sessions per model and starts the schedulers.
func New(cfg Config) (*Server, error) {
	if len(cfg.Models) == 0 {
		return nil, errors.New("server: no model")
	}
	if cfg.Parallel == 0 {
		cfg.Parallel = 4
	}
	if cfg.Queue == 0 {
		cfg.Queue = 64
	}
	if cfg.Batch == 0 {
		cfg.Batch = 512
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 4 << 20
	}
	switch {
	case cfg.Parallel < 0:
		return nil, fmt.Errorf("server: parallel %d must be > 0", cfg.Parallel)
	case cfg.Queue < 0:
		return nil, fmt.Errorf("server: queue %d must be > 0", cfg.Queue)
	case cfg.Batch < 0:
		return nil, fmt.Errorf("server: batch %d must be > 0", cfg.Batch)
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("server: body limit %d must be > 0", cfg.MaxBodyBytes)
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	s := &Server{cfg: cfg, byName: map[string]*engine{}, models: map[string]Model{}, stats: &stats{}, started: time.Now()}
	s.metrics = newMetrics(s)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for _, m := range cfg.Models {
		if m.Name == "" || m.Model == nil {
			s.Close()
			return nil, errors.New("server: a model without a name")
		}
		if _, dup := s.byName[m.Name]; dup {
			s.Close()
			return nil, fmt.Errorf("server: two models named %q", m.Name)
		}
		e, err := newEngine(m.Name, m.Model, cfg.Parallel, cfg.Queue, cfg.Batch, s.stats)
		if err != nil {
			s.Close()
			return nil, err
		}
		e.beforeStep = cfg.beforeStep
		s.engines = append(s.engines, e)
		s.byName[m.Name] = e
		s.models[m.Name] = m
		s.wg.Add(1)
		go func() { defer s.wg.Done(); e.run(ctx) }()
	}
	s.routes()
	return s, nil
}

// Close stops the schedulers (failing what is queued or running) and closes the slots'
// sessions.
func (s *Server) Close() error {
	s.cancel()
	s.wg.Wait()
	for _, e := range s.engines {
		e.closeSessions()
	}
	return nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// bodyReadTimeout bounds reading a request body (the route wrapper sets it per request).
const bodyReadTimeout = 60 * time.Second

// HTTPServer is an http.Server for h with header-read, idle and header-size limits. It
// has no ReadTimeout or WriteTimeout: a streamed reply may run for minutes, and the
// body's deadline is set per request.
func HTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		MaxHeaderBytes: 64 << 10}
}

// CheckListen refuses a non-loopback host without an API key or an explicit --no-auth.
func CheckListen(host, apiKey string, noAuth bool) error {
	if apiKey != "" && noAuth {
		return errors.New("--api-key and --no-auth exclude each other")
	}
	if IsLoopback(host) || apiKey != "" || noAuth {
		return nil
	}
	return fmt.Errorf("--host %s is reachable from other machines: give --api-key KEY (clients send Authorization: Bearer KEY) or --no-auth to serve it without one", host)
}

// IsLoopback reports whether host (a name or an address) is this machine only.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// route registers h under pattern with the request counter, CORS, auth and body limit.
func (s *Server) route(pattern, name string, auth bool, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		defer func() { s.metrics.requests.WithLabelValues(name, fmt.Sprint(max(rec.code, 200))).Inc() }()
		if s.cfg.CORSOrigin != "" {
			rec.Header().Set("Access-Control-Allow-Origin", s.cfg.CORSOrigin)
			rec.Header().Set("Vary", "Origin")
		}
		if auth && s.cfg.APIKey != "" && !s.authorized(r) {
			rec.Header().Set("WWW-Authenticate", `Bearer realm="inferno"`)
			s.fail(rec, r, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "missing or wrong API key: send Authorization: Bearer KEY")
			return
		}
		if r.Method == http.MethodPost {
			// The body is read whole under its own deadline, which is then lifted: a
			// server-wide ReadTimeout would also cut (cancel) replies streamed for longer.
			rc := http.NewResponseController(rec)
			rc.SetReadDeadline(time.Now().Add(bodyReadTimeout))
			body, err := io.ReadAll(http.MaxBytesReader(rec, r.Body, s.cfg.MaxBodyBytes))
			rc.SetReadDeadline(time.Time{})
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				s.fail(rec, r, http.StatusRequestEntityTooLarge, "invalid_request_error", "body_too_large",
					fmt.Sprintf("request body is larger than the limit of %d bytes", mbe.Limit))
				return
			case err != nil:
				s.fail(rec, r, http.StatusBadRequest, "invalid_request_error", "", fmt.Sprintf("reading the request body: %v", err))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		h(rec, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.APIKey)) == 1
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.route("POST /v1/chat/completions", "/v1/chat/completions", true, s.chatCompletions)
	s.route("POST /v1/completions", "/v1/completions", true, s.completions)
	s.route("GET /v1/models", "/v1/models", true, s.listModels)
	s.route("GET /v1/models/{id...}", "/v1/models/{id}", true, s.getModel)
	s.route("POST /api/chat", "/api/chat", true, s.ollamaChat)
	s.route("POST /api/generate", "/api/generate", true, s.ollamaGenerate)
	s.route("GET /api/tags", "/api/tags", true, s.ollamaTags)
	s.route("POST /api/show", "/api/show", true, s.ollamaShow)
	s.route("GET /api/ps", "/api/ps", true, s.ollamaPS)
	s.route("GET /api/version", "/api/version", true, s.ollamaVersion)
	s.route("GET /health", "/health", false, s.health)
	s.route("GET /metrics", "/metrics", true, s.metrics.handler().ServeHTTP)
	s.route("GET /inferno/status", "/inferno/status", true, s.status)
	if s.cfg.CORSOrigin != "" {
		s.mux.HandleFunc("OPTIONS /", func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", s.cfg.CORSOrigin)
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			h.Set("Vary", "Origin")
			w.WriteHeader(http.StatusNoContent)
		})
	}
	if s.cfg.Dashboard != nil {
		d := s.cfg.Dashboard
		s.mux.Handle("GET /", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			d.ServeHTTP(w, r)
		}))
	}
}

// apiError is an error with the HTTP status and OpenAI error type and code it maps to.
type apiError struct {
	status     int
	typ, code  string
	msg        string
	retryAfter bool
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", msg: fmt.Sprintf(format, a...)}
}

func unsupported(format string, a ...any) *apiError {
	e := badRequest(format, a...)
	e.code = "unsupported_parameter"
	return e
}

// fail writes an error: OpenAI's {"error": {"message", "type", "code"}}, or under
// /api/ Ollama's {"error": "message"}, which Ollama clients read.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	var c any
	if code != "" {
		c = code
	}
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": c}})
}

func (s *Server) failErr(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		if ae.retryAfter {
			w.Header().Set("Retry-After", "1")
		}
		s.fail(w, r, ae.status, ae.typ, ae.code, ae.msg)
		return
	}
	s.fail(w, r, http.StatusInternalServerError, "server_error", "", err.Error())
}

// decode reads a JSON body (already read whole by the route wrapper, which answers 413
// over the limit) into v, refusing unknown fields and trailing data.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("request body is empty: want a JSON object")
	case err != nil:
		msg := err.Error()
		if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			return unsupported("unknown parameter %s: not supported by this server", f)
		}
		return badRequest("malformed JSON body: %s", strings.TrimPrefix(msg, "json: "))
	}
	return nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// lookup finds a model by name (Ollama clients may add ":latest"); a name is only ever
// a key here, never a path.
func (s *Server) lookup(name string) (*engine, Model, error) {
	if name == "" {
		// as llama-server: a request may leave the model out when there is only one
		if len(s.engines) != 1 {
			return nil, Model{}, badRequest("model is required (one of: %s)", strings.Join(s.names(), ", "))
		}
		name = s.names()[0]
	}
	e, ok := s.byName[name]
	if !ok {
		if base, found := strings.CutSuffix(name, ":latest"); found {
			e, ok = s.byName[base]
			name = base
		}
	}
	if !ok {
		return nil, Model{}, &apiError{status: http.StatusNotFound, typ: "invalid_request_error", code: "model_not_found",
			msg: fmt.Sprintf("model %q not found: this server has %s", name, strings.Join(s.names(), ", "))}
	}
	return e, s.models[name], nil
}

func (s *Server) names() []string {
	var n []string
	for _, e := range s.engines {
		n = append(n, e.name)
	}
	return n
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]string{"status": "ok"})
}

// templateFor picks the model's chat template as `inferno chat` does.
func templateFor(m Model) (*chat.Template, error) {
	src := ""
	if v, ok := m.Model.Metadata("tokenizer.chat_template"); ok {
		src, _ = v.Any().(string)
	}
	return chat.Select(m.ChatTemplate, src, func(t string) bool { _, ok := m.Model.Tokenizer().Lookup(t); return ok })
}
