package tensor

import "math/bits"

// ksignsIQ2XS is ggml's ksigns_iq2xs, shared by the i-quants that store eight signs in seven
// bits: entry i holds the seven stored signs in its low bits and an eighth that makes the
// number of negative signs even.
var ksignsIQ2XS = func() (t [128]uint8) {
	for i := range t {
		t[i] = uint8(i) | uint8(bits.OnesCount8(uint8(i))&1)<<7
	}
	return t
}()
