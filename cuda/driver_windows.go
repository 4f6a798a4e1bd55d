package cuda

import (
	"fmt"

	"github.com/ebitengine/purego"
	"golang.org/x/sys/windows"
)

// loadDriver opens nvcuda.dll (installed with the NVIDIA driver, in System32; only
// there, so no DLL of the same name elsewhere on the search path is loaded) and binds the
// same entry points as on Linux: the driver API's names, _v2 ones included, are the same.
func loadDriver() (*driver, error) {
	h, err := windows.LoadLibraryEx("nvcuda.dll", 0, windows.LOAD_LIBRARY_SEARCH_SYSTEM32)
	if err != nil {
		return nil, fmt.Errorf("%w: nvcuda.dll: %v", ErrNoDriver, err)
	}
	d := &driver{}
	for _, s := range symbols {
		if _, err := windows.GetProcAddress(h, s.name); err != nil {
			return nil, fmt.Errorf("%w: nvcuda.dll has no %s (driver too old?)", ErrNoDriver, s.name)
		}
		purego.RegisterLibFunc(s.fn(d), uintptr(h), s.name)
	}
	return d, nil
}
