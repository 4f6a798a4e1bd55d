package cpu

import "encoding/binary"

// dotF32s is Σ a[i]*b[i] over len(a) elements (assembly when available).
func (b *Backend) dotF32s(x, y []float32) float32 {
	if useF32Asm && !b.noAsm && len(x) > 0 {
		return dotF32Asm(&x[0], &y[0], len(x))
	}
	return dotF32(x, y)
}

// axpy is y += alpha*x.
func (b *Backend) axpy(alpha float32, x, y []float32) {
	if useF32Asm && !b.noAsm && len(x) > 0 {
		axpyF32Asm(alpha, &x[0], &y[0], len(x))
		return
	}
	for i, v := range x {
		y[i] += alpha * v
	}
}

// fmaAxpy is y[i] = fma(x[i], alpha, y[i]): one rounding per element, as the assembly
// axpy kernels (VFMADD231PS, FMLA) do, so that both paths give the same bits.
func (b *Backend) fmaAxpy(alpha float32, x, y []float32) {
	if useF32Asm && !b.noAsm && len(x) > 0 {
		axpyF32Asm(alpha, &x[0], &y[0], len(x))
		return
	}
	for i, v := range x {
		y[i] = fma32(v, alpha, y[i])
	}
}

// dotHalf is a dot product of n 2-byte floats (F16 or BF16, conv's format): kern over
// the first n&^7, the rest in Go.
func dotHalf(kern func(n int, w, a *byte) float32, conv func(uint16) float32, n int, w, a []byte) float32 {
	m := n &^ 7
	var s float32
	if m > 0 {
		s = kern(m, &w[0], &a[0])
	}
	for i := m; i < n; i++ {
		s += conv(binary.LittleEndian.Uint16(w[2*i:])) * conv(binary.LittleEndian.Uint16(a[2*i:]))
	}
	return s
}

// dotHalf64 is dotHalf as ggml_vec_dot_f16/bf16 end: kern (returning its float64 sum)
// over the first n&^(step-1), the leftovers' float32 products added in float64, the
// sum rounded to float32 last.
func dotHalf64(kern func(n int, w, a *byte) float64, step int, conv func(uint16) float32, n int, w, a []byte) float32 {
	m := n &^ (step - 1)
	var s float64
	if m > 0 {
		s = kern(m, &w[0], &a[0])
	}
	for i := m; i < n; i++ {
		s += float64(conv(binary.LittleEndian.Uint16(w[2*i:])) * conv(binary.LittleEndian.Uint16(a[2*i:])))
	}
	return float32(s)
}
