// Command inferno runs GGUF Llama-family models: inference on the CPU everywhere and
// on Apple GPUs through Metal, benchmarks, and model-file tools.
package main

import (
	"fmt"
	"os"
	"strings"

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
	root.AddCommand(newInfoCmd(), newRunCmd(), newTokenizeCmd(), newLogitsCmd(), newPerplexityCmd(), newImatrixCmd(), newQuantStatsCmd(), newKernelsCmd(), newGenCmd(), newQuantizeCmd(), newBenchCmd(), newConfigCmd(), newSystemCmd(), newPullCmd(), newListCmd(), newChatCmd(), newServeCmd())
	// Now, not in Execute, so that the loop below sees it (its scripts go to os.Stdout:
	// cobra takes the root's output when it makes the command).
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.HasSubCommands() && !c.Runnable() {
			c.Args, c.RunE = cobra.ArbitraryArgs, refuseUnknownSubcommand
		}
	}
	return root
}

// refuseUnknownSubcommand runs for a command group (config, kernels, completion) when no
// subcommand matched: alone it prints the help, with an argument it is an error (cobra
// would print the help and exit 0).
func refuseUnknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return fmt.Errorf("unknown command %q for %q (want %s)", args[0], cmd.CommandPath(), strings.Join(names, ", "))
}

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "inferno:", err)
		os.Exit(1)
	}
}
