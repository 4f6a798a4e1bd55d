package cuda

import "encoding/binary"

// The launch geometry of every CUDA kernel, in one place (as metal/launch.go): each
// function returns a kernel's Dispatch — its name, its parameters in order (buffers as
// pointers, the argument struct by value, laid out as the shared .metal source declares
// it), the grid and the block size. A kernel shared with Metal keeps Metal's geometry.

// packArgs lays out an argument struct (C layout: callers add padding fields).
func packArgs(fields ...any) Arg {
	var out []byte
	for _, f := range fields {
		out, _ = binary.Append(out, binary.LittleEndian, f)
	}
	return Arg{Bytes: out}
}

// LaunchRMSNorm: y = rmsnorm(x) * w over rows of cols; one warp per row.
func LaunchRMSNorm(x, w, y Arg, rows, cols int, eps float32) Dispatch {
	return Dispatch{Kernel: "rms_norm", Args: []Arg{x, w, y, packArgs(int32(cols), eps)},
		Grid: [3]int{rows, 1, 1}, Threads: [3]int{32, 1, 1}}
}

// LaunchArgmax writes the index of each row's largest value (the first on ties) to
// out; one warp per row.
func LaunchArgmax(x, out Arg, rows, cols int) Dispatch {
	return Dispatch{Kernel: "argmax", Args: []Arg{x, out, packArgs(int32(cols))},
		Grid: [3]int{rows, 1, 1}, Threads: [3]int{32, 1, 1}}
}
