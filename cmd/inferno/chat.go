package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/inferno-go/inferno"
	"github.com/inferno-go/inferno/chat"
	"github.com/spf13/cobra"
)

// conversation keeps the messages and a session whose KV cache holds the rendered
// prefix, so each turn evaluates only the tokens it adds.
type conversation struct {
	m        *inferno.Model
	sess     *inferno.Session
	tmpl     *chat.Template
	system   string
	msgs     []chat.Message
	verbose  bool
	out, log io.Writer
	// Evaluated counts prompt tokens actually run through the model (tests check reuse).
	Evaluated int
}

func newConversation(m *inferno.Model, override, system string, verbose bool, out, log io.Writer) (*conversation, error) {
	src := ""
	if v, ok := m.Metadata("tokenizer.chat_template"); ok {
		src, _ = v.Any().(string)
	}
	tm, err := chat.Select(override, src, func(s string) bool { _, ok := m.Tokenizer().Lookup(s); return ok })
	if err != nil {
		return nil, err
	}
	if tm.Warning != "" {
		fmt.Fprintf(log, "warning: %s\n", tm.Warning)
	}
	sess, err := m.NewSession()
	if err != nil {
		return nil, err
	}
	c := &conversation{m: m, sess: sess, tmpl: tm, system: system, verbose: verbose, out: out, log: log}
	c.reset()
	return c, nil
}

func (c *conversation) reset() {
	c.msgs = c.msgs[:0]
	if c.system != "" {
		c.msgs = append(c.msgs, chat.Message{Role: "system", Content: c.system})
	}
	c.sess.Reset()
}

func (c *conversation) tokens() (string, []int32, error) {
	return c.tmpl.Encode(c.m.Tokenizer(), c.msgs)
}

// errStop means the user chose to stop at the context limit.
var errStop = fmt.Errorf("stopped at the context limit")

// turn adds a user message and generates the reply.
func (c *conversation) turn(ctx context.Context, user string, opt inferno.GenerateOptions, ask func(string) string) (*inferno.Result, error) {
	c.msgs = append(c.msgs, chat.Message{Role: "user", Content: user})
	nctx := c.sess.ContextSize()
	reserve := max(opt.MaxTokens, 1) // room kept for the reply: -n, or at least one token
	for {
		text, ids, err := c.tokens()
		if err != nil {
			c.msgs = c.msgs[:len(c.msgs)-1]
			return nil, err
		}
		if len(ids)+reserve <= nctx {
			if c.verbose {
				fmt.Fprintf(c.log, "prompt (%d tokens, template %s):\n%s\nids: %v\n", len(ids), c.tmpl.Name, text, ids)
			}
			// reuse the cached prefix
			have := c.sess.Tokens()
			common := 0
			for common < len(have) && common < len(ids)-1 && have[common] == ids[common] {
				common++
			}
			c.sess.Truncate(common)
			c.Evaluated += len(ids) - common
			res, err := c.sess.Generate(ctx, ids[common:], opt, func(s string) error { _, err := io.WriteString(c.out, s); return err })
			if err != nil {
				return res, err
			}
			c.msgs = append(c.msgs, chat.Message{Role: "assistant", Content: strings.TrimSpace(res.Text)})
			return res, nil
		}
		// the conversation no longer fits: ask, never truncate silently
		first := 0
		if c.system != "" {
			first = 1
		}
		if len(c.msgs)-first <= 1 {
			c.msgs = c.msgs[:len(c.msgs)-1]
			if len(ids) >= nctx {
				return nil, fmt.Errorf("this message alone needs %d tokens, which leaves no room for a reply in a context of %d: use a larger --ctx", len(ids), nctx)
			}
			return nil, fmt.Errorf("this message needs %d tokens plus %d kept for the reply (-n), the context holds %d: use a larger --ctx or a smaller -n",
				len(ids), reserve, nctx)
		}
		q := fmt.Sprintf("context full: the conversation needs %d tokens plus %d kept for the reply, the context holds %d. Drop the oldest turn and continue [d], or stop [s]? ",
			len(ids), reserve, nctx)
		if !askDrop(ask, q) {
			c.msgs = c.msgs[:len(c.msgs)-1]
			return nil, errStop
		}
		// drop the oldest user/assistant pair (keep the system message)
		n := 2
		if len(c.msgs)-first < 3 {
			n = 1
		}
		c.msgs = append(c.msgs[:first], c.msgs[first+n:]...)
		c.sess.Reset()
	}
}

