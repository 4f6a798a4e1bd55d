package sim

import "fmt"

// Tracked is a buffer under the device contract both simulator devices keep (Metal's
// and cuda-sim's): it counts the recorded, unsynced dispatches that bind it, and a
// Release while they are pending frees it only when the last of them is retired. The
// caller holds its device's lock around every method.
type Tracked struct {
	B        *Buffer
	uses     int    // recorded, unsynced dispatches binding it
	first    string // the kernel of the first of them
	released bool
}

// Bind counts a recorded dispatch of kernel that binds t.
func (t *Tracked) Bind(kernel string) {
	if t.uses == 0 {
		t.first = kernel
	}
	t.uses++
}

// Unbind ends one recorded dispatch's claim on t (it ran, or was dropped).
func (t *Tracked) Unbind() {
	t.uses--
	if t.uses == 0 && t.released {
		t.B.Free()
	}
}

// Release frees t now, or when its last pending dispatch is retired.
func (t *Tracked) Release() {
	if t.released {
		return
	}
	t.released = true
	if t.uses == 0 {
		t.B.Free()
	}
}

// Pending is the kernel of the first unsynced dispatch binding t, "" when none.
func (t *Tracked) Pending() string {
	if t.uses == 0 {
		return ""
	}
	return t.first
}

// CheckAccess says what is wrong with a host op (read, write) of n bytes at off:
// the buffer is released, or the range is outside it.
func (t *Tracked) CheckAccess(op string, off, n int) error {
	size := len(t.B.Data)
	switch {
	case t.released:
		return fmt.Errorf("%s of a released buffer", op)
	case off < 0 || off > size || n > size-off:
		return fmt.Errorf("%s of %d bytes at offset %d: outside the buffer's %d bytes", op, n, off, size)
	}
	return nil
}

// CheckArg says what is wrong with binding t at off as argument i of kernel.
func (t *Tracked) CheckArg(kernel string, i, off int) error {
	switch {
	case t.released:
		return fmt.Errorf("%s: argument %d is a released buffer", kernel, i)
	case off < 0 || off >= len(t.B.Data):
		return fmt.Errorf("%s: argument %d: offset %d outside the buffer's %d bytes", kernel, i, off, len(t.B.Data))
	}
	return nil
}
