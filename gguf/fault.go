package gguf

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"unsafe"
)

// ErrChanged is wrapped by the error of a read of tensor data from a file that was
// truncated after Open mapped it.
var ErrChanged = errors.New("model file changed on disk")

// CatchFault turns a fault reading f's mapping into an error. Code that reads tensor
// data defers it with its goroutine's previous fault setting:
//
//	defer f.CatchFault(&err, debug.SetPanicOnFault(true))
//
// A read of a page past the end of a file truncated after Open raises SIGBUS, which
// would kill the process; under SetPanicOnFault it panics, and CatchFault sets *errp to
// an error wrapping ErrChanged that names the file. Other panics go on. Reads on other
// goroutines need their own guard (the CPU backend's pool raises its workers' panics
// again in the caller).
func (f *File) CatchFault(errp *error, panicOnFault bool) {
	debug.SetPanicOnFault(panicOnFault)
	r := recover()
	if r == nil {
		return
	}
	if err := f.faultError(r); err != nil {
		*errp = err
		return
	}
	panic(r)
}

// faultError is the error for panic value r when it is a fault inside f's mapping.
func (f *File) faultError(r any) error {
	err, ok := r.(error)
	var rt runtime.Error
	if !ok || !errors.As(err, &rt) || f == nil || len(f.data) == 0 {
		return nil
	}
	changed := fmt.Errorf("%w: %s is shorter than when it was opened (%d bytes)", ErrChanged, f.path, len(f.data))
	var fault interface{ Addr() uintptr }
	if errors.As(err, &fault) {
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(f.data)))
		if a := fault.Addr(); a >= lo && a-lo < uintptr(len(f.data)) {
			return changed
		}
		return nil
	}
	// Some platforms (qemu-user) report the fault without its address: then it is the
	// file's if the file is now shorter than the mapping.
	if st, err := os.Stat(f.path); err == nil && st.Size() < int64(len(f.data)) &&
		strings.Contains(rt.Error(), "invalid memory address") {
		return changed
	}
	return nil
}
