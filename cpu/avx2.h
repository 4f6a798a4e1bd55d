// Shared by the package's AVX2 kernels (the *_amd64.s files). The constants ·nibmask
// (0x0F bytes), ·eights (8 bytes) and ·ones16 (1 words) are defined in dot_amd64.s.

// HSUMSTORE stores the sum of acc's eight floats at dst; xacc is acc's low half and tmp
// an X register it may clobber.
#define HSUMSTORE(acc, xacc, tmp, dst) \
	VEXTRACTF128 $1, acc, tmp \
	VADDPS tmp, xacc, xacc \
	VHADDPS xacc, xacc, xacc \
	VHADDPS xacc, xacc, xacc \
	VMOVSS xacc, dst
