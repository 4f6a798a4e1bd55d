package metal

import (
	"os"
	"strconv"
	"strings"
)

// physicalMemory is the machine's memory in bytes (Linux /proc/meminfo; 16 GiB when
// it cannot be read).
func physicalMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 16 << 30
}
