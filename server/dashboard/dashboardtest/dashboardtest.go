// Package dashboardtest drives the dashboard in headless Chromium (chromedp) for tests:
// Check runs the whole page against any server that serves it and the two endpoints it
// uses, the package's fake or a real `inferno serve`.
package dashboardtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeout bounds a whole browser check: the browser's start, every wait and the screenshot.
const Timeout = 60 * time.Second

// Chromium returns the path of a Chromium or Chrome binary (INFERNO_CHROMIUM, else the
// first of the usual names on PATH). Without one the test is skipped with the reason,
// except under CI=true, where it fails: CI installs Debian's chromium.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("INFERNO_CHROMIUM"); p != "" {
		return p
	}
	names := []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("no browser for the dashboard test: none of %s on PATH and INFERNO_CHROMIUM unset (apt-get install chromium)", strings.Join(names, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// ArtifactDir is where a test keeps what it shows a person (the screenshot):
// $INFERNO_ARTIFACTS when set, else a temporary directory removed after the test.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("INFERNO_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifact directory %s: %v", dir, err)
	}
	return dir
}

// Browser is one headless Chromium tab with the console messages it has reported.
type Browser struct {
	Ctx context.Context // the tab; its deadline is Timeout from Start

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

// Start launches headless Chromium (or skips, see Chromium) and subscribes to the tab's
// console, exceptions and browser log before anything loads. It stops at the test's end.
func Start(t testing.TB) *Browser {
	t.Helper()
	path := Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		// Chromium refuses to run as root with its sandbox (CI and containers run as root);
		// the page is our own, on loopback.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 1100),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)

	b := &Browser{Ctx: tab}
	messages := chromedp.Console(tab) // starts the browser; subscribes before navigating
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancelTab(); <-done })
	// Surface a browser that cannot start now, with its reason, not as a later timeout.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return b
}

// Console returns the messages so far: console API calls, uncaught exceptions and
// browser log entries (CSP violations and failed loads are errors there).
func (b *Browser) Console() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.messages...)
}

// WaitFor polls the JavaScript function fn (called with args) every 100 ms until it
// returns a truthy value, which is decoded into T. On timeout the error names what was
// awaited and shows the page's error banner.
func WaitFor[T any](b *Browser, what string, timeout time.Duration, fn string, args ...any) (T, error) {
	v, err := chromedp.Run(b.Ctx, chromedp.PollFunction[T](fn,
		chromedp.WithPollingInterval(100*time.Millisecond),
		chromedp.WithPollingTimeout(timeout),
		chromedp.WithPollingArgs(args...)))
	if err != nil {
		banner, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`(document.getElementById('error') || {}).textContent || ''`))
		return v, fmt.Errorf("waiting for %s: %w (error banner: %q)", what, err, banner)
	}
	return v, nil
}

// Status is the part of GET /inferno/status the check compares with the page.
type Status struct {
	Version string `json:"version"`
	System  struct {
		CPU string `json:"cpu"`
		GPU *struct {
			Name string `json:"name"`
		} `json:"gpu"`
	} `json:"system"`
	Models []struct {
		Name         string `json:"name"`
		Architecture string `json:"architecture"`
	} `json:"models"`
}

