// Shared by the package's AVX2 kernels (the *_amd64.s files). The constants ·nibmask
// (0x0F bytes) and ·ones16 (1 words) are defined in const_amd64.s.

// PFDIST is how far ahead (bytes) the decode kernels prefetch their weight stream: the
// hardware prefetcher alone leaves a core well short of the memory bandwidth while the
// kernel computes (BenchmarkMatVec: about +50% for Q4_K with two threads; 2048 and
// 3072 were slower than 1024 for the q4x8 and q8x8 kernels in a 7-run A/B).
#define PFDIST 1024
