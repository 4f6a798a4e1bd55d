package kernels

import (
	"os"
	"testing"

	"github.com/inferno-go/inferno/metal/sim"
)

// TestAddressSpaces runs the address-space check over every .metal file.
func TestAddressSpaces(t *testing.T) {
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	m, order := Sources()
	// quants.metal holds the shared decoders every other file uses
	for _, n := range order {
		src := m[n]
		if n != "quants.metal" {
			src = m["quants.metal"] + "\n" + src
		}
		if err := sim.CheckAddressSpaces(n, src); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

func TestBuild(t *testing.T) {
	if _, err := sim.Compiler(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP: %v", err)
	}
	m, order := Sources()
	lib, err := sim.Load(m, order)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"matvec_q4_k", "matmul_q6_k", "get_rows_iq4_xs", "rms_norm", "rope", "attn_partial",
		"attn_merge", "attn_prefill", "kv_store", "add", "swiglu", "argmax"} {
		if _, ok := lib.Kernels[k]; !ok {
			t.Errorf("kernel %s missing", k)
		}
	}
	t.Logf("%d kernels", len(lib.Kernels))
}
