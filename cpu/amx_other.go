//go:build noasm || !linux || !amd64

package cpu

// hasAMXInt8: the avx512amx set needs Linux on amd64 (its permission to use the tiles)
// and an assembly build.
const hasAMXInt8 = false
