package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

var flagCPUProfile string

// addProfileFlag adds --cpuprofile: kernel researchers read where the time goes with
// `go tool pprof` on a real run, not only on microbenchmarks.
func addProfileFlag(root *cobra.Command) {
	root.PersistentFlags().StringVar(&flagCPUProfile, "cpuprofile", "", "write a CPU profile of the command to `FILE` (read it with go tool pprof)")
	pre := root.PersistentPreRunE
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if pre != nil {
			if err := pre(cmd, args); err != nil {
				return err
			}
		}
		if flagCPUProfile == "" {
			return nil
		}
		f, err := os.Create(flagCPUProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		root.PersistentPostRunE = func(*cobra.Command, []string) error {
			pprof.StopCPUProfile()
			return f.Close()
		}
		return nil
	}
}
