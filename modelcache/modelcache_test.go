package modelcache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/tensor"
)

// testModel is a valid GGUF file of about 300 KB.
func testModel(t *testing.T) []byte {
	t.Helper()
	w := gguf.NewWriter()
	w.SetAny("general.architecture", "llama")
	data := make([]byte, 4*75000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := w.AddTensor("t", tensor.F32, []uint64{75000}, data); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// newServer serves handler on 127.0.0.1 and counts its requests.
func newServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		handler(w, r)
	}))
	t.Cleanup(s.Close)
	return s, &calls
}

// serveRange answers as a correct server does: 200 with the whole payload, 206 with
// Content-Range for "bytes=N-", 416 when N is at or past the end.
func serveRange(w http.ResponseWriter, r *http.Request, payload []byte) {
	start := 0
	if rg := r.Header.Get("Range"); rg != "" {
		start, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		if start >= len(payload) {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(payload)-1, len(payload)))
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)-start))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
	}
	w.Write(payload[start:])
}

// server serves payload at /m/model.gguf; when cut > 0 the first response stops after
// cut bytes (an interrupted transfer).
func server(t *testing.T, payload []byte, cut int) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	return newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/m/model.gguf" {
			http.NotFound(w, r)
			return
		}
		if cut > 0 && n.Add(1) == 1 {
			w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
			w.Write(payload[:cut])
			if hj, ok := w.(http.Hijacker); ok {
				conn, _, _ := hj.Hijack()
				conn.Close()
			}
			return
		}
		serveRange(w, r, payload)
	})
}

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkCache fails unless dir holds exactly names.
func checkCache(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Errorf("cache holds %v, want %v", got, names)
	}
}

func TestPullResumeChecksum(t *testing.T) {
	payload := testModel(t)
	s, _ := server(t, payload, 100000)
	dir := t.TempDir()
	_, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("interrupted transfer: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "model.gguf.part")); st == nil || st.Size() != 100000 {
		t.Fatalf("partial file: %v", st)
	}
	var seen int64
	p, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{SHA256: sumOf(payload),
		Progress: func(done, total int64) { seen = done }})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, payload) || seen != int64(len(payload)) {
		t.Fatalf("resumed file differs (%d bytes, progress %d)", len(got), seen)
	}
	ents, _ := List(dir)
	if len(ents) != 1 || ents[0].Name != "model.gguf" || ents[0].Size != int64(len(payload)) {
		t.Errorf("list: %+v", ents)
	}
	checkCache(t, dir, "model.gguf")
}

func TestPullErrors(t *testing.T) {
	payload := testModel(t)
	s, _ := server(t, payload, 0)
	dir := t.TempDir()
	if _, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{SHA256: strings.Repeat("0", 64)}); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("wrong checksum: %v", err)
	}
	checkCache(t, dir)
	if _, err := Pull(context.Background(), s.URL+"/m/missing.gguf", dir, Options{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
	// a port nothing listens on: offline
	ln := httptest.NewServer(http.NotFoundHandler())
	addr := ln.URL
	ln.Close()
	if _, err := Pull(context.Background(), addr+"/m/model.gguf", dir, Options{}); err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("offline: %v", err)
	}
	if _, err := Pull(context.Background(), "ftp://x/y", dir, Options{}); err == nil {
		t.Error("ftp accepted")
	}
	checkCache(t, dir)
}

// A leftover .part longer than the file (the server answers 416 to its range) is not
// taken for the finished download: the download starts over.
func TestPullOversizedPart(t *testing.T) {
	payload := testModel(t)
	s, _ := server(t, payload, 0)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "model.gguf.part"), append(slices.Clone(payload), "extra bytes"...), 0o644)
	p, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, payload) {
		t.Errorf("file is %d bytes, want the %d served", len(got), len(payload))
	}
	checkCache(t, dir, "model.gguf")
}

// A server that answers a resume with 206 from another offset than asked (or without
// saying where its range starts) does not get its bytes appended.
func TestPullWrongResumeOffset(t *testing.T) {
	payload := testModel(t)
	for _, contentRange := range []string{fmt.Sprintf("bytes 0-%d/%d", len(payload)-1, len(payload)), ""} {
		s, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Range") == "" {
				serveRange(w, r, payload)
				return
			}
			if contentRange != "" {
				w.Header().Set("Content-Range", contentRange)
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(payload)
		})
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "model.gguf.part"), payload[:1000], 0o644)
		p, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{})
		if err != nil {
			t.Fatalf("Content-Range %q: %v", contentRange, err)
		}
		if got, _ := os.ReadFile(p); !bytes.Equal(got, payload) {
			t.Errorf("Content-Range %q: file is %d bytes, want the %d served", contentRange, len(got), len(payload))
		}
		checkCache(t, dir, "model.gguf")
	}
}

// A server that stops sending is given up on after the idle timeout; what arrived is
// kept for a resume.
func TestPullStalledServer(t *testing.T) {
	payload := testModel(t)
	release := make(chan struct{})
	s, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		w.Write(payload[:1000])
		w.(http.Flusher).Flush()
		<-release
	})
	t.Cleanup(func() { close(release) }) // runs before s.Close, which waits for the handler
	dir := t.TempDir()
	done := make(chan error, 1)
	go func() {
		_, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{IdleTimeout: 250 * time.Millisecond})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "stalled") || !strings.Contains(err.Error(), "resume") {
			t.Errorf("stalled server: %v", err)
		}
	case <-time.After(time.Minute): // a safety net, not a measurement: without the timeout Pull never returns
		t.Fatal("pull from a stalled server did not return")
	}
	if st, _ := os.Stat(filepath.Join(dir, "model.gguf.part")); st == nil || st.Size() != 1000 {
		t.Errorf("partial file: %v", st)
	}
}

