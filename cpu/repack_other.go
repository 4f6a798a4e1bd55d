//go:build noasm || !amd64

package cpu

const useRepackAsm = false

func transposeX8(out *byte, src *byte, srcStride, n int) { panic("no assembly") }
