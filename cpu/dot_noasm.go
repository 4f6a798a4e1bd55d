//go:build noasm || !amd64

package cpu

// The AVX2-only kernels (attention, exp, F32 dots, the bandwidth probe) are unreachable
// here: useAVX2 is false.

const useAVX2 = false

const hasAVX512VNNI = false

func dotF32AVX2(a, b *float32, n int) float32         { panic("no assembly") }
func axpyF32AVX2(alpha float32, x, y *float32, n int) { panic("no assembly") }

func expSubAVX2(x *float32, n int, m float32) int { panic("no assembly") }

func streamSumAVX2(p *uint64, n int) uint64 { panic("no assembly") }

func attnScoresAVX2(q, k *float32, kstride, n, hd int, scale float32, out *float32) {
	panic("no assembly")
}
func attnValuesAVX2(p, v *float32, vstride, n, hd int, out *float32) { panic("no assembly") }
func scaleRoundF16AVX2(x *float32, n int, s float32)                 { panic("no assembly") }

func quantizeQ8_KAVX2(x *float32, nsb int, dst *byte) { panic("no assembly") }

func quantizeQ8_0AVX2(x *float32, nb int, dst *byte, sc *float32, sstride int) { panic("no assembly") }
