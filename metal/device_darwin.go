//go:build darwin

package metal

import "errors"

// NewDevice opens the system's Metal GPU through purego/objc. The Objective-C bindings
// are issue 5's work; until they land, the kernels can be checked under the simulator.
func NewDevice() (Device, error) {
	return nil, errors.New("metal: the GPU device bindings are not implemented yet; use --backend metal-sim")
}
