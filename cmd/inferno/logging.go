package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/inferno-go/inferno/config"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Global output flags: --quiet, --verbose, --log-format.
var (
	flagQuiet     bool
	flagVerbose   bool
	flagLogFormat string
)

func addLogFlags(root *cobra.Command) {
	root.PersistentFlags().BoolVarP(&flagQuiet, "quiet", "q", false, "print only results (no logs, no progress)")
	root.PersistentFlags().BoolVarP(&flagVerbose, "verbose", "v", false, "print more detail")
	root.PersistentFlags().StringVar(&flagLogFormat, "log-format", "text", "log format on stderr: text or json")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if flagLogFormat != "text" && flagLogFormat != "json" {
			return fmt.Errorf("--log-format %q: want text or json", flagLogFormat)
		}
		if flagQuiet && flagVerbose {
			return fmt.Errorf("--quiet and --verbose contradict each other")
		}
		// as an unknown config key is an error, a misspelt variable must not pass unseen
		if unknown := config.UnknownEnv(os.Environ()); len(unknown) > 0 {
			warnf(cmd.ErrOrStderr(), "ignoring unknown environment variables %s (known: %s)",
				strings.Join(unknown, ", "), strings.Join(config.KnownEnv(), ", "))
		}
		return nil
	}
}

// warnf prints a warning on stderr, also with --quiet (it is not progress): a line
// starting "warning:", or a WARN record with --log-format json.
func warnf(stderr io.Writer, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if flagLogFormat == "json" {
		slog.New(slog.NewJSONHandler(stderr, nil)).Warn(msg)
		return
	}
	fmt.Fprintln(stderr, "warning: "+msg)
}

// logWriter returns where log lines go: nowhere with --quiet, slog JSON records with
// --log-format json, the plain stream otherwise.
func logWriter(stderr io.Writer) io.Writer {
	switch {
	case flagQuiet:
		return io.Discard
	case flagLogFormat == "json":
		return &slogWriter{log: slog.New(slog.NewJSONHandler(stderr, nil))}
	}
	return stderr
}

// slogWriter turns each written line into a log record.
type slogWriter struct {
	log *slog.Logger
	buf bytes.Buffer
}

func (w *slogWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line) // incomplete: keep for later
			return len(p), nil
		}
		if s := strings.TrimRight(line, "\n"); s != "" {
			w.log.Info(s)
		}
	}
}

// isTerminal reports whether w is a terminal (progress bars) or not (plain lines).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress reports done/total on a terminal as a bar, elsewhere as occasional lines
// (log records with --log-format json).
type progress struct {
	w     io.Writer
	label string
	tty   bool
	last  int
	// onlyDone: off a terminal, one line when done instead of one per tenth
	onlyDone bool
}

func newProgress(w io.Writer, label string) *progress {
	w = logWriter(w)
	return &progress{w: w, label: label, tty: isTerminal(w), last: -1}
}

func (p *progress) update(done, total int, what string) {
	if total <= 0 {
		return
	}
	pct := 100 * done / total
	if p.tty {
		bar := 30 * done / total
		fmt.Fprintf(p.w, "\r%s [%-30s] %3d%% %s\x1b[K", p.label, strings.Repeat("#", bar), pct, what)
		if done == total {
			fmt.Fprintln(p.w)
		}
		return
	}
	if p.onlyDone && done != total {
		return
	}
	if pct/10 != p.last/10 || done == total {
		p.last = pct
		fmt.Fprintf(p.w, "%s: %d%% (%d/%d) %s\n", p.label, pct, done, total, what)
	}
}
