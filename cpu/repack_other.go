//go:build noasm || !amd64

package cpu

const useRepackAsm = false

func transposeX8(out *byte, outStep int, src *byte, srcStride, srcStep, n int) {
	panic("no assembly")
}

func transposeX8Half(out *byte, outStep int, src *byte, srcStride, srcStep, n int) {
	panic("no assembly")
}
