package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
)

// The CUDA kernels on the simulator (cuda-sim): kernels/cuda/kernels.cu, unchanged, is
// compiled as C++ with shim/cuda_sim.h standing in for what clang's CUDA device
// compilation provides (keywords, threadIdx & co., the __nvvm_* builtins), so its entry
// points, their __shared__ arrays and the prelude's warp shuffles run on the same fiber
// runtime as the Metal kernels. Two things a header cannot do are done on the
// preprocessed source: each `__shared__` array in a function body becomes
// per-threadgroup storage, and the entry points (`extern "C" __global__`, whatever
// macro wrote them) are listed to generate their thunks; a thunk takes the parameter
// types from the entry point itself, so no kernel needs glue of its own.

var (
	reCUDAEntry  = regexp.MustCompile(`extern\s+"C"\s+__attribute__\(\(annotate\("inferno_cuda_global"\)\)\)\s*void\s+(?:__attribute__\(\((?:[^()]|\([^()]*\))*\)\)\s*)*([A-Za-z_]\w*)\s*\(`)
	reLineMarker = regexp.MustCompile(`^#\s+\d+\s+"([^"]*)"(.*)$`)
	reInlineAsm  = regexp.MustCompile(`\b(?:asm|__asm__|__asm)\b\s*(?:volatile\b|__volatile__\b)?\s*\(`)
	reSharedDecl = regexp.MustCompile(`^((?:extern\s+)?)__shared__\s+((?:__attribute__\(\(aligned\(\d+\)\)\)\s+)?)([^;\[\]=,]*?)\s*\b([A-Za-z_]\w*)\s*((?:\[[^\]]*\]\s*)*);`)
)

