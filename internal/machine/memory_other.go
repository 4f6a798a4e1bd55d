//go:build !linux && !darwin

package machine

func physicalMemory() int64 { return 0 }
