// Package modelcache downloads models into the local cache (~/.cache/inferno/models,
// or $INFERNO_MODELS_DIR) with resumable HTTP Range requests, a GGUF check and an
// optional sha256 check, lists them, and resolves a model name to its path. It exists so `inferno pull`
// and `--model NAME` share one idea of where models live.
package modelcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/inferno-go/inferno/gguf"
	"github.com/inferno-go/inferno/internal/atomicfile"
)

// Dir is the cache directory.
func Dir() (string, error) {
	if d := os.Getenv("INFERNO_MODELS_DIR"); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(c, "inferno", "models"), nil
}

// ResolveURL turns hf://owner/repo/path/file.gguf into its Hugging Face download URL;
// http(s) URLs pass through. The second result is the file's name in the cache: the
// URL path's last segment, which must be a plain file name.
func ResolveURL(s string) (string, string, error) {
	var u, urlPath string
	if rest, ok := strings.CutPrefix(s, "hf://"); ok {
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return "", "", fmt.Errorf("%q: want hf://owner/repo/file.gguf", s)
		}
		u, urlPath = "https://huggingface.co/"+parts[0]+"/"+parts[1]+"/resolve/main/"+parts[2], parts[2]
	} else {
		pu, err := url.Parse(s)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return "", "", fmt.Errorf("%q is not an http(s) URL or hf://owner/repo/file.gguf", s)
		}
		u, urlPath = s, pu.Path
	}
	name := urlPath[strings.LastIndexByte(urlPath, '/')+1:]
	if !plainFileName(name) {
		return "", "", fmt.Errorf("%q does not end in a plain file name for the cache (got %q)", s, name)
	}
	return u, name, nil
}