// askDrop asks q until the answer is d (drop: true) or s (stop: false); any other
// answer, Enter included, asks again.
func askDrop(ask func(string) string, q string) bool {
	for {
		a := strings.ToLower(strings.TrimSpace(ask(q)))
		switch {
		case strings.HasPrefix(a, "d"):
			return true
		case strings.HasPrefix(a, "s"):
			return false
		}
		q = "Please answer d (drop the oldest turn and continue) or s (stop): "
	}
}

// maxInputLine is the longest line (one message) chat reads.
const maxInputLine = 1 << 20

// repl runs the interactive loop: a line is a message; /reset, /exit; EOF leaves.
func (c *conversation) repl(in io.Reader, opt inferno.GenerateOptions, interactive bool) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxInputLine)
	ask := func(q string) string {
		fmt.Fprint(c.log, q)
		if sc.Scan() {
			return sc.Text()
		}
		return "s" // end of input (or a read error, which the loop reports): stop
	}
	for {
		if interactive {
			fmt.Fprint(c.log, "> ")
		}
		if !sc.Scan() {
			fmt.Fprintln(c.log)
			if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
				return fmt.Errorf("chat: an input line is longer than %d bytes, the limit for one message", maxInputLine)
			} else if err != nil {
				return fmt.Errorf("chat: reading input: %w", err)
			}
			return nil
		}
		line := strings.TrimSpace(sc.Text())
		switch line {
		case "":
			continue
		case "/exit", "/quit":
			return nil
		case "/reset":
			c.reset()
			fmt.Fprintln(c.log, "(conversation reset)")
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		res, err := c.turn(ctx, line, opt, ask)
		stop()
		fmt.Fprintln(c.out)
		if err == errStop {
			return nil
		}
		if err != nil {
			return err
		}
		switch res.StopReason {
		case inferno.StopCancelled:
			fmt.Fprintln(c.log, "(stopped)")
		case inferno.StopContext:
			fmt.Fprintf(c.log, "(the reply stopped at the context limit of %d tokens: use a larger --ctx, or /reset)\n", c.sess.ContextSize())
		}
	}
}

func newChatCmd() *cobra.Command {
	var mf modelFlags
	var sf samplingFlags
	var system, tmpl string
	var tokens int
	var verbosePrompt bool
	cmd := &cobra.Command{
		Use:   "chat",
		Short: "Talk with a model, using its chat template",
		Long: `An interactive session: type a message and press Enter. /reset starts over, /exit or
Ctrl-D leaves, Ctrl-C stops a reply. The template comes from the model
(tokenizer.chat_template, rendered with a Jinja engine), else a built-in one
(chatml, gemma, llama2, llama3, mistral, phi3, zephyr) picked from its special tokens.
Only new tokens are evaluated each turn; at the context limit you choose to drop the
oldest turn or stop.`,
		Example: `  inferno chat -m tinyllama-1.1b-chat.Q4_K_M.gguf --system "You are terse."
  inferno chat -m model.gguf --chat-template llama3 --verbose-prompt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tokens < 0 {
				return fmt.Errorf("--tokens %d must be >= 0", tokens)
			}
			if err := mf.applyConfig(cmd); err != nil {
				return err
			}
			if err := sf.applyConfig(cmd); err != nil {
				return err
			}
			params, err := sf.params()
			if err != nil {
				return err
			}
			m, err := mf.load(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer m.Close()
			c, err := newConversation(m, tmpl, system, verbosePrompt, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			fmt.Fprintf(logWriter(cmd.ErrOrStderr()), "chat template: %s — /reset, /exit, Ctrl-C stops a reply, Ctrl-D leaves\n", c.tmpl.Name)
			return c.repl(cmd.InOrStdin(), inferno.GenerateOptions{MaxTokens: tokens, Sampling: params}, true)
		},
	}
	mf.register(cmd)
	sf.register(cmd)
	cmd.Flags().StringVar(&system, "system", "", "system message")
	cmd.Flags().StringVar(&tmpl, "chat-template", "", "built-in template name or a Jinja file (overrides the model's)")
	cmd.Flags().IntVarP(&tokens, "tokens", "n", 512, "most tokens per reply (0: until end of text or the context limit)")
	cmd.Flags().BoolVar(&verbosePrompt, "verbose-prompt", false, "print the rendered prompt and its token ids before each reply")
	return cmd
}
