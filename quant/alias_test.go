package quant

import "github.com/inferno-go/inferno/tensor"

type tensorDType = tensor.DType

const f32 = tensor.F32
