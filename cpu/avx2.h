// Shared by the package's AVX2 kernels (the *_amd64.s files). The constants ·nibmask
// (0x0F bytes) and ·ones16 (1 words) are defined in dot_amd64.s.

// HSUMSTORE stores the sum of acc's eight floats at dst; xacc is acc's low half and tmp
// an X register it may clobber.
#define HSUMSTORE(acc, xacc, tmp, dst) \
	VEXTRACTF128 $1, acc, tmp \
	VADDPS tmp, xacc, xacc \
	VHADDPS xacc, xacc, xacc \
	VHADDPS xacc, xacc, xacc \
	VMOVSS xacc, dst

// PFDIST is how far ahead (bytes) the decode kernels prefetch their weight stream: the
// hardware prefetcher alone leaves a core well short of the memory bandwidth while the
// kernel computes (BenchmarkMatVec: about +50% for Q4_K with two threads).
#define PFDIST 1024
