//go:build !linux && !windows

package cuda

import (
	"fmt"
	"runtime"
)

// loadDriver: the CUDA driver is Linux's libcuda.so.1 and Windows' nvcuda.dll; macOS
// has none.
func loadDriver() (*driver, error) {
	return nil, fmt.Errorf("%w: the CUDA driver exists on Linux and Windows only (this is %s)", ErrNoDriver, runtime.GOOS)
}
