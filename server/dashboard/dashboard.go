// Package dashboard is the page `inferno serve` shows at `/`: the loaded models, the
// system, live charts of throughput, queue and slots, and a chat panel. The page is
// three embedded files (HTML, JS, CSS) with hand-drawn SVG charts: no CDN, no build
// step, and it works offline. It reads only GET /inferno/status (polled every second)
// and POST /v1/chat/completions (streamed), on its own origin.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

//go:embed static/index.html static/dashboard.js static/dashboard.css
var static embed.FS

// ContentSecurityPolicy is sent with every response: only this origin's script, style and
// connections (no inline script or style), data: images for the icon, no framing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; " +
	"form-action 'none'; frame-ancestors 'none'"

type asset struct {
	name        string // for http.ServeContent
	contentType string
	body        []byte
	etag        string
}

// assets maps each URL path the page has to its file; every other path is a 404, so
// there is no directory listing and nothing else in the binary can be reached.
var assets = map[string]asset{
	"/":              load("static/index.html", "text/html; charset=utf-8"),
	"/dashboard.js":  load("static/dashboard.js", "text/javascript; charset=utf-8"),
	"/dashboard.css": load("static/dashboard.css", "text/css; charset=utf-8"),
}

func load(path, contentType string) asset {
	body, err := static.ReadFile(path)
	if err != nil {
		// The go:embed line above names every file, so this is a build mistake.
		panic(fmt.Sprintf("dashboard: embedded %s is missing: %v", path, err))
	}
	sum := sha256.Sum256(body)
	return asset{name: path, contentType: contentType, body: body,
		etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// Handler serves the dashboard: `/` (the page), `/dashboard.js` and `/dashboard.css`.
// Any other path is 404 and any method but GET and HEAD is 405, so the server can mount
// it at `/` below its API routes.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	a, ok := assets[r.URL.Path]
	if !ok {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}
