package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/inferno-go/inferno/server"
	"github.com/inferno-go/inferno/server/dashboard"
	"github.com/spf13/cobra"
)

// serveListening, when set (by tests), receives the address the server listens on.
var serveListening func(addr string)

func newServeCmd() *cobra.Command {
	var mf modelFlags
	var models []string
	var host, apiKey, corsOrigin, tmpl string
	var port, parallel, queue int
	var noAuth bool
	var maxBody int64
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve models over an OpenAI- and Ollama-compatible HTTP API",
		Long: `Loads the models and serves /v1/chat/completions, /v1/completions, /v1/models,
/api/chat, /api/generate, /api/tags, /api/show, /api/ps, /api/version, /health,
/metrics and /inferno/status (docs/server.md). Each model gets --parallel slots, each
with its own KV cache (all planned in memory at startup); requests wait in a bounded
queue. It listens on 127.0.0.1; any other address needs --api-key or --no-auth.`,
		Example: `  inferno serve -m ../shared/refdata/models/stories260K.gguf
  inferno serve -m tinyllama.gguf -m qwen.gguf --parallel 8 --host 0.0.0.0 --api-key "$KEY"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case len(models) == 0:
				return errors.New(`required flag(s) "model" not set`)
			case parallel <= 0:
				return fmt.Errorf("--parallel %d must be > 0", parallel)
			case queue <= 0:
				return fmt.Errorf("--queue %d must be > 0", queue)
			case port < 0 || port > 65535:
				return fmt.Errorf("--port %d must be in [0, 65535]", port)
			case maxBody <= 0:
				return fmt.Errorf("--max-body %d must be > 0", maxBody)
			}
			if err := server.CheckListen(host, apiKey, noAuth); err != nil {
				return err
			}
			names, err := modelNames(models)
			if err != nil {
				return err
			}
			if err := mf.applyConfig(cmd); err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			var cfgModels []server.Model
			defer func() {
				for _, m := range cfgModels {
					m.Model.Close()
				}
			}()
			for i, path := range models {
				one := mf
				one.model, one.sessions = path, parallel
				m, err := one.load(stderr)
				if err != nil {
					return fmt.Errorf("model %s: %w", path, err)
				}
				cfgModels = append(cfgModels, server.Model{Name: names[i], Model: m, ChatTemplate: tmpl})
			}
			sys := gatherSystem()
			srv, err := server.New(server.Config{Models: cfgModels, Parallel: parallel, Queue: queue, Batch: mf.batch,
				APIKey: apiKey, CORSOrigin: corsOrigin, MaxBodyBytes: maxBody, Version: version,
				System: server.System{CPU: sys.CPU, Features: sys.Features}, Dashboard: dashboard.Handler(), Log: logWriter(stderr)})
			if err != nil {
				return err
			}
			defer srv.Close()
			ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				return err
			}
			hs := server.HTTPServer(ln.Addr().String(), srv.Handler())
			fmt.Fprintf(logWriter(stderr), "serving %s on http://%s (%d slots each)\n", strings.Join(names, ", "), ln.Addr(), parallel)
			if serveListening != nil {
				serveListening(ln.Addr().String())
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			// stop accepting, give running replies a moment, then cut the rest
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil {
				hs.Close()
			}
			if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&models, "model", "m", nil, "GGUF model file, or the name of a model in the cache (repeatable; requests name it by file name without .gguf, or by its cache name)")
	mf.registerLoad(cmd)
	cmd.Flags().StringVar(&host, "host", "127.0.0.1", "address to listen on (other than loopback: needs --api-key or --no-auth)")
	cmd.Flags().IntVar(&port, "port", 8080, "port to listen on (0: any free port)")
	cmd.Flags().IntVar(&parallel, "parallel", 4, "requests run at once per model (slots, each with its own KV cache)")
	cmd.Flags().IntVar(&queue, "queue", 64, "requests per model waiting for a slot; more are refused with 429")
	cmd.Flags().StringVar(&apiKey, "api-key", "", "require Authorization: Bearer KEY on the API")
	cmd.Flags().BoolVar(&noAuth, "no-auth", false, "serve a non-loopback --host without an API key")
	cmd.Flags().StringVar(&corsOrigin, "cors-origin", "", `origin browsers may call the API from ("*": any); default: none`)
	cmd.Flags().Int64Var(&maxBody, "max-body", 4<<20, "request body limit in bytes")
	cmd.Flags().StringVar(&tmpl, "chat-template", "", "built-in template name or Jinja file for every model (default: each model's own)")
	return cmd
}

// modelNames are the names requests use: a file's base name without .gguf, or a cache
// name as given. Two models with one name are refused.
func modelNames(models []string) ([]string, error) {
	seen := map[string]string{}
	var names []string
	for _, m := range models {
		name := m
		if strings.ContainsRune(m, os.PathSeparator) || strings.HasSuffix(m, ".gguf") {
			name = strings.TrimSuffix(filepath.Base(m), ".gguf")
		}
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("-m %s and -m %s would both be named %q", prev, m, name)
		}
		seen[name] = m
		names = append(names, name)
	}
	return names, nil
}
