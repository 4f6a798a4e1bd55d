package cuda

import (
	"fmt"

	"github.com/ebitengine/purego"
)

// loadDriver opens libcuda.so.1 (installed with the NVIDIA driver) and binds its
// entry points.
func loadDriver() (*driver, error) {
	h, err := purego.Dlopen("libcuda.so.1", purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDriver, err)
	}
	d := &driver{}
	for _, s := range symbols {
		if _, err := purego.Dlsym(h, s.name); err != nil {
			return nil, fmt.Errorf("%w: libcuda.so.1 has no %s (driver too old?)", ErrNoDriver, s.name)
		}
		purego.RegisterLibFunc(s.fn(d), h, s.name)
	}
	return d, nil
}
