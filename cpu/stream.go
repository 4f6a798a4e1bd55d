package cpu

// StreamSum returns the (wrapping) sum of p's words, read with the widest loads the
// CPU has. bench measures the memory read bandwidth with it: the ceiling that
// generation, which streams every weight once per token, is compared against.
func StreamSum(p []uint64) uint64 {
	n := 0
	var s uint64
	if useAVX2 {
		n = len(p) &^ 15
		if n > 0 {
			s = streamSumAVX2(&p[0], n)
		}
	}
	var s0, s1, s2, s3 uint64
	i := n
	for ; i+4 <= len(p); i += 4 {
		s0 += p[i]
		s1 += p[i+1]
		s2 += p[i+2]
		s3 += p[i+3]
	}
	for ; i < len(p); i++ {
		s0 += p[i]
	}
	return s + s0 + s1 + s2 + s3
}
