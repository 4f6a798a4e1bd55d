package cuda

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/kernels"
	"github.com/inferno-go/inferno/metal"
)

func TestPTXParams(t *testing.T) {
	got, err := ptxParams([]byte(fakePTX))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{"copy": {8, 8, 4}, "fill": {8, 8}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ptxParams = %v, want %v", got, want)
	}
	bad := ".visible .entry odd(\n\t.param .u64 .ptr .global odd_param_0\n)\n"
	if _, err := ptxParams([]byte(bad)); err == nil || !strings.Contains(err.Error(), "entry odd: read 0 of its 1 parameters") {
		t.Errorf("unreadable parameter: %v", err)
	}
}

// TestLaunchMatchesPTX: every launch function's dispatch fits its kernel's parameters
// in the committed PTX, and every kernel of the PTX has a launch function here.
func TestLaunchMatchesPTX(t *testing.T) {
	params, err := ptxParams(kernels.PTX())
	if err != nil {
		t.Fatal(err)
	}
	buf := metal.Arg{Buf: &gpuBuffer{size: 4}}
	launched := map[string]bool{}
	for _, md := range []metal.Dispatch{
		metal.LaunchRMSNorm(buf, buf, buf, 2, 64, 1e-5),
		metal.LaunchArgmax(buf, buf, 2, 64),
	} {
		d, err := Convert(md)
		if err != nil {
			t.Fatal(err)
		}
		launched[d.Kernel] = true
		sizes, ok := params[d.Kernel]
		if !ok {
			t.Errorf("%s: no such entry point in kernels.PTX()", d.Kernel)
			continue
		}
		if err := checkParams(d, sizes); err != nil {
			t.Error(err)
		}
	}
	var missing []string
	for k := range params {
		if !launched[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("kernels without a launch function checked here: %v", missing)
	}
}
