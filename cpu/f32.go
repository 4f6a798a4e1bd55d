package cpu

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
