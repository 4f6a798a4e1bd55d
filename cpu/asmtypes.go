package cpu

import "github.com/inferno-go/inferno/tensor"

// AssemblyTypes lists, in tensor.AllTypes order, the weight types whose matrix products
// run assembly kernels in this build on this CPU (`inferno system` reports it): those
// with an interleaved layout kernel (x8Types), and F32, F16 and BF16 where their dot
// products are assembly. It is empty with the noasm tag or the portable kernel set.
func AssemblyTypes() []tensor.DType {
	if kernelSet == SetPortable {
		return nil
	}
	var ts []tensor.DType
	sk := setKernelsOf(kernelSet)
	for _, t := range tensor.AllTypes() {
		x8 := x8Types[t] != nil && x8Types[t].kern != nil
		half := t == tensor.F16 && sk.dotF16 != nil || t == tensor.BF16 && sk.dotBF16 != nil
		if x8 || half || (t == tensor.F32 && useF32Asm) {
			ts = append(ts, t)
		}
	}
	return ts
}
