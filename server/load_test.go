package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// streamChat posts a streaming chat request and returns the concatenated content and
// whether the stream ended with [DONE].
func streamChat(t testing.TB, client *http.Client, url string, body map[string]any) (string, bool) {
	t.Helper()
	j, _ := json.Marshal(body)
	resp, err := client.Post(url+"/v1/chat/completions", "application/json", bytes.NewReader(j))
	if err != nil {
		t.Error(err)
		return "", false
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
		return "", false
	}
	evs, done := sseEvents(t, resp.Body)
	var text strings.Builder
	for _, ev := range evs {
		for _, c := range ev["choices"].([]any) {
			if s, ok := c.(map[string]any)["delta"].(map[string]any)["content"].(string); ok {
				text.WriteString(s)
			}
		}
	}
	return text.String(), done
}

// Load: 32 concurrent streams each equal the same request run alone; then 200 streams
// of which many are dropped by their client at random points — the server stays up,
// answers the same as before, and its goroutines and heap return to the baseline.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("the load test is skipped with -short")
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	s, ts := newTestServer(t, Config{Parallel: 4, Queue: 256})
	prompts := []string{"Tell me about a dog.", "Tell me about a cat.", "What is the sun?", "Sing a song."}
	body := func(i int) map[string]any {
		b := chatBody([]map[string]string{{"role": "user", "content": prompts[i%len(prompts)]}},
			map[string]any{"stream": true, "max_tokens": 24 + i%5})
		if i%3 == 1 { // seeded sampling as well as greedy
			b["temperature"], b["seed"] = 0.9, 1000+i
		}
		return b
	}
	alone := make([]string, 32)
	for i := range alone {
		var done bool
		if alone[i], done = streamChat(t, client, ts.URL, body(i)); !done {
			t.Fatalf("request %d alone: no [DONE]", i)
		}
	}
	tr.CloseIdleConnections()
	runtime.GC()
	baseG := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapAlloc

	got := make([]string, 32)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			var done bool
			if got[i], done = streamChat(t, client, ts.URL, body(i)); !done {
				t.Errorf("request %d of 32: no [DONE]", i)
			}
		})
	}
	wg.Wait()
	for i := range got {
		if got[i] != alone[i] {
			t.Errorf("request %d: with 31 others %q, alone %q", i, got[i], alone[i])
		}
	}

	// 200 requests, 16 at a time; about two thirds are dropped after a random number of
	// events (0: before the first byte).
	rng := uint64(99)
	var rmu sync.Mutex
	next := func(n int) int {
		rmu.Lock()
		defer rmu.Unlock()
		rng = rng*6364136223846793005 + 1442695040888963407
		return int(rng>>33) % n
	}
	sem := make(chan struct{}, 16)
	for i := range 200 {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			drop := next(3) != 0
			after := next(6)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			j, _ := json.Marshal(body(i))
			req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/chat/completions", bytes.NewReader(j))
			if drop && after == 0 {
				go func() { time.Sleep(time.Duration(next(2000)) * time.Microsecond); cancel() }()
			}
			resp, err := client.Do(req)
			if err != nil {
				return // dropped before the reply
			}
			defer resp.Body.Close()
			buf := make([]byte, 256)
			for k := 0; ; k++ {
				if drop && k == after {
					cancel()
					return
				}
				if _, err := resp.Body.Read(buf); err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if resp, _ := get(t, ts, "/health"); resp.StatusCode != 200 {
		t.Fatalf("/health after the dropped requests: %d", resp.StatusCode)
	}
	if text, _ := streamChat(t, client, ts.URL, body(0)); text != alone[0] {
		t.Errorf("after the dropped requests: %q, want %q", text, alone[0])
	}
	waitFor(t, "every slot free", func() bool { return !busy(s.engines[0]) && len(s.engines[0].queue) == 0 })
	tr.CloseIdleConnections()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	deadline := time.Now().Add(20 * time.Second)
	for {
		runtime.GC()
		g := runtime.NumGoroutine()
		runtime.ReadMemStats(&ms)
		if g <= baseG && ms.HeapAlloc < baseHeap+16<<20 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines %d (baseline %d), heap %d MiB (baseline %d MiB) 20 s after the load:\n%s",
				g, baseG, ms.HeapAlloc>>20, baseHeap>>20, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stats.mu.Lock()
	t.Logf("%d of 233 generations ran to their end (the rest were dropped by the client first)", s.stats.requests)
	s.stats.mu.Unlock()
}
