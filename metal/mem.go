package metal

import "github.com/inferno-go/inferno/internal/machine"

// physicalMemory is the machine's memory in bytes (16 GiB when it cannot be read).
func physicalMemory() int64 {
	if m := machine.Memory(); m > 0 {
		return m
	}
	return 16 << 30
}
