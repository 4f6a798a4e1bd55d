package cuda

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
)

// The kernels' parameter lists are read from the PTX itself, so Run can check a
// dispatch's arguments against the kernel it launches: the driver copies each parameter
// by the kernel's sizes and would read past a short argument struct silently.

var (
	reEntry = regexp.MustCompile(`(?s)\.entry\s+(\w+)\s*\((.*?)\)`)
	reParam = regexp.MustCompile(`\.param\s+(?:\.align\s+\d+\s+)?\.[bsuf](\d+)\s+\w+(?:\[(\d+)\])?`)
)

// ptxParams maps each entry point of a PTX module to its parameters' sizes in bytes.
func ptxParams(ptx []byte) (map[string][]int, error) {
	out := map[string][]int{}
	for _, e := range reEntry.FindAllSubmatch(ptx, -1) {
		var sizes []int
		for _, p := range reParam.FindAllSubmatch(e[2], -1) {
			bits, _ := strconv.Atoi(string(p[1]))
			n := 1
			if len(p[2]) > 0 {
				n, _ = strconv.Atoi(string(p[2]))
			}
			sizes = append(sizes, bits/8*n)
		}
		if want := bytes.Count(e[2], []byte(".param")); len(sizes) != want {
			return nil, fmt.Errorf("cuda: PTX entry %s: read %d of its %d parameters", e[1], len(sizes), want)
		}
		out[string(e[1])] = sizes
	}
	return out, nil
}

// checkParams compares x's arguments with the kernel's parameter sizes: a buffer is
// a 64-bit pointer, a value must have its parameter's size.
func checkParams(x Dispatch, sizes []int) error {
	if len(x.Args) != len(sizes) {
		return fmt.Errorf("cuda: %s: %d arguments, the kernel takes %d", x.Kernel, len(x.Args), len(sizes))
	}
	for i, a := range x.Args {
		switch {
		case a.Buf != nil && sizes[i] != 8:
			return fmt.Errorf("cuda: %s: argument %d is a buffer, the kernel's parameter is %d bytes, not a pointer", x.Kernel, i, sizes[i])
		case a.Buf == nil && len(a.Bytes) != sizes[i]:
			return fmt.Errorf("cuda: %s: argument %d: %d value bytes, the kernel's parameter has %d", x.Kernel, i, len(a.Bytes), sizes[i])
		}
	}
	return nil
}