// FetchStatus reads GET baseURL/inferno/status, with the API key key when not "".
func FetchStatus(ctx context.Context, baseURL, key string) (Status, error) {
	var s Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/inferno/status", nil)
	if err != nil {
		return s, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, fmt.Errorf("GET /inferno/status: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /inferno/status: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("GET /inferno/status: %w", err)
	}
	return s, nil
}

// Result is what Check read from the page.
type Result struct {
	Replies []string // the assistant's messages, as shown
	Speeds  []string // the line under each reply
	Shot    string   // the screenshot's path
}

// ChatMessages are the user messages Check sends, in order.
var ChatMessages = []string{"Hello there", "Tell me a story"}

var speedLine = regexp.MustCompile(`\d+ tokens · \d+(\.\d+)? tok/s`)

// Check opens baseURL in headless Chromium and checks the dashboard against the server's
// own status: every model's name and architecture and the system's CPU and GPU are shown;
// each of ChatMessages, sent from the chat panel, gets a streamed, non-empty reply with a
// tok/s line under it; the tok/s chart gets at least three points; and nothing reached
// the console as an error or exception. The screenshot is written to shot (a PNG).
func Check(t testing.TB, baseURL, shot string) Result {
	t.Helper()
	return CheckWithKey(t, baseURL, "", shot)
}

// CheckWithKey is Check against a server run with --api-key key. Before the checks, the
// page without a key and then with a wrong one typed into its API-key field must fail
// visibly (the error banner names HTTP 401, and a chat message's reply fails with it);
// then the right key is typed and the checks run. The browser console's 401s from those
// refused requests are expected and not counted as errors.
func CheckWithKey(t testing.TB, baseURL, key, shot string) Result {
	t.Helper()
	baseURL = strings.TrimSuffix(baseURL, "/")
	b := Start(t)
	var res Result
	if err := check(b, baseURL, key, &res); err != nil {
		Screenshot(t, b, shot) // what the page showed when it failed
		t.Fatalf("dashboard at %s: %v", baseURL, err)
	}
	res.Shot = Screenshot(t, b, shot)
	for _, m := range b.Console() {
		t.Logf("browser console: %s (%s:%d)", m, m.URL, m.Line)
		if key != "" && strings.Contains(m.Text, "401") && !m.IsException() {
			continue // the refused requests of the no-key and wrong-key checks
		}
		if m.Type == chromedp.ConsoleError || m.IsException() {
			t.Errorf("dashboard at %s: browser console %s", baseURL, m)
		}
	}
	return res
}

func check(b *Browser, baseURL, key string, res *Result) error {
	status, err := FetchStatus(b.Ctx, baseURL, key)
	if err != nil {
		return err
	}
	if len(status.Models) == 0 {
		return errors.New("the server reports no model; the chat check needs one")
	}
	resp, err := chromedp.Run(b.Ctx, chromedp.NavigateResponse(baseURL+"/"))
	if err != nil {
		return fmt.Errorf("loading the page: %w", err)
	}
	if resp.Status != http.StatusOK {
		return fmt.Errorf("loading the page: status %d", resp.Status)
	}

	if key != "" {
		if err := checkKey(b, key); err != nil {
			return err
		}
	}

	var want []string
	for _, m := range status.Models {
		want = append(want, m.Name, m.Architecture)
	}
	if _, err := WaitFor[bool](b, "the models table to list "+strings.Join(want, ", "), 15*time.Second,
		`(want) => want.every((w) => document.getElementById('models').textContent.includes(w))`, want); err != nil {
		return err
	}
	gpu := "none"
	if status.System.GPU != nil {
		gpu = status.System.GPU.Name
	}
	if _, err := WaitFor[bool](b, fmt.Sprintf("the system panel to show CPU %q and GPU %q", status.System.CPU, gpu), 5*time.Second,
		`(cpu, gpu) => document.getElementById('cpu').textContent === cpu && document.getElementById('gpu').textContent === gpu`,
		status.System.CPU, gpu); err != nil {
		return err
	}

	for i, msg := range ChatMessages {
		if err := chromedp.Do(b.Ctx,
			chromedp.SendKeys(chromedp.ID("message"), msg),
			chromedp.Click(chromedp.ID("send"))); err != nil {
			return fmt.Errorf("sending chat message %d: %w", i+1, err)
		}
		// A finished reply's line gets the class speed; a failed one gets the message.failed.
		reply, err := WaitFor[[]string](b, fmt.Sprintf("reply %d", i+1), 30*time.Second, `(n) => {
			const msgs = document.querySelectorAll('#messages .msg.assistant');
			if (msgs.length < n) return null;
			const last = msgs[n - 1];
			const meta = last.querySelector('.meta');
			if (!last.classList.contains('failed') && !meta.classList.contains('speed')) return null;
			return [last.querySelector('.text').textContent, meta.textContent, last.classList.contains('failed') ? 'failed' : ''];
		}`, i+1)
		if err != nil {
			return err
		}
		if reply[2] == "failed" {
			return fmt.Errorf("reply %d failed: %s", i+1, reply[1])
		}
		if strings.TrimSpace(reply[0]) == "" {
			return fmt.Errorf("reply %d is empty (line under it: %q)", i+1, reply[1])
		}
		if !speedLine.MatchString(reply[1]) {
			return fmt.Errorf("reply %d: the line under it is %q, want tokens and tok/s", i+1, reply[1])
		}
		res.Replies = append(res.Replies, reply[0])
		res.Speeds = append(res.Speeds, reply[1])
	}
	users, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('#messages .msg.user .text'), (e) => e.textContent)`))
	if err != nil {
		return err
	}
	if strings.Join(users, "\n") != strings.Join(ChatMessages, "\n") {
		return fmt.Errorf("the chat shows user messages %q, want %q", users, ChatMessages)
	}

	if _, err := WaitFor[bool](b, "the tok/s chart to have 3 points", 10*time.Second, `() => {
		const c = document.getElementById('chart-tps');
		const lines = c.querySelectorAll('polyline');
		return Number(c.dataset.points) >= 3 && lines.length === 2 &&
			Array.from(lines).every((l) => l.getAttribute('points').trim().split(/\s+/).length >= 3);
	}`); err != nil {
		return err
	}
	return nil
}

// Screenshot writes the tab's screenshot, a PNG, to path and returns path ("" after
// reporting a failure).
func Screenshot(t testing.TB, b *Browser, path string) string {
	t.Helper()
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return ""
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot: not a PNG (%d bytes)", len(png))
		return ""
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Errorf("screenshot: %v", err)
		return ""
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("screenshot: %v", err)
		return ""
	}
	t.Logf("dashboard screenshot: %s", path)
	return path
}

// checkKey: with no key the page's banner shows the 401; with a wrong key typed a chat
// message's reply fails with 401; then the right key is typed (and the chat cleared).
func checkKey(b *Browser, key string) error {
	if _, err := WaitFor[bool](b, "the banner to show HTTP 401 without a key", 10*time.Second,
		`() => { const e = document.getElementById('error'); return !e.hidden && e.textContent.includes('HTTP 401'); }`); err != nil {
		return err
	}
	if err := chromedp.Do(b.Ctx,
		chromedp.SendKeys(chromedp.ID("api-key"), "wrong-"+key),
		chromedp.SendKeys(chromedp.ID("message"), "Hello"),
		chromedp.Click(chromedp.ID("send"))); err != nil {
		return fmt.Errorf("sending a chat message with a wrong key: %w", err)
	}
	failed, err := WaitFor[string](b, "the reply with a wrong key to fail", 15*time.Second, `() => {
		const m = document.querySelector('#messages .msg.assistant.failed');
		return m ? m.querySelector('.meta').textContent : null;
	}`)
	if err != nil {
		return err
	}
	if !strings.Contains(failed, "HTTP 401") {
		return fmt.Errorf("with a wrong key the reply failed with %q, want HTTP 401", failed)
	}
	if _, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`(() => {
		const k = document.getElementById('api-key');
		k.value = '';
		k.dispatchEvent(new Event('input'));
		return true;
	})()`)); err != nil {
		return err
	}
	return chromedp.Do(b.Ctx,
		chromedp.SendKeys(chromedp.ID("api-key"), key),
		chromedp.Click(chromedp.ID("new-chat")))
}
