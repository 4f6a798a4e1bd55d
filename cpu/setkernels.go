package cpu

// setKernels are one kernel set's row-by-row F16/BF16 dots and activation quantizers
// (setKernelsOf); a nil field means the set runs the portable Go code for it.
type setKernels struct {
	// dotF16 and dotBF16 are the row-by-row kernels of F16 and BF16 weights: Σ
	// float32(w[i])*float32(a[i]) over n fp16 or bfloat16 values.
	dotF16, dotBF16 func(n int, w, a []byte) float32
	// q8_0 is tensor.QuantizeQ8_0Act for nb blocks of x into dst, also writing each
	// block's scale as float32 to sc[i*sstride] and, when sstride is 2, 8·Σq as an int32
	// after it (a q8ScaleSum).
	q8_0 func(x *float32, nb int, dst *byte, sc *float32, sstride int)
	// q8_1 is tensor.QuantizeQ8_1Act for nb blocks of x into dst, also writing each
	// block's d and s as float32 to ds[2i], ds[2i+1] (a q8_1Scale).
	q8_1 func(x *float32, nb int, dst *byte, ds *float32)
	// f16 is tensor.QuantizeF16 for n (a multiple of 8) floats of x into dst.
	f16 func(x *float32, n int, dst *byte)
	// q8K is tensor.QuantizeQ8_K for nsb super-blocks of x into dst.
	q8K func(x *float32, nsb int, dst *byte)
}
