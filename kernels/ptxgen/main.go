// Command ptxgen regenerates kernels/cuda/kernels.ptx from the CUDA sources (`make
// kernels`); kernels' TestPTXCurrent fails when the committed file is stale.
package main

import (
	"fmt"
	"os"

	"github.com/inferno-go/inferno/kernels"
)

func main() {
	out := "kernels/cuda/kernels.ptx"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	clang, err := kernels.CUDACompiler()
	if err == nil {
		var p []byte
		if p, err = kernels.CompilePTX(clang); err == nil {
			err = os.WriteFile(out, p, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ptxgen:", err)
		os.Exit(1)
	}
}
