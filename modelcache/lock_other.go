//go:build !linux && !darwin

package modelcache

import "os"

// lockPart opens (creating) the .part file at path. Only Linux and macOS (the
// supported platforms) lock it against a concurrent pull of the same file.
func lockPart(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}
