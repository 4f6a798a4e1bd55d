//go:build linux || darwin

package modelcache

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockPart opens (creating) the .part file at path and takes an exclusive lock on it
// for this process; errBusy when another pull holds it. The kernel drops the lock
// when the process dies, so no stale lock outlives a crash.
func lockPart(path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, errBusy
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// The pull that held the lock may have renamed or removed this file before
		// releasing it; then lock the file that path names now.
		locked, err1 := f.Stat()
		current, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(locked, current) {
			return f, nil
		}
		f.Close()
		if err1 != nil {
			return nil, err1
		}
	}
}
