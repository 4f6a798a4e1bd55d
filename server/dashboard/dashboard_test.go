package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAssetsServedWithTypesAndHeaders(t *testing.T) {
	for path, want := range map[string]string{
		"/":              "text/html; charset=utf-8",
		"/dashboard.js":  "text/javascript; charset=utf-8",
		"/dashboard.css": "text/css; charset=utf-8",
	} {
		resp := get(t, http.MethodGet, path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", path, resp.StatusCode)
		}
		if got := resp.Header.Get("Content-Type"); got != want {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, want)
		}
		if b := body(t, resp); len(b) == 0 {
			t.Errorf("GET %s: empty body", path)
		}
		checkSecurityHeaders(t, path, resp)

		head := get(t, http.MethodHead, path)
		if head.StatusCode != http.StatusOK || body(t, head) != "" {
			t.Errorf("HEAD %s: status %d with a body, want 200 and none", path, head.StatusCode)
		}
	}
}

func checkSecurityHeaders(t *testing.T, path string, resp *http.Response) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'",
		"connect-src 'self'", "img-src 'self' data:", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d+";") && !strings.HasSuffix(csp, d) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", path, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-") || strings.Contains(csp, "*") || strings.Contains(csp, "http") {
		t.Errorf("%s: Content-Security-Policy %q allows more than this origin", path, csp)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q, want nosniff", path, got)
	}
}

func TestUnknownPathsAre404(t *testing.T) {
	// Directories of the embedded tree, the files under their embedded names, traversal
	// and near misses: nothing but the three assets is reachable, and nothing is listed.
	for _, path := range []string{"/static/", "/static", "/static/index.html", "/index.html",
		"/dashboard.js/", "/dashboard.jsx", "/DASHBOARD.JS", "/favicon.ico", "/../dashboard.go",
		"/dashboard.go", "/v1/models", "//", "/%2e%2e/dashboard.go"} {
		resp := get(t, http.MethodGet, path)
		b := body(t, resp)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
		}
		if strings.Contains(b, "<a href") || strings.Contains(b, "<pre>") {
			t.Errorf("GET %s: body looks like a listing: %q", path, b)
		}
		checkSecurityHeaders(t, path, resp)
	}
}

func TestOtherMethodsAre405(t *testing.T) {
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		resp := get(t, m, "/")
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: status %d, Allow %q; want 405 and GET, HEAD", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}

func TestConditionalGet(t *testing.T) {
	etag := get(t, http.MethodGet, "/dashboard.js").Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req := httptest.NewRequest(http.MethodGet, "/dashboard.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match %s: status %d, want 304", etag, rec.Code)
	}
}

// The CSP refuses inline script and style, so the page must have none: a script or
// style element with content, an on* handler or a style attribute would be blocked in
// the browser (the chromedp test sees that as a console error; this sees it without one).
func TestPageHasNoInlineScriptOrStyle(t *testing.T) {
	html := body(t, get(t, http.MethodGet, "/"))
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script(\s[^>]*)?>\s*[^<\s]`),
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\son[a-z]+\s*=`),
		regexp.MustCompile(`\sstyle\s*=`),
		regexp.MustCompile(`(src|href)\s*=\s*"(https?:)?//`),
	} {
		if m := bad.FindString(html); m != "" {
			t.Errorf("index.html has %q (matches %s)", m, bad)
		}
	}
	// Every local script and stylesheet the page names must be served.
	for _, m := range regexp.MustCompile(`(?:src|href)="([^":]+)"`).FindAllStringSubmatch(html, -1) {
		if resp := get(t, http.MethodGet, "/"+m[1]); resp.StatusCode != http.StatusOK {
			t.Errorf("index.html refers to %s, which is %d", m[1], resp.StatusCode)
		}
	}
	// The script puts server data in the page as text only.
	js := body(t, get(t, http.MethodGet, "/dashboard.js"))
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		if strings.Contains(js, bad) {
			t.Errorf("dashboard.js uses %s", bad)
		}
	}
}
