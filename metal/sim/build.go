// Package sim executes the .metal kernels Inferno ships, unchanged, on Linux (and any
// amd64/arm64 host): a Go translator rewrites what a header cannot express, clang-19
// compiles the result as C++ against a shim for <metal_stdlib> and a fiber runtime into
// a shared object (cached by content hash), and purego loads it — no cgo. Every
// simulated GPU thread is a fiber; barriers and SIMD-group collectives switch fibers, and
// collectives reconverge by source position as a GPU would. It exists because no machine
// here is a Mac: it is how the kernels are tested. See docs/metal.md.
package sim

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

//go:embed shim/metal_stdlib.h shim/runtime.h shim/runtime.cpp shim/cuda_sim.h
var shimFS embed.FS

// ErrNoCompiler means clang-19 is not installed.
var ErrNoCompiler = errors.New("clang-19 not found: install it with `apt-get install -y clang-19` (Debian/Ubuntu) to run the Metal simulator")

var errUnsupported = errors.New("the kernel simulator (metal-sim, cuda-sim) runs on Linux and macOS only")

// Compiler returns the clang++ used for the simulator ($INFERNO_CLANG overrides).
func Compiler() (string, error) {
	if !supported {
		return "", errUnsupported
	}
	if c := os.Getenv("INFERNO_CLANG"); c != "" {
		return c, nil
	}
	for _, c := range []string{"clang++-19", "clang-19"} {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", ErrNoCompiler
}

func cacheDir() (string, error) {
	if d := os.Getenv("INFERNO_SIM_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "inferno", "metal-sim"), nil
}

var shimFiles = []string{"metal_stdlib.h", "runtime.h", "runtime.cpp", "cuda_sim.h"}

// writeShim puts the shim files in dir.
func writeShim(dir string) error {
	for _, n := range shimFiles {
		b, err := shimFS.ReadFile("shim/" + n)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			return err
		}
	}
	// what `#include <metal_stdlib>` finds
	return os.WriteFile(filepath.Join(dir, "metal_stdlib"), []byte("#include \"metal_stdlib.h\"\n"), 0o644)
}

func shimHash() []byte {
	h := sha256.New()
	for _, n := range shimFiles {
		b, _ := shimFS.ReadFile("shim/" + n)
		h.Write(b)
	}
	return h.Sum(nil)
}

// CompileError is a clang diagnostic pointing into the .metal file (or, CUDA set, the
// CUDA sources).
type CompileError struct {
	File string
	Log  string
	CUDA bool
}

func (e *CompileError) Error() string {
	label := "metal sim: "
	if e.CUDA {
		label = "cuda sim: "
	}
	lines := strings.Split(strings.TrimSpace(e.Log), "\n")
	for _, l := range lines {
		if strings.Contains(l, "error:") {
			return label + l
		}
	}
	return label + "compiling " + e.File + " failed:\n" + e.Log
}

// Build translates and compiles .metal sources (concatenated in order, as one library)
// into a shared object and returns its path and the kernels it exports.
func Build(files map[string]string, order []string) (string, *Translation, error) {
	cxx, err := Compiler()
	if err != nil {
		return "", nil, err
	}
	var src strings.Builder
	all := &Translation{Constants: map[int]string{}}
	for _, name := range order {
		tr, err := Translate(name, files[name], false)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&src, "#line 1 %q\n%s\n", name, tr.Source)
		all.Kernels = append(all.Kernels, tr.Kernels...)
		for k, v := range tr.Constants {
			all.Constants[k] = v
		}
	}
	tu := "#include \"metal_stdlib.h\"\n" + src.String() + "\n#line 1 \"<simulator runtime>\"\n#include \"runtime.cpp\"\n" + all.Thunks()
	h := sha256.New()
	h.Write(shimHash())
	h.Write([]byte(tu))
	h.Write([]byte(cxx))
	h.Write([]byte(runtime.GOOS + "/" + runtime.GOARCH)) // a cache shared between hosts must not mix architectures
	key := hex.EncodeToString(h.Sum(nil))[:24]
	base, err := cacheDir()
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Join(base, key)
	lib := filepath.Join(dir, "kernels.so")
	if _, err := os.Stat(lib); err == nil {
		return lib, all, nil
	}
	tmp, err := os.MkdirTemp(base0(base), "build-")
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(tmp)
	if err := writeShim(tmp); err != nil {
		return "", nil, err
	}
	cpp := filepath.Join(tmp, "kernels.cpp")
	if err := os.WriteFile(cpp, []byte(tu), 0o644); err != nil {
		return "", nil, err
	}
	out := filepath.Join(tmp, "kernels.so")
	cmd := exec.Command(cxx, "-std=c++17", "-O1", "-fsigned-char", "-fPIC", "-shared", "-fno-exceptions", "-ffp-contract=off",
		"-Wno-unknown-attributes", "-Wno-ignored-attributes", "-I", tmp, "-o", out, cpp, "-lpthread")
	if log, err := cmd.CombinedOutput(); err != nil {
		return "", nil, &CompileError{File: strings.Join(order, ", "), Log: string(log)}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	if err := os.Rename(out, lib); err != nil {
		return "", nil, err
	}
	return lib, all, nil
}

func base0(base string) string {
	_ = os.MkdirAll(base, 0o755)
	return base
}

// CheckAddressSpaces compiles one .metal file with device/constant/threadgroup as clang
// address spaces (-fsyntax-only), catching most address-space mistakes the Metal
// compiler would reject.
func CheckAddressSpaces(name, source string) error {
	cxx, err := Compiler()
	if err != nil {
		return err
	}
	tr, err := Translate(name, source, true)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "inferno-ascheck-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := writeShim(tmp); err != nil {
		return err
	}
	cpp := filepath.Join(tmp, "check.cpp")
	tu := "#define ADDRESS_SPACE_CHECK 1\n#include \"metal_stdlib.h\"\n#line 1 \"" + name + "\"\n" + tr.Source
	if err := os.WriteFile(cpp, []byte(tu), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(cxx, "-std=c++17", "-fsigned-char", "-fsyntax-only", "-Wno-unknown-attributes", "-Wno-ignored-attributes", "-I", tmp, cpp)
	if log, err := cmd.CombinedOutput(); err != nil {
		return &CompileError{File: name, Log: string(log)}
	}
	return nil
}
