package cuda

import (
	"errors"
	"testing"
)

// TestDevicesWith: every device is described; no device (cuInit's
// CUDA_ERROR_NO_DEVICE, or a count of 0) is ErrNoDevice with the driver's message
// kept, and other failures are not.
func TestDevicesWith(t *testing.T) {
	drv := newFakeGPU().driver()
	drv.DeviceGetCount = func(n *int32) cuResult { *n = 2; return 0 }
	l, err := devicesWith(drv)
	if err != nil || len(l) != 2 || l[0].Name != "Fake GPU 0" || l[1].Name != "Fake GPU 1" || l[0].ComputeCapability() != "9.0" || l[0].TotalMemory != 1<<30 || l[0].Driver() != "13.0" || l[0].MemoryBandwidth != 2*3_201_000e3*6144/8 {
		t.Errorf("devices %+v, %v", l, err)
	}

	f := newFakeGPU()
	f.fail["cuInit"] = 100
	_, err = devicesWith(f.driver())
	if !errors.Is(err, ErrNoDevice) || err.Error() != "cuda: cuInit: CUDA_ERROR_NO_DEVICE" {
		t.Errorf("cuInit without a device: %v (ErrNoDevice: %v)", err, errors.Is(err, ErrNoDevice))
	}
	drv = newFakeGPU().driver()
	drv.DeviceGetCount = func(n *int32) cuResult { *n = 0; return 0 }
	if _, err := openWith(drv, 0, nil); !errors.Is(err, ErrNoDevice) {
		t.Errorf("no devices: %v, want ErrNoDevice", err)
	}
	if _, err := openWith(newFakeGPU().driver(), 1, nil); err == nil || errors.Is(err, ErrNoDevice) {
		t.Errorf("device 1 of 1: %v, want an error that is not ErrNoDevice", err)
	}
	f = newFakeGPU()
	f.fail["cuModuleLoadData"] = 218
	if _, err := openWith(f.driver(), 0, nil); err == nil || errors.Is(err, ErrNoDevice) || errors.Is(err, ErrNoDriver) {
		t.Errorf("bad PTX: %v, want an error that is neither ErrNoDevice nor ErrNoDriver", err)
	}
}
