//go:build !linux

package cpu

// mapWeights: other systems keep repacked weights on the Go heap.
func mapWeights(n int) (buf, mapping []byte) { return nil, nil }

func unmapWeights(m []byte) {}
