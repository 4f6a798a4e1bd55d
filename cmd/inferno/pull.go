package main

import (
	"fmt"
	"io"

	"github.com/inferno-go/inferno/modelcache"
	"github.com/spf13/cobra"
)

func newPullCmd() *cobra.Command {
	var sum string
	cmd := &cobra.Command{
		Use:   "pull URL|hf://owner/repo/file.gguf",
		Short: "Download a model into the cache (resumable, optional sha256 check)",
		Example: `  inferno pull hf://TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF/tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf
  inferno pull https://example.com/model.gguf --sha256 9f86d0...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sum != "" {
				if err := modelcache.CheckSHA256(sum); err != nil {
					return fmt.Errorf("--sha256: %w", err)
				}
			}
			dir, err := modelcache.Dir()
			if err != nil {
				return err
			}
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			stderr := cmd.ErrOrStderr()
			p, err := modelcache.Pull(ctx, args[0], dir, modelcache.Options{SHA256: sum, Progress: progressPrinter(stderr)})
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "\n")
			fmt.Fprintln(cmd.OutOrStdout(), p)
			return nil
		},
	}
	cmd.Flags().StringVar(&sum, "sha256", "", "expected sha256 (hex) of the file")
	return cmd
}

// progressPrinter draws a bar on a terminal and prints plain lines otherwise.
func progressPrinter(w io.Writer) modelcache.Progress {
	if flagQuiet {
		w = io.Discard
	}
	tty := isTerminal(w)
	lastPct := -1
	return func(done, total int64) {
		if total <= 0 {
			if tty {
				fmt.Fprintf(w, "\r%.1f MiB", float64(done)/(1<<20))
			}
			return
		}
		pct := int(100 * done / total)
		if tty {
			bar := 40 * done / total
			fmt.Fprintf(w, "\r[%-40s] %3d%% %.1f/%.1f MiB", string(repeat('#', int(bar))), pct, float64(done)/(1<<20), float64(total)/(1<<20))
			return
		}
		if pct/10 != lastPct/10 {
			lastPct = pct
			fmt.Fprintf(w, "downloaded %d%% (%.1f of %.1f MiB)\n", pct, float64(done)/(1<<20), float64(total)/(1<<20))
		}
	}
}

func repeat(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}

func newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List downloaded models (use a name as --model)",
		Example: "  inferno list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := modelcache.Dir()
			if err != nil {
				return err
			}
			ents, err := modelcache.List(dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(ents) == 0 {
				fmt.Fprintf(out, "no models in %s (inferno pull URL)\n", dir)
				return nil
			}
			for _, e := range ents {
				fmt.Fprintf(out, "%-50s %10.1f MiB  %s\n", e.Name, float64(e.Size)/(1<<20), e.Path)
			}
			return nil
		},
	}
}
