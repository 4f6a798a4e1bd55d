package cpu

import (
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// forKernelSets runs f as a subtest for each assembly kernel set of this architecture
// (avx2 and avx512vnni on amd64, neon on arm64), skipping, with the reason, a set this
// build or CPU cannot run; under CI=true an assembly build must run the baseline set
// (avx2, neon), so CI cannot pass without testing it.
func forKernelSets(t *testing.T, f func(t *testing.T, set string)) {
	sets := map[string][]string{"amd64": {SetAVX2, SetAVX512VNNI}, "arm64": {SetNEON}}[runtime.GOARCH]
	if len(sets) == 0 {
		t.Skipf("SKIP: no assembly kernel sets on %s", runtime.GOARCH)
	}
	for i, set := range sets {
		t.Run(set, func(t *testing.T) {
			if !slices.Contains(KernelSets(), set) {
				if i == 0 && asmBuild && os.Getenv("CI") == "true" {
					t.Fatalf("CI must run the %s kernels; this CPU cannot (it runs %v)", set, KernelSets())
				}
				t.Skipf("SKIP: this build or CPU cannot run the %s kernels (it runs %v)", set, KernelSets())
			}
			f(t, set)
		})
	}
}

// TestChooseKernelSet: no INFERNO_CPU_KERNELS picks the best set; a set this machine
// runs is taken; an unknown name or one it cannot run is an error naming the variable
// and the sets it can run.
func TestChooseKernelSet(t *testing.T) {
	avail := KernelSets()
	if avail[len(avail)-1] != SetPortable {
		t.Fatalf("KernelSets %v: portable must be last", avail)
	}
	if s, err := chooseKernelSet(""); s != avail[0] || err != nil {
		t.Errorf("no choice: %q, %v; want %q", s, err, avail[0])
	}
	for _, want := range avail {
		if s, err := chooseKernelSet(want); s != want || err != nil {
			t.Errorf("%s: %q, %v", want, s, err)
		}
	}
	bad := map[string][]string{"avx": allKernelSets, "AVX2 ": allKernelSets} // each wrong name and the sets its error lists
	for _, s := range allKernelSets {
		if !slices.Contains(avail, s) {
			bad[s] = avail
		}
	}
	for want, list := range bad {
		s, err := chooseKernelSet(want)
		if err == nil || !strings.Contains(err.Error(), KernelSetEnv) || !strings.Contains(err.Error(), strings.Join(list, ", ")) {
			t.Errorf("%q: %v; want an error naming %s and %v", want, err, KernelSetEnv, list)
		}
		if s != avail[0] {
			t.Errorf("%q: falls back to %q, want %q", want, s, avail[0])
		}
	}
}
