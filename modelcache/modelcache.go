// Package modelcache downloads models into the local cache (~/.cache/inferno/models,
// or $INFERNO_MODELS_DIR) with resumable HTTP Range requests and an optional sha256
// check, lists them, and resolves a model name to its path. It exists so `inferno pull`
// and `--model NAME` share one idea of where models live.
package modelcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
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
// http(s) URLs pass through.
func ResolveURL(s string) (string, string, error) {
	if rest, ok := strings.CutPrefix(s, "hf://"); ok {
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return "", "", fmt.Errorf("%q: want hf://owner/repo/file.gguf", s)
		}
		return "https://huggingface.co/" + parts[0] + "/" + parts[1] + "/resolve/main/" + parts[2], filepath.Base(parts[2]), nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("%q is not an http(s) URL or hf://owner/repo/file.gguf", s)
	}
	name := filepath.Base(u.Path)
	if name == "" || name == "/" || name == "." {
		return "", "", fmt.Errorf("%q does not name a file", s)
	}
	return s, name, nil
}

// Progress receives bytes done and the total (-1 when unknown).
type Progress func(done, total int64)

// Options of a download.
type Options struct {
	SHA256   string // expected hex digest (optional)
	Client   *http.Client
	Progress Progress
}

// Pull downloads src into dir, resuming a previous partial download, and returns the
// final path. A finished file is not downloaded again.
func Pull(ctx context.Context, src, dir string, opt Options) (string, error) {
	u, name, err := ResolveURL(src)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	final := filepath.Join(dir, name)
	if _, err := os.Stat(final); err == nil {
		if opt.SHA256 != "" {
			if err := checkSum(final, opt.SHA256); err != nil {
				return "", err
			}
		}
		return final, nil
	}
	part := final + ".part"
	client := opt.Client
	if client == nil {
		client = &http.Client{Timeout: 0}
	}
	var have int64
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", "inferno")
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) || strings.Contains(err.Error(), "no such host") || strings.Contains(err.Error(), "connection refused") {
			return "", fmt.Errorf("cannot reach %s (offline?): %w", hostOf(u), err)
		}
		return "", err
	}
	defer resp.Body.Close()
	var f *os.File
	total := int64(-1)
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		f, err = os.OpenFile(part, os.O_WRONLY|os.O_APPEND, 0o644)
		if resp.ContentLength >= 0 {
			total = have + resp.ContentLength
		}
	case resp.StatusCode == http.StatusOK:
		have = 0 // the server ignored the range: start over
		f, err = os.Create(part)
		total = resp.ContentLength
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// the partial file is already complete
		f, err = os.OpenFile(part, os.O_WRONLY|os.O_APPEND, 0o644)
		total = have
	default:
		return "", fmt.Errorf("download %s: HTTP %s", u, resp.Status)
	}
	if err != nil {
		return "", err
	}
	pw := &progressWriter{w: f, done: have, total: total, fn: opt.Progress}
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		_, err = io.Copy(pw, resp.Body)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("download %s interrupted after %d bytes (run pull again to resume): %w", name, pw.done, err)
	}
	if total >= 0 && pw.done != total {
		return "", fmt.Errorf("download %s: got %d of %d bytes (run pull again to resume)", name, pw.done, total)
	}
	if opt.SHA256 != "" {
		if err := checkSum(part, opt.SHA256); err != nil {
			os.Remove(part)
			return "", err
		}
	}
	return final, os.Rename(part, final)
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

func checkSum(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
		return fmt.Errorf("sha256 of %s is %s, expected %s (file removed)", filepath.Base(path), got, want)
	}
	return nil
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
