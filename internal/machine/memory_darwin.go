package machine

import (
	"encoding/binary"
	"syscall"
)

func physicalMemory() int64 {
	s, err := syscall.Sysctl("hw.memsize")
	if err != nil {
		return 0
	}
	// Sysctl returns the uint64 as a string with its trailing zero bytes cut off.
	var b [8]byte
	copy(b[:], s)
	return int64(binary.LittleEndian.Uint64(b[:]))
}
