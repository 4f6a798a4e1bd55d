package kernels

import (
	"os"
	"slices"
	"strings"
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
	// quants.metal holds the shared decoders every other file uses; matvec_fused.metal
	// builds on matvec.metal's wide_dot, rope_kv.metal on rope.metal's rope_pair,
	// attention_flash.metal on attention.metal's attn_score, attention_flash_mma.metal on
	// both and on matmul_mma.metal's mma wrappers (the library concatenates them in this
	// order: Sources' after)
	uses := map[string][]string{"matvec_fused.metal": {"matvec.metal"}, "rope_kv.metal": {"rope.metal"},
		"attention_flash.metal": {"attention.metal"}, "attention_flash_mma.metal": {"attention.metal", "attention_flash.metal", "matmul_mma.metal"}}
	for _, n := range order {
		src := m[n]
		for _, u := range slices.Backward(uses[n]) {
			src = m[u] + "\n" + src
		}
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
	want := []string{"rms_norm", "rope", "attn_partial", "attn_merge", "attn_prefill", "kv_store", "add", "swiglu", "argmax", "rms_norm_wide", "attn_flash", "attn_decode", "rope_kv", "attn_flash_mma"}
	for _, typ := range WeightTypes() {
		want = append(want, "get_rows_"+typ, "matvec_"+typ, "matvec_wide_"+typ, "matmul_"+typ, "matmul_mma_"+typ, "matvec_fused_"+typ)
	}
	if len(WeightTypes()) == 0 {
		t.Error("no struct blk_<type> found in quants.metal")
	}
	for _, k := range want {
		if _, ok := lib.Kernels[k]; !ok {
			t.Errorf("kernel %s missing", k)
		}
	}
	t.Logf("%d kernels", len(lib.Kernels))
}

// TestInstantiate: a per-type kernel template gets one host name per type; plain
// kernels and other templates get none.
func TestInstantiate(t *testing.T) {
	src := "template <typename B>\nkernel void dot(device const uchar * w [[buffer(0)]]) {}\n" +
		"kernel void plain(device float * y [[buffer(0)]]) {}\n" +
		"template <int N> inline int helper() { return N; }\n"
	got := instantiate(src, []string{"q4_0", "new_t"})
	for _, want := range []string{"typedef decltype(dot<blk_q4_0>) dot_t;",
		`template [[host_name("dot_q4_0")]] kernel dot_t dot<blk_q4_0>;`,
		`template [[host_name("dot_new_t")]] kernel dot_t dot<blk_new_t>;`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "plain") || strings.Contains(got, "helper") {
		t.Errorf("instantiated a kernel that is not per-type:\n%s", got)
	}
}
