//go:build noasm || !amd64

package cpu

const useAVX2 = false

func dotQ8_0AVX2(nb int, w, a *byte) float32 { panic("no assembly") }
func dotQ4_0AVX2(nb int, w, a *byte) float32 { panic("no assembly") }
func dotQ4KRAVX2(nb int, w, a *byte) float32 { panic("no assembly") }
func dotQ6KRAVX2(nb int, w, a *byte) float32 { panic("no assembly") }
