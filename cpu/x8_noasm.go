//go:build noasm || !(amd64 || arm64)

package cpu

import "github.com/inferno-go/inferno/tensor"

// No assembly kernels in this build: every weight type takes the portable row-by-row
// path, and the F32 loops are Go, so the kernels below are unreachable.
var x8Kernels = map[tensor.DType]int{}

const useF32Asm = false

func dotF32Asm(a, b *float32, n int) float32         { panic("no assembly") }
func axpyF32Asm(alpha float32, x, y *float32, n int) { panic("no assembly") }

const useF16Asm = false

const useQ8KAsm = false

func quantizeQ8_KAsm(x *float32, nsb int, dst *byte) { panic("no assembly") }

func dotF16Asm(n int, w, a *byte) float32  { panic("no assembly") }
func dotBF16Asm(n int, w, a *byte) float32 { panic("no assembly") }

func quantizeQ8_0X8(x []float32, nb int, dst []byte, sc []float32, sstride int) {
	quantizeQ8_0X8Go(x, nb, dst, sc, sstride)
}

func dotQ4_0x8(nb int, w *byte, sa *float32, a *byte, out *float32) { panic("no assembly") }
func dotQ4_0x8x4(nb int, w *byte, sa *float32, a *byte, astride int, out *float32, ostride int) {
	panic("no assembly")
}
func dotQ8_0x8(nb int, w *byte, as *float32, a *byte, out *float32) { panic("no assembly") }
func dotQ8_0x8x4(nb int, w *byte, as *float32, a *byte, astride int, out *float32, ostride int) {
	panic("no assembly")
}
func dotQ4Kx8(nsb int, w *byte, a *byte, bs *int16, out *float32) { panic("no assembly") }
func dotQ4Kx8x2(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int) {
	panic("no assembly")
}
func dotQ5Kx8(nsb int, w *byte, a *byte, bs *int16, out *float32) { panic("no assembly") }
func dotQ6Kx8(nsb int, w *byte, a *byte, c *int16, out *float32)  { panic("no assembly") }
func dotQ5Kx8x2(nsb int, w *byte, a *byte, astride int, bs *int16, out *float32, ostride int) {
	panic("no assembly")
}
func dotQ6Kx8x2(nsb int, w *byte, a *byte, astride int, c *int16, out *float32, ostride int) {
	panic("no assembly")
}
func dotQ3Kx8(nsb int, w *byte, a *byte, c *int16, out *float32)     { panic("no assembly") }
func dotQ2Kx8(nsb int, w *byte, a *byte, c *int16, out *float32)     { panic("no assembly") }
func dotIQ4NLx8(nb int, w *byte, as *float32, a *byte, out *float32) { panic("no assembly") }
func dotIQ4XSx8(nsb int, w *byte, a *byte, out *float32)             { panic("no assembly") }
func dotQ5_0x8(nb int, w *byte, sa *float32, a *byte, out *float32)  { panic("no assembly") }
func dotQ4_1x8(nb int, w *byte, ds *float32, a *byte, out *float32)  { panic("no assembly") }
func dotQ5_1x8(nb int, w *byte, ds *float32, a *byte, out *float32)  { panic("no assembly") }
