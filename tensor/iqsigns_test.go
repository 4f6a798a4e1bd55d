package tensor

import "testing"

// The first and last rows of ggml-common.h's ksigns_iq2xs.
func TestKSignsIQ2XS(t *testing.T) {
	first := []uint8{0, 129, 130, 3, 132, 5, 6, 135, 136, 9, 10, 139, 12, 141, 142, 15}
	for i, want := range first {
		if ksignsIQ2XS[i] != want {
			t.Fatalf("ksignsIQ2XS[%d] = %d, want %d", i, ksignsIQ2XS[i], want)
		}
	}
	if ksignsIQ2XS[127] != 255 || ksignsIQ2XS[126] != 126 {
		t.Fatalf("ksignsIQ2XS[126:] = %v, want [126 255]", ksignsIQ2XS[126:])
	}
}
