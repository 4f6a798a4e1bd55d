//go:build !linux

package cuda

import (
	"fmt"
	"runtime"
)

// loadDriver: only Linux's libcuda.so.1 is loaded so far (nvcuda.dll is to come).
func loadDriver() (*driver, error) {
	return nil, fmt.Errorf("%w: the CUDA driver is loaded on Linux only (this is %s)", ErrNoDriver, runtime.GOOS)
}
