package sim

// The simulator runs on Linux and macOS only (its kernels are a shared object loaded
// with dlopen, its buffers mmap'ed with a guard page): on Windows every entry point
// says so, so the packages that offer it (metal-sim, cuda-sim) build and report why.
const supported = false

func openLibrary(string) (uintptr, error) { return 0, errUnsupported }

// NewBuffer fails: there is no simulator on Windows.
func NewBuffer(int) (*Buffer, error) { return nil, errUnsupported }

// Free does nothing (no buffer is ever made).
func (b *Buffer) Free() {}
