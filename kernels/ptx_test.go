package kernels

import (
	"bytes"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
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

// metalBinding is one [[buffer(i)]] parameter of a Metal kernel: a device pointer or a
// value (an argument struct or scalar in constant memory).
type metalBinding struct {
	slot    int
	pointer bool
}

var (
	reKernel   = regexp.MustCompile(`\bkernel\s+void\s+(\w+)\s*\(`)
	reTemplate = regexp.MustCompile(`template\s*<\s*typename\s+B\s*>\s*$`)
	reBuffer   = regexp.MustCompile(`\[\[\s*buffer\(\s*(\d+)\s*\)\s*\]\]`)
	reEntry    = regexp.MustCompile(`\.visible \.entry (\w+)\(([^)]*)\)`)
)

// metalKernels returns every kernel the Metal library dispatches by host name (per-type
// kernels once per weight type) with its buffer bindings in slot order.
func metalKernels(t *testing.T) map[string][]metalBinding {
	out := map[string][]metalBinding{}
	ents, err := files.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, m := range reKernel.FindAllStringSubmatchIndex(src, -1) {
			name := src[m[2]:m[3]]
			depth, end := 0, -1
			for i := m[1] - 1; i < len(src) && end < 0; i++ {
				switch src[i] {
				case '(':
					depth++
				case ')':
					if depth--; depth == 0 {
						end = i
					}
				}
			}
			if end < 0 {
				t.Fatalf("%s: kernel %s: unbalanced parentheses", e.Name(), name)
			}
			var binds []metalBinding
			for _, p := range strings.Split(src[m[1]:end], ",") {
				if g := reBuffer.FindStringSubmatch(p); g != nil {
					slot, _ := strconv.Atoi(g[1])
					binds = append(binds, metalBinding{slot, strings.Contains(p, "device")})
				}
			}
			sort.Slice(binds, func(i, j int) bool { return binds[i].slot < binds[j].slot })
			if reTemplate.MatchString(src[:m[0]]) {
				for _, ty := range WeightTypes() {
					out[name+"_"+ty] = binds
				}
			} else {
				out[name] = binds
			}
		}
	}
	return out
}

// TestPTXMatchesMetal: the PTX has exactly the Metal library's kernels, each with one
// parameter per buffer binding in slot order, a pointer (.u64) where Metal binds a device
// buffer and a value where it binds constant data, so one host-side Dispatch drives both.
func TestPTXMatchesMetal(t *testing.T) {
	metal := metalKernels(t)
	if len(metal) < 3*len(WeightTypes())+9 { // 3 per-type families, 9 single kernels
		t.Fatalf("found only %d Metal kernels", len(metal))
	}
	entries := map[string][]string{}
	for _, m := range reEntry.FindAllStringSubmatch(string(PTX()), -1) {
		var params []string
		for _, p := range strings.Split(m[2], ",") {
			if p = strings.TrimSpace(p); p != "" {
				params = append(params, p)
			}
		}
		entries[m[1]] = params
	}
	for name, binds := range metal {
		params, ok := entries[name]
		if !ok {
			t.Errorf("Metal kernel %s has no CUDA entry point in kernels.ptx", name)
			continue
		}
		if len(params) != len(binds) {
			t.Errorf("%s: %d PTX parameters, %d Metal buffer bindings", name, len(params), len(binds))
			continue
		}
		for i, b := range binds {
			if b.slot != i {
				t.Errorf("%s: Metal buffer slots are not 0..%d", name, len(binds)-1)
				break
			}
			if ptr := strings.HasPrefix(params[i], ".param .u64 "); ptr != b.pointer {
				t.Errorf("%s: binding %d: Metal pointer %v, PTX parameter %q", name, i, b.pointer, params[i])
			}
		}
	}
	for name := range entries {
		if _, ok := metal[name]; !ok {
			t.Errorf("PTX entry point %s is no Metal kernel", name)
		}
	}
}
