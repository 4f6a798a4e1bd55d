package cpu

import (
	"fmt"
	"os"
	"strings"
)

// Kernel sets: the families of assembly kernels a machine may run, chosen once at start
// by CPU feature, best first, and overridable with INFERNO_CPU_KERNELS (A/B runs and
// tests). A set names how the interleaved layouts are multiplied; a type without kernels
// of the chosen set takes the next set's (an AVX-512 machine runs AVX2 kernels for the
// types that have no AVX-512 ones), and "portable" is the Go path of the noasm build.
const (
	SetAVX512AMX  = "avx512amx"  // amd64 on Linux: AMX-INT8 tiles for prompts, avx512vnni for the rest
	SetAVX512VNNI = "avx512vnni" // amd64: VPDPBUSD (AVX512-VNNI with AVX512VL) on the AVX2 layouts, AVX-512 F16/BF16 rows and quantizers
	SetAVX2       = "avx2"       // amd64: AVX2, FMA, F16C
	SetNEON       = "neon"       // arm64: NEON with the dot-product extension
	SetPortable   = "portable"   // plain Go, as built with -tags noasm
)

// KernelSetEnv is the variable that overrides the choice.
const KernelSetEnv = "INFERNO_CPU_KERNELS"

var allKernelSets = []string{SetAVX512AMX, SetAVX512VNNI, SetAVX2, SetNEON, SetPortable}

// KernelSets lists the sets this build can run on this CPU, best first; the last is
// always portable.
func KernelSets() []string {
	var s []string
	if hasAMXInt8 {
		s = append(s, SetAVX512AMX)
	}
	if hasAVX512VNNI {
		s = append(s, SetAVX512VNNI)
	}
	if useAVX2 {
		s = append(s, SetAVX2)
	}
	if hasNEONDot {
		s = append(s, SetNEON)
	}
	return append(s, SetPortable)
}

// kernelSet is the set New's backends run; kernelSetErr says why INFERNO_CPU_KERNELS
// could not be followed (kernelSet is then the best set).
var kernelSet, kernelSetErr = chooseKernelSet(os.Getenv(KernelSetEnv))

func chooseKernelSet(want string) (string, error) {
	avail := KernelSets()
	if want == "" {
		return avail[0], nil
	}
	for _, s := range avail {
		if s == want {
			return s, nil
		}
	}
	for _, s := range allKernelSets {
		if s == want {
			return avail[0], fmt.Errorf("%s=%s: this build or CPU cannot run it (it can: %s)", KernelSetEnv, want, strings.Join(avail, ", "))
		}
	}
	return avail[0], fmt.Errorf("%s=%q: not a kernel set (%s)", KernelSetEnv, want, strings.Join(allKernelSets, ", "))
}

// KernelSet names the kernel set New's backends run; the error says why
// INFERNO_CPU_KERNELS named another, which a program should refuse (the set is then
// the best this machine has).
func KernelSet() (string, error) { return kernelSet, kernelSetErr }

// AVX512BF16 reports whether the avx512vnni set multiplies BF16 rows with VDPBF16PS
// (AVX512-BF16, which not every AVX-512 VNNI CPU has); without it the set widens them
// to float32 for FMA.
func AVX512BF16() bool { return hasAVX512BF16 }