// plainFileName accepts a name that stays inside the cache directory and is none of
// the names pull gives its own files: not empty, "." or "..", no separator or control
// character, not hidden, not ending in ".part".
func plainFileName(name string) bool {
	if name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".part") || strings.ContainsAny(name, `/\`) {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// CheckSHA256 returns an error unless s is a sha256 digest written in hex.
func CheckSHA256(s string) error {
	if _, err := hex.DecodeString(s); err != nil || len(s) != 2*sha256.Size {
		return fmt.Errorf("sha256 %q is not 64 hex digits", s)
	}
	return nil
}

// Progress receives bytes done and the total (-1 when unknown).
type Progress func(done, total int64)

// DefaultIdleTimeout is how long a download may receive nothing before it is given up
// (what arrived is kept for a resume).
const DefaultIdleTimeout = 60 * time.Second

// maxRedirects is net/http's own limit.
const maxRedirects = 10

var (
	errStalled      = errors.New("server stalled")
	errRedirectLoop = errors.New("too many redirects")
	errBusy         = errors.New("locked by another pull")
)

// Options of a download.
type Options struct {
	SHA256      string // expected hex digest (optional)
	Client      *http.Client
	Progress    Progress
	IdleTimeout time.Duration // give up when nothing arrives for this long (0: DefaultIdleTimeout)
}

// Pull downloads src into dir and returns the final path. It resumes a previous partial
// download (name.part) when the server answers the range correctly, and starts over
// when it does not. A file gets its final name only once it is complete, parses as
// GGUF and matches opt.SHA256; a cached file that fails those checks is removed. Two
// pulls of one file at once: the second is refused while the first holds name.part.
func Pull(ctx context.Context, src, dir string, opt Options) (string, error) {
	if opt.SHA256 != "" {
		if err := CheckSHA256(opt.SHA256); err != nil {
			return "", err
		}
	}
	u, name, err := ResolveURL(src)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	final := filepath.Join(dir, name)
	found, err := cached(final, opt.SHA256)
	if err != nil {
		return "", err
	}
	if found {
		return final, nil
	}
	part := final + ".part"
	f, err := lockPart(part)
	if errors.Is(err, errBusy) {
		return "", fmt.Errorf("download %s: another pull is downloading it into %s; wait for it to finish", u, part)
	}
	if err != nil {
		return "", err
	}
	defer f.Close() // and unlock, after the rename
	// A pull that held the lock may have finished the file meanwhile.
	if found, err = cached(final, opt.SHA256); err != nil || found {
		os.Remove(part)
		if err != nil {
			return "", err
		}
		return final, nil
	}
	if err := fetch(ctx, httpClient(opt.Client), f, u, opt); err != nil {
		if st, serr := f.Stat(); serr == nil && st.Size() == 0 {
			os.Remove(part) // nothing to resume from
		}
		return "", err
	}
	if err := verify(part, opt.SHA256); err != nil {
		os.Remove(part)
		return "", fmt.Errorf("download %s: %w; removed the download", u, err)
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := atomicfile.Rename(part, final); err != nil {
		return "", err
	}
	return final, nil
}

// cached reports whether path is a finished download that passes verify. One that
// fails is removed: nothing unverified keeps a final name.
func cached(path, sum string) (bool, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !st.Mode().IsRegular() {
		return false, fmt.Errorf("%s is in the model cache but is not a regular file", path)
	}
	if err := verify(path, sum); err != nil {
		if rerr := os.Remove(path); rerr != nil {
			return false, fmt.Errorf("%v, and removing it from the cache failed: %w", err, rerr)
		}
		return false, fmt.Errorf("%w; removed it from the cache (run pull again to download it)", err)
	}
	return true, nil
}

// verify checks that path is a GGUF file whose header and tensor table parse and fit
// the file, and that it has the expected sha256 (when one is given). Its errors name
// path.
func verify(path, sum string) error {
	g, err := gguf.Open(path)
	if err != nil {
		return err
	}
	g.Close()
	if sum == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, sum) {
		return fmt.Errorf("sha256 of %s is %s, expected %s", path, got, sum)
	}
	return nil
}

// httpClient is c (or a default client) whose redirect limit reports a loop as one.
func httpClient(c *http.Client) *http.Client {
	var cl http.Client
	if c != nil {
		cl = *c
	}
	if cl.CheckRedirect == nil {
		cl.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errRedirectLoop
			}
			return nil
		}
	}
	return &cl
}

// fetch fills f (the locked .part file) with u's bytes, resuming after what f holds.
// When the server's answer to the range cannot be trusted, it starts over once.
func fetch(ctx context.Context, client *http.Client, f *os.File, u string, opt Options) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	have := st.Size()
	for attempt := 0; ; attempt++ {
		restart, err := transfer(ctx, client, f, u, have, opt)
		if !restart {
			return err
		}
		if attempt > 0 || have == 0 {
			return fmt.Errorf("download %s: the server answers range requests inconsistently", u)
		}
		if err := f.Truncate(0); err != nil {
			return err
		}
		have = 0
	}
}

// transfer makes one request for u from byte have on and writes the answer to f. It
// asks for a restart (from byte 0) when a resume is answered from another offset
// than asked, or with 416 by a server that does not say the file ends at have.
func transfer(ctx context.Context, client *http.Client, f *os.File, u string, have int64, opt Options) (restart bool, err error) {
	idle := opt.IdleTimeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(idle, func() { cancel(errStalled) })
	defer watchdog.Stop()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("User-Agent", "inferno")
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, transferError(ctx, reqCtx, u, idle, have, err)
	}
	defer resp.Body.Close()
	total := int64(-1)
	switch resp.StatusCode {
	case http.StatusOK: // the whole file: start over
		have, total = 0, resp.ContentLength
		if err := f.Truncate(0); err != nil {
			return false, err
		}
	case http.StatusPartialContent:
		start, end, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return true, nil
		}
		total = size
		if size < 0 {
			total = end + 1
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// The range starts at or past the end: .part is complete only when the server
		// says the file is exactly that long ("bytes */SIZE").
		if size, ok := parseUnsatisfiedRange(resp.Header.Get("Content-Range")); ok && size == have && have > 0 {
			return false, nil
		}
		return true, nil
	default:
		return false, fmt.Errorf("download %s: HTTP %s", u, resp.Status)
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return false, err
	}
	pw := &progressWriter{w: f, done: have, total: total, fn: opt.Progress}
	if _, err := io.Copy(pw, idleReader{r: resp.Body, watchdog: watchdog, idle: idle}); err != nil {
		return false, transferError(ctx, reqCtx, u, idle, pw.done, err)
	}
	if total >= 0 && pw.done != total {
		return false, fmt.Errorf("download %s: got %d of %d bytes (run pull again to resume)", u, pw.done, total)
	}
	return false, nil
}

// transferError says why a request or its body failed, in the user's terms.
func transferError(ctx, reqCtx context.Context, u string, idle time.Duration, done int64, err error) error {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(context.Cause(reqCtx), errStalled):
		return fmt.Errorf("download %s: server stalled, nothing received for %v after %d bytes (run pull again to resume)", u, idle, done)
	case ctx.Err() != nil:
		return fmt.Errorf("download %s interrupted after %d bytes (run pull again to resume): %w", u, done, context.Cause(ctx))
	case errors.Is(err, errRedirectLoop):
		return fmt.Errorf("download %s: redirect loop (gave up after %d redirects)", u, maxRedirects)
	case errors.As(err, &dnsErr) || errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("cannot reach %s (offline?): %w", hostOf(u), err)
	}
	return fmt.Errorf("download %s interrupted after %d bytes (run pull again to resume): %w", u, done, err)
}

// parseContentRange reads "bytes START-END/SIZE" (SIZE may be "*": -1).
func parseContentRange(h string) (start, end, size int64, ok bool) {
	rest, found := strings.CutPrefix(h, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, sz, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, 0, false
	}
	size = -1
	if sz != "*" {
		var err error
		if size, err = strconv.ParseInt(sz, 10, 64); err != nil || size <= end {
			return 0, 0, 0, false
		}
	}
	return start, end, size, true
}

// parseUnsatisfiedRange reads a 416's "bytes */SIZE".
func parseUnsatisfiedRange(h string) (int64, bool) {
	sz, found := strings.CutPrefix(h, "bytes */")
	if !found {
		return 0, false
	}
	size, err := strconv.ParseInt(sz, 10, 64)
	return size, err == nil && size >= 0
}

// idleReader pushes the stall watchdog back whenever bytes arrive.
type idleReader struct {
	r        io.Reader
	watchdog *time.Timer
	idle     time.Duration
}

func (r idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.watchdog.Reset(r.idle)
	}
	return n, err
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Host
}

type progressWriter struct {
	w     io.Writer
	done  int64
	total int64
	fn    Progress
	last  time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.fn != nil && (time.Since(p.last) > 200*time.Millisecond || p.done == p.total) {
		p.last = time.Now()
		p.fn(p.done, p.total)
	}
	return n, err
}

// Entry is a cached model.
type Entry struct {
	Name string
	Path string
	Size int64
}

// List returns the cached models (finished downloads only), by name.
func List(dir string) ([]Entry, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range ents {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".part") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, Entry{Name: e.Name(), Path: filepath.Join(dir, e.Name()), Size: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Resolve returns path when it exists, else the cached model of that name (with or
// without ".gguf").
func Resolve(path string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if strings.ContainsRune(path, os.PathSeparator) {
		return "", fmt.Errorf("model %s: no such file", path)
	}
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	for _, n := range []string{path, path + ".gguf"} {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("model %s: no such file, and no model of that name in %s (see inferno list)", path, dir)
}
