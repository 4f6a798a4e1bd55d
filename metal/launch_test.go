package metal_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/inferno-go/inferno/backend"
	"github.com/inferno-go/inferno/kernels"
	"github.com/inferno-go/inferno/metal"
)

// TestLaunchMatchesPTX: every Dispatch of launch.go can drive the CUDA kernel of the same
// name: kernels.PTX() has the entry point, one parameter per Arg, a pointer (.u64) for a
// buffer and a value of exactly len(Bytes) bytes for inline arguments, and no dynamic
// threadgroup memory (the CUDA entry points declare theirs statically).
func TestLaunchMatchesPTX(t *testing.T) {
	params := map[string][]string{}
	for _, m := range regexp.MustCompile(`\.visible \.entry (\w+)\(([^)]*)\)`).FindAllStringSubmatch(string(kernels.PTX()), -1) {
		for _, p := range strings.Split(m[2], ",") {
			if p = strings.TrimSpace(p); p != "" {
				params[m[1]] = append(params[m[1]], p)
			}
		}
	}
	buf := metal.Arg{Off: 0}
	rp := backend.RopeParams{NHead: 4, HeadDim: 64, Dims: 64, Base: 10000}
	ap := backend.AttentionParams{NHead: 4, NKVHead: 2, HeadDim: 64, Scale: 0.125}
	ds := []metal.Dispatch{
		metal.LaunchRMSNorm(buf, buf, buf, 2, 64, 1e-5),
		metal.LaunchRope(buf, buf, 3, rp),
		metal.LaunchAdd(buf, buf, buf, 100),
		metal.LaunchSwiGLU(buf, buf, buf, 100),
		metal.LaunchArgmax(buf, buf, 1, 100),
		metal.LaunchKVStore(buf, buf, buf, buf, buf, 3, 128, 4096),
		metal.LaunchAttnPrefill(buf, buf, buf, buf, buf, 3, ap, 4096),
		metal.LaunchRopeKV(buf, buf, buf, buf, buf, buf, 1, rp, ap, 4096),
	}
	dec := metal.LaunchAttnDecode(buf, buf, buf, buf, buf, buf, ap, 70, 4096)
	ds = append(ds, dec[0], dec[1],
		metal.LaunchAttnFlash(buf, buf, buf, buf, buf, 3, ap, 4096),
		metal.LaunchAttnFlashMMA(buf, buf, buf, buf, buf, 3, ap, 4096),
		metal.LaunchAttnDecodeOne(buf, buf, buf, buf, buf, buf, ap, 70, 4096))
	for _, ty := range metal.WeightTypes() {
		ds = append(ds, metal.LaunchGetRows(ty, buf, buf, buf, 2, 256),
			metal.LaunchMatVec(ty, buf, buf, buf, 16, 256, 1),
			metal.LaunchMatMul(ty, buf, buf, buf, 64, 256, 40),
			metal.LaunchMatMulMMA(ty, buf, buf, buf, 64, 256, 40),
			metal.LaunchMatVecFused(metal.MatVecFused{Type: ty, W: [3]metal.Arg{buf, buf}, Rows: [3]int{16, 16}, X: buf, Y: [3]metal.Arg{buf},
				Cols: 256, Tokens: 1, Flags: metal.FusedNorm, Eps: 1e-5}))
	}
	reValue := regexp.MustCompile(`^\.param (?:\.align \d+ \.b8 \w+\[(\d+)\]|\.[usbf]32 \w+)$`)
	for _, d := range ds {
		ps, ok := params[d.Kernel]
		if !ok {
			t.Errorf("%s: no entry point in kernels.PTX()", d.Kernel)
			continue
		}
		if len(ps) != len(d.Args) {
			t.Errorf("%s: %d arguments, %d PTX parameters", d.Kernel, len(d.Args), len(ps))
			continue
		}
		for i, a := range d.Args {
			if a.Bytes == nil {
				if !strings.HasPrefix(ps[i], ".param .u64 ") {
					t.Errorf("%s: argument %d is a buffer, PTX parameter %q", d.Kernel, i, ps[i])
				}
				continue
			}
			m := reValue.FindStringSubmatch(ps[i])
			size := 4
			if m != nil && m[1] != "" {
				size, _ = strconv.Atoi(m[1])
			}
			if m == nil || size != len(a.Bytes) {
				t.Errorf("%s: argument %d is %d bytes, PTX parameter %q", d.Kernel, i, len(a.Bytes), ps[i])
			}
		}
		if len(d.Threadgroup) != 0 {
			t.Errorf("%s: dynamic threadgroup memory, which the CUDA entry points do not take", d.Kernel)
		}
	}
}
