// Package machine reports what this computer can hold: its physical memory and the
// most worker threads a setting may ask for. Settings are checked against it before
// anything they size is allocated.
package machine

import "runtime"

// Memory is the machine's physical memory in bytes, 0 when it cannot be read.
func Memory() int64 { return physicalMemory() }

// MaxThreads is the most worker threads a setting may ask for: more than one per
// core only slows a spinning pool down, and a huge count is a typo whose goroutines
// would exhaust memory before the first token.
func MaxThreads() int { return max(1024, runtime.NumCPU()) }