// A page that is not a GGUF file (a login or error page served with 200) never gets the
// model's name, and is not kept.
func TestPullRejectsNonGGUF(t *testing.T) {
	s, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!DOCTYPE html><html><body>Sign in to continue</body></html>"))
	})
	dir := t.TempDir()
	if _, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{}); err == nil || !strings.Contains(err.Error(), "not a GGUF file") {
		t.Errorf("HTML page: %v", err)
	}
	checkCache(t, dir)
}

// Names that are not a plain file name in the cache are refused before any request.
func TestPullRejectsBadNames(t *testing.T) {
	s, calls := server(t, testModel(t), 0)
	parent := t.TempDir()
	dir := filepath.Join(parent, "cache")
	for _, src := range []string{
		s.URL + "/m/..", s.URL + "/m/%2e%2e", s.URL + "/m/.", s.URL + "/", s.URL + "/m/", s.URL,
		s.URL + "/m/.hidden", s.URL + "/m/model.gguf.part", s.URL + "/m/a%5Cb.gguf", s.URL + "/m/a%00b.gguf",
		"hf://owner/repo/..", "hf://owner/repo/dir/..", "hf://owner/repo/dir/",
	} {
		if p, err := Pull(context.Background(), src, dir, Options{}); err == nil || !strings.Contains(err.Error(), "file name") {
			t.Errorf("%s: %q, %v", src, p, err)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("%d requests made for invalid names", calls.Load())
	}
	checkCache(t, parent)
}

// A file in the cache that fails --sha256 loses its name, as the message says.
func TestPullWrongSumOnCachedFile(t *testing.T) {
	payload := testModel(t)
	s, _ := server(t, payload, 0)
	dir := t.TempDir()
	if _, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{}); err != nil {
		t.Fatal(err)
	}
	_, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{SHA256: strings.Repeat("ab", 32)})
	if err == nil || !strings.Contains(err.Error(), "sha256") || !strings.Contains(err.Error(), "removed") {
		t.Errorf("wrong sha256: %v", err)
	}
	checkCache(t, dir)
	// a cached file that is not a GGUF file (left by an older version) is no model either
	os.WriteFile(filepath.Join(dir, "model.gguf"), []byte("<html>"), 0o644)
	if _, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{}); err == nil || !strings.Contains(err.Error(), "removed") {
		t.Errorf("cached HTML page: %v", err)
	}
	checkCache(t, dir)
}

// A malformed --sha256 is reported before anything is downloaded.
func TestPullBadSumFormat(t *testing.T) {
	s, calls := server(t, testModel(t), 0)
	dir := t.TempDir()
	for _, sum := range []string{"not-hex", "abc123", strings.Repeat("g", 64), strings.Repeat("a", 65)} {
		if _, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{SHA256: sum}); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
			t.Errorf("sha256 %q: %v", sum, err)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("%d requests made with a malformed sha256", calls.Load())
	}
	checkCache(t, dir)
}

func TestPullRedirectLoop(t *testing.T) {
	s, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	})
	_, err := Pull(context.Background(), s.URL+"/m/model.gguf", t.TempDir(), Options{})
	if err == nil || !strings.Contains(err.Error(), "redirect") || strings.Contains(err.Error(), "offline") {
		t.Errorf("redirect loop: %v", err)
	}
}

// A second pull of a URL while the first is downloading it does not touch the first's
// file: it is refused at once, and the first finishes a whole file.
func TestPullConcurrent(t *testing.T) {
	payload := testModel(t)
	headersSent := make(chan struct{})
	release := make(chan struct{})
	var n atomic.Int32
	s, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			// the first pull's resume: headers now, the body once the second pull is done
			start := len(payload) - 100000
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(payload)-1, len(payload)))
			w.Header().Set("Content-Length", strconv.Itoa(len(payload)-start))
			w.WriteHeader(http.StatusPartialContent)
			w.(http.Flusher).Flush()
			close(headersSent)
			<-release
			w.Write(payload[start:])
			return
		}
		serveRange(w, r, payload)
	})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "model.gguf.part"), payload[:len(payload)-100000], 0o644)
	first := make(chan error, 1)
	go func() {
		_, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{})
		first <- err
	}()
	<-headersSent
	_, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "another pull") {
		t.Errorf("second pull: %v", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first pull: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "model.gguf")); !bytes.Equal(got, payload) {
		t.Errorf("file is %d bytes, not the %d served", len(got), len(payload))
	}
	checkCache(t, dir, "model.gguf")
}

func TestResolveURL(t *testing.T) {
	u, name, err := ResolveURL("hf://TheBloke/TinyLlama-GGUF/tinyllama.Q4_K_M.gguf")
	if err != nil || u != "https://huggingface.co/TheBloke/TinyLlama-GGUF/resolve/main/tinyllama.Q4_K_M.gguf" || name != "tinyllama.Q4_K_M.gguf" {
		t.Errorf("%s %s %v", u, name, err)
	}
	if _, _, err := ResolveURL("hf://only/two"); err == nil {
		t.Error("bad hf url accepted")
	}
}

func TestResolveName(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("INFERNO_MODELS_DIR", dir)
	os.WriteFile(filepath.Join(dir, "tiny.gguf"), []byte("x"), 0o644)
	if p, err := Resolve("tiny"); err != nil || p != filepath.Join(dir, "tiny.gguf") {
		t.Errorf("resolve tiny: %s %v", p, err)
	}
	if _, err := Resolve("nope"); err == nil || !strings.Contains(err.Error(), "inferno list") {
		t.Errorf("missing: %v", err)
	}
}
