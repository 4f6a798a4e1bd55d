// Command inferno runs GGUF Llama-family models: inference on the CPU everywhere and
// on Apple GPUs through Metal, benchmarks, and model-file tools.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at link time by `make dist` (-X main.version=...).
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "inferno",
		Short:         "Run GGUF Llama-family language models",
		Long:          "Inferno runs GGUF Llama-family models in pure Go: a fast CPU path everywhere, Metal on Apple Silicon.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	addLogFlags(root)
	addProfileFlag(root)
	root.AddCommand(newInfoCmd(), newRunCmd(), newTokenizeCmd(), newLogitsCmd(), newPerplexityCmd(), newKernelsCmd(), newGenCmd(), newQuantizeCmd(), newBenchCmd(), newConfigCmd(), newSystemCmd(), newPullCmd(), newListCmd(), newChatCmd())
	return root
}

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "inferno:", err)
		os.Exit(1)
	}
}
