package main

import (
	"encoding/json"
	"math"
)

// JSON has no NaN or infinity (encoding/json refuses to write them), yet a broken model
// or file holds them: output that may carry them writes NaN, +Inf and -Inf as the
// strings "NaN", "+Inf" and "-Inf", and finite numbers as encoding/json does.
const nonFiniteJSONHelp = `JSON has no NaN or infinity: such values are written as the strings "NaN", "+Inf" and "-Inf".`

// nonFinite returns the string a NaN or infinite x is written as.
func nonFinite(x float64) (string, bool) {
	switch {
	case math.IsNaN(x):
		return "NaN", true
	case math.IsInf(x, 1):
		return "+Inf", true
	case math.IsInf(x, -1):
		return "-Inf", true
	}
	return "", false
}

// jsonFloat32 and jsonFloat64 marshal NaN and infinities as strings.
type (
	jsonFloat32 float32
	jsonFloat64 float64
)

func (f jsonFloat32) MarshalJSON() ([]byte, error) {
	if s, ok := nonFinite(float64(f)); ok {
		return json.Marshal(s)
	}
	return json.Marshal(float32(f))
}

func (f jsonFloat64) MarshalJSON() ([]byte, error) {
	if s, ok := nonFinite(float64(f)); ok {
		return json.Marshal(s)
	}
	return json.Marshal(float64(f))
}

// jsonFloats32 converts xs for output.
func jsonFloats32(xs []float32) []jsonFloat32 {
	out := make([]jsonFloat32, len(xs))
	for i, x := range xs {
		out[i] = jsonFloat32(x)
	}
	return out
}

// jsonSafe returns v with every float32 and float64 in it (also inside []any) made a
// jsonFloat32 or jsonFloat64, for values of any type such as GGUF metadata.
func jsonSafe(v any) any {
	switch x := v.(type) {
	case float32:
		return jsonFloat32(x)
	case float64:
		return jsonFloat64(x)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = jsonSafe(x[i])
		}
		return out
	}
	return v
}
