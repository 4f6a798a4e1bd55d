//go:build !darwin

package metal

import "errors"

// NewDevice opens the system's Metal GPU; Metal exists only on macOS.
func NewDevice() (Device, error) {
	return nil, errors.New("metal: Metal is only available on macOS")
}
