package modelcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// server serves payload with Range support; when cut > 0 the first full response stops
// after cut bytes (an interrupted transfer).
func server(t *testing.T, payload []byte, cut int) (*httptest.Server, *int32) {
	var calls int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := atomic.AddInt32(&calls, 1)
		if r.URL.Path != "/m/model.gguf" {
			http.NotFound(w, r)
			return
		}
		start := 0
		if rg := r.Header.Get("Range"); rg != "" {
			start, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
			if start >= len(payload) {
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(payload)-start))
			w.WriteHeader(http.StatusPartialContent)
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		}
		body := payload[start:]
		if cut > 0 && n == 1 {
			w.Write(body[:cut])
			if hj, ok := w.(http.Hijacker); ok {
				conn, _, _ := hj.Hijack()
				conn.Close()
			}
			return
		}
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s, &calls
}

func TestPullResumeChecksum(t *testing.T) {
	payload := make([]byte, 300000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	sum := sha256.Sum256(payload)
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
	p, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{SHA256: hex.EncodeToString(sum[:]),
		Progress: func(done, total int64) { seen = done }})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != string(payload) || seen != int64(len(payload)) {
		t.Fatalf("resumed file differs (%d bytes, progress %d)", len(got), seen)
	}
	ents, _ := List(dir)
	if len(ents) != 1 || ents[0].Name != "model.gguf" || ents[0].Size != int64(len(payload)) {
		t.Errorf("list: %+v", ents)
	}
}

func TestPullErrors(t *testing.T) {
	payload := []byte("GGUF....")
	s, _ := server(t, payload, 0)
	dir := t.TempDir()
	if _, err := Pull(context.Background(), s.URL+"/m/model.gguf", dir, Options{SHA256: strings.Repeat("0", 64)}); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("wrong checksum: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "model.gguf")); err == nil {
		t.Error("a file with the wrong checksum was kept")
	}
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
