// Shared by the package's AVX2 kernels (the *_amd64.s files). The constants ·nibmask
// (0x0F bytes) and ·ones16 (1 words) are defined in const_amd64.s.

// PFDIST is how far ahead (bytes) the decode kernels prefetch their weight stream: the
// hardware prefetcher alone leaves a core well short of the memory bandwidth while the
// kernel computes (the distance was chosen by BenchmarkMatVec, docs/bench.md).
#define PFDIST 1024

// KX8FINISH ends a super-block of the one-token q4kx8/q5kx8 kernels (SI the group's
// super-block, DI the Q8_K block, BX its eight sub-block sums, Y10 Σ_j sc·Σ q·a per row):
// Y0 += d_a·(d·Y10 − dmin·Σ_j m_j·bs_j). Clobbers Y2, Y3, Y11..Y13.
#define KX8FINISH \
	VPMOVZXBW 128(SI), Y2 \
	VPBROADCASTD 0(BX), Y3 \
	VPMADDWD Y3, Y2, Y11 \
	VPMOVZXBW 144(SI), Y2 \
	VPBROADCASTD 4(BX), Y3 \
	VPMADDWD Y3, Y2, Y2 \
	VPADDD Y2, Y11, Y11 \
	VPMOVZXBW 160(SI), Y2 \
	VPBROADCASTD 8(BX), Y3 \
	VPMADDWD Y3, Y2, Y2 \
	VPADDD Y2, Y11, Y11 \
	VPMOVZXBW 176(SI), Y2 \
	VPBROADCASTD 12(BX), Y3 \
	VPMADDWD Y3, Y2, Y2 \
	VPADDD Y2, Y11, Y11 \
	VBROADCASTSS (DI), Y12 \
	VCVTDQ2PS Y10, Y10 \
	VCVTDQ2PS Y11, Y11 \
	VMULPS (SI), Y12, Y13 \
	VFMADD231PS Y10, Y13, Y0 \
	VMULPS 32(SI), Y12, Y13 \
	VFNMADD231PS Y11, Y13, Y0