// BuildCUDA compiles the CUDA source main (a path in files, which holds every file it
// includes by relative path) for the simulator and returns the shared object's path.
func BuildCUDA(files map[string]string, main string) (string, error) {
	cxx, err := Compiler()
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	h.Write(shimHash())
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00%s", n, len(files[n]), files[n])
	}
	fmt.Fprintf(h, "cuda\x00%s\x00%s\x00%s/%s", main, cxx, runtime.GOOS, runtime.GOARCH)
	base, err := cacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "cuda-"+hex.EncodeToString(h.Sum(nil))[:24])
	lib := filepath.Join(dir, "kernels.so")
	if _, err := os.Stat(lib); err == nil {
		return lib, nil
	}
	tmp, err := os.MkdirTemp(base0(base), "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := writeShim(tmp); err != nil {
		return "", err
	}
	src := filepath.Join(tmp, "src")
	for _, n := range names {
		p := filepath.Join(src, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(files[n]), 0o644); err != nil {
			return "", err
		}
	}
	tu := filepath.Join(tmp, "tu.cpp")
	body := "#include \"cuda_sim.h\"\n#include \"src/" + main + "\"\n#line 1 \"<simulator runtime>\"\n#include \"runtime.cpp\"\n"
	if err := os.WriteFile(tu, []byte(body), 0o644); err != nil {
		return "", err
	}
	pre, err := exec.Command(cxx, "-E", "-std=c++17", "-fsigned-char", "-I", tmp, tu).Output()
	if err != nil {
		log := ""
		if ee, ok := err.(*exec.ExitError); ok {
			log = string(ee.Stderr)
		}
		return "", &CompileError{File: main, Log: strings.ReplaceAll(log, src+"/", ""), CUDA: true}
	}
	code, entries, err := cudaRewrite(string(pre), src+string(filepath.Separator))
	if err != nil {
		return "", fmt.Errorf("cuda sim: %w", err)
	}
	if len(entries) == 0 {
		return "", fmt.Errorf("cuda sim: %s: no extern \"C\" __global__ entry point", main)
	}
	cpp := filepath.Join(tmp, "kernels.cpp")
	if err := os.WriteFile(cpp, []byte(code+cudaThunks(entries)), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(tmp, "kernels.so")
	cmd := exec.Command(cxx, "-x", "c++", "-std=c++17", "-O1", "-fsigned-char", "-fPIC", "-shared", "-fno-exceptions", "-ffp-contract=off",
		"-Wno-unknown-attributes", "-Wno-ignored-attributes", "-Wno-unknown-pragmas", "-o", out, cpp, "-lpthread")
	if log, err := cmd.CombinedOutput(); err != nil {
		return "", &CompileError{File: main, Log: strings.ReplaceAll(string(log), src+"/", ""), CUDA: true}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(out, lib); err != nil {
		return "", err
	}
	return lib, nil
}

// cudaRewrite turns the __shared__ arrays of the preprocessed source's lines from the
// kernel files (those under dir) into per-threadgroup storage and lists the entry points.
func cudaRewrite(pre, dir string) (string, []string, error) {
	lines := strings.Split(pre, "\n")
	own := false
	file, line := "", 0
	gen := 0
	for i, l := range lines {
		if m := reLineMarker.FindStringSubmatch(l); m != nil {
			file = m[1]
			fmt.Sscan(strings.Fields(l)[1], &line)
			own = strings.HasPrefix(file, dir)
			file = strings.TrimPrefix(file, dir)
			continue
		}
		line++
		if !own {
			continue
		}
		if reInlineAsm.MatchString(l) {
			return "", nil, fmt.Errorf("%s:%d: inline assembly (PTX) in the simulator's build: put it under #ifdef __CUDA_ARCH__ with a portable stand-in in the #else: %s",
				file, line-1, strings.TrimSpace(l))
		}
		if !strings.Contains(l, "__shared__") {
			continue
		}
		var b strings.Builder
		rest := l
		for {
			at := strings.Index(rest, "__shared__")
			if at < 0 {
				b.WriteString(rest)
				break
			}
			start := at
			if j := strings.LastIndex(rest[:at], "extern"); j >= 0 && strings.TrimSpace(rest[j+6:at]) == "" {
				start = j
			}
			m := reSharedDecl.FindStringSubmatch(rest[start:])
			if m == nil {
				return "", nil, fmt.Errorf("%s:%d: a __shared__ declaration the simulator does not handle (want one name a declaration, `__shared__ T name[N]...;` or `extern __shared__ T name[];`, in a function body): %s",
					file, line-1, strings.TrimSpace(l))
			}
			typ, name, dims := strings.TrimSpace(m[3]), m[4], strings.Join(strings.Fields(m[5]), "")
			b.WriteString(rest[:start])
			if m[1] != "" {
				if dims != "[]" {
					return "", nil, fmt.Errorf("%s:%d: extern __shared__ %s%s: want one dimension without a size (the dispatch's dynamic shared memory)", file, line-1, name, dims)
				}
				fmt.Fprintf(&b, "%s * const %s = (%s *)mtl_tg_dynamic();", typ, name, typ)
			} else {
				if strings.Contains(dims, "[]") {
					return "", nil, fmt.Errorf("%s:%d: __shared__ %s%s needs its sizes (or extern)", file, line-1, name, dims)
				}
				gen++
				fmt.Fprintf(&b, "static thread_local %s%s %s%s; static thread_local unsigned __mtl_gen_%d; mtl_cuda_shared((void *)&%s, sizeof(%s), &__mtl_gen_%d);",
					m[2], typ, name, dims, gen, name, name, gen)
			}
			rest = rest[start+len(m[0]):]
		}
		lines[i] = b.String()
	}
	code := strings.Join(lines, "\n")
	var entries []string
	seen := map[string]bool{}
	for _, m := range reCUDAEntry.FindAllStringSubmatch(code, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			entries = append(entries, m[1])
		}
	}
	sort.Strings(entries)
	return code, entries, nil
}

// cudaThunks generates the kernel table: a thunk and a parameter list per entry point.
func cudaThunks(entries []string) string {
	var b strings.Builder
	b.WriteString("\n// ---- generated by metal/sim: CUDA entry points ----\n")
	for i, e := range entries {
		fmt.Fprintf(&b, "static void __mtl_thunk_%d(void **b, const mtl_tinfo *) { mtl_cuda_call(&%s, b); }\n", i, e)
		fmt.Fprintf(&b, "static int __mtl_params_%d(int *o, int n) { return mtl_cuda_params(&%s, o, n); }\n", i, e)
	}
	b.WriteString("extern \"C\" const mtl_kernel_desc mtl_kernels[] = {\n")
	for i, e := range entries {
		fmt.Fprintf(&b, "  {%q, __mtl_thunk_%d},\n", e, i)
	}
	fmt.Fprintf(&b, "};\nextern \"C\" const int mtl_nkernels = %d;\n", len(entries))
	b.WriteString("static int (*const __mtl_params[])(int *, int) = {\n")
	for i := range entries {
		fmt.Fprintf(&b, "  __mtl_params_%d,\n", i)
	}
	b.WriteString("};\nextern \"C\" int mtl_kernel_params(int k, int *out, int n) {\n" +
		"  return k >= 0 && k < mtl_nkernels ? __mtl_params[k](out, n) : -1;\n}\n")
	return b.String()
}
