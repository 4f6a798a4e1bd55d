//go:build !linux

package cpu

// mapWeights: other systems keep repacked weights on the Go heap.
func mapWeights(n int) (buf, mapping []byte) { return nil, nil }

func unmapWeights(m []byte) {}

// releasePages: only Linux hands the file's pages of repacked weights back.
func releasePages(b []byte) {}
