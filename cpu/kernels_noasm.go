//go:build noasm || !(amd64 || arm64)

package cpu

// No assembly in this build: every weight type takes the portable row-by-row path (no
// interleaved layout's kernel file is built), and the F32 loops are Go, so the kernels
// below are unreachable.

const hasX8Kernels = false

const useF32Asm = false

func dotF32Asm(a, b *float32, n int) float32         { panic("no assembly") }
func axpyF32Asm(alpha float32, x, y *float32, n int) { panic("no assembly") }

// setKernelsOf: no set of this build has assembly row dots or quantizers.
func setKernelsOf(string) setKernels { return setKernels{} }

const hasNEONDot = false

const hasAVX512BF16 = false

// asmBuild: this build has assembly kernels (it may still find the CPU without them).
const asmBuild = false
