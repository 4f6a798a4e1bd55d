//go:build !noasm

package cpu

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestAMXQ4_0Unpack: the Q4_0 AMX kernel's unpacking (its macro, alone in
// amxQ4_0UnpackAsm, which needs AVX-512BW, not AMX) writes amxQ4_0Unpack's bytes, so
// that of that kernel only the tile instructions are left to the AMX host.
func TestAMXQ4_0Unpack(t *testing.T) {
	if !hasAVX512VNNI {
		t.Skip("SKIP: no AVX-512 here to run the unpacking with")
	}
	r := rand.New(rand.NewPCG(31, 31))
	q := make([]byte, 128)
	for range 20 {
		for i := range q {
			q[i] = byte(r.Uint32())
		}
		var wq [256]int8
		amxQ4_0UnpackAsm(&q[0], &wq[0])
		got := unsafe.Slice((*byte)(unsafe.Pointer(&wq[0])), 256)
		if want := amxQ4_0Unpack(q); !bytes.Equal(got, want) {
			t.Fatalf("nibbles % x\nunpacked % x\nwant     % x", q, got, want)
		}
	}
}
