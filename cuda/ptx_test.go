package cuda

import (
	"reflect"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/kernels"
	"github.com/inferno-go/inferno/metal"
	"github.com/inferno-go/inferno/tensor"
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

// TestCheckParamsOnPTX: the parameter table Run checks dispatches against is read from
// the committed PTX, and metal's launches pass it (metal's TestLaunchMatchesPTX holds
// every launch function to the PTX; this checks the reader and checkParams on it).
func TestCheckParamsOnPTX(t *testing.T) {
	params, err := ptxParams(kernels.PTX())
	if err != nil {
		t.Fatal(err)
	}
	buf := metal.Arg{Buf: &gpuBuffer{size: 4}}
	for _, md := range []metal.Dispatch{
		metal.LaunchRMSNorm(buf, buf, buf, 2, 64, 1e-5),
		metal.LaunchArgmax(buf, buf, 2, 64),
		metal.LaunchMatVec(tensor.Q4_K, buf, buf, buf, 8, 256, 1),
	} {
		d, err := Convert(md)
		if err != nil {
			t.Fatal(err)
		}
		sizes, ok := params[d.Kernel]
		if !ok {
			t.Errorf("%s: no such entry point in kernels.PTX()", d.Kernel)
			continue
		}
		if err := checkParams(d, sizes); err != nil {
			t.Error(err)
		}
		d.Args = d.Args[:len(d.Args)-1]
		if err := checkParams(d, sizes); err == nil {
			t.Errorf("%s: a dispatch missing its last argument passed", d.Kernel)
		}
	}
}
