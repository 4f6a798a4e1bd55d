package kernels

import (
	"bytes"
	"os"
	"regexp"
	"testing"
)

// TestPTXCurrent regenerates the PTX from the CUDA sources and fails when the
// committed kernels.ptx differs (run `make kernels`).
func TestPTXCurrent(t *testing.T) {
	clang, err := CUDACompiler()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	got, err := CompilePTX(clang)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, PTX()) {
		t.Fatalf("kernels/cuda/kernels.ptx is stale (%d bytes committed, %d compiled): run `make kernels` and commit it", len(PTX()), len(got))
	}
}

// TestPTXEntries: every KERNEL in kernels.cu is an entry point of the committed PTX.
func TestPTXEntries(t *testing.T) {
	src, err := cudaFiles.ReadFile("cuda/kernels.cu")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`(?m)^KERNEL\s+(\w+)\s*\(`).FindAllSubmatch(src, -1)
	if len(names) == 0 {
		t.Fatal("no KERNEL in kernels.cu")
	}
	for _, m := range names {
		if !bytes.Contains(PTX(), []byte(".visible .entry "+string(m[1])+"(")) {
			t.Errorf("kernel %s is not an entry point of kernels.ptx", m[1])
		}
	}
}
