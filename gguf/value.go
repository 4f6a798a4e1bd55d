package gguf

import (
	"fmt"
	"math"
)

// ValueType is a GGUF metadata value type.
type ValueType uint32

// The 13 GGUF metadata value types, numbered as in the GGUF specification.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
	"bool", "string", "array", "uint64", "int64", "float64"}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// size is the encoded size of a scalar of type t (0 for string and array).
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// minSize is the fewest bytes one encoded value of type t can take.
func (t ValueType) minSize() int {
	switch t {
	case TypeString:
		return 8
	case TypeArray:
		return 12
	}
	return t.size()
}

// Value is one metadata value. Scalars hold the Go type of the same name (uint8 ...
// float64, bool, string); arrays hold a typed slice ([]uint32, []string, ...), or
// []Value for arrays of arrays.
type Value struct {
	Type ValueType
	Elem ValueType // element type when Type is TypeArray
	v    any
}

// Any returns the Go value: a scalar, a typed slice, or []Value.
func (v Value) Any() any { return v.v }

// Len is the number of elements of an array value (0 for scalars).
func (v Value) Len() int {
	if v.Type != TypeArray {
		return 0
	}
	switch a := v.v.(type) {
	case []uint8:
		return len(a)
	case []int8:
		return len(a)
	case []uint16:
		return len(a)
	case []int16:
		return len(a)
	case []uint32:
		return len(a)
	case []int32:
		return len(a)
	case []float32:
		return len(a)
	case []bool:
		return len(a)
	case []string:
		return len(a)
	case []uint64:
		return len(a)
	case []int64:
		return len(a)
	case []float64:
		return len(a)
	case []Value:
		return len(a)
	}
	return 0
}

// TypeName describes the type: "uint32", "array[string]".
func (v Value) TypeName() string {
	if v.Type == TypeArray {
		return "array[" + v.Elem.String() + "]"
	}
	return v.Type.String()
}

// Int returns an integer value of any integer type as int64; ok is false for other
// types and for uint64 values above MaxInt64.
func (v Value) Int() (int64, bool) {
	switch x := v.v.(type) {
	case uint8:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

// Float returns a float32 or float64 value as float64.
func (v Value) Float() (float64, bool) {
	switch x := v.v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// String formats the value; arrays longer than 8 elements are shortened.
func (v Value) String() string {
	if v.Type == TypeArray {
		return formatArray(v, 8)
	}
	if s, ok := v.v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v.v)
}

func formatArray(v Value, limit int) string {
	n := v.Len()
	s := "["
	for i := 0; i < n && i < limit; i++ {
		if i > 0 {
			s += ", "
		}
		s += v.Index(i).String()
	}
	if n > limit {
		s += fmt.Sprintf(", ... (%d more)", n-limit)
	}
	return s + "]"
}

// Index returns element i of an array value.
func (v Value) Index(i int) Value {
	switch a := v.v.(type) {
	case []uint8:
		return Value{Type: TypeUint8, v: a[i]}
	case []int8:
		return Value{Type: TypeInt8, v: a[i]}
	case []uint16:
		return Value{Type: TypeUint16, v: a[i]}
	case []int16:
		return Value{Type: TypeInt16, v: a[i]}
	case []uint32:
		return Value{Type: TypeUint32, v: a[i]}
	case []int32:
		return Value{Type: TypeInt32, v: a[i]}
	case []float32:
		return Value{Type: TypeFloat32, v: a[i]}
	case []bool:
		return Value{Type: TypeBool, v: a[i]}
	case []string:
		return Value{Type: TypeString, v: a[i]}
	case []uint64:
		return Value{Type: TypeUint64, v: a[i]}
	case []int64:
		return Value{Type: TypeInt64, v: a[i]}
	case []float64:
		return Value{Type: TypeFloat64, v: a[i]}
	case []Value:
		return a[i]
	}
	panic("gguf: Index on a non-array value")
}

// NewValue wraps a Go value: one of the scalar types above, a slice of them, or
// []Value (an array of arrays, all of one element type).
func NewValue(x any) (Value, error) {
	switch a := x.(type) {
	case uint8:
		return Value{Type: TypeUint8, v: a}, nil
	case int8:
		return Value{Type: TypeInt8, v: a}, nil
	case uint16:
		return Value{Type: TypeUint16, v: a}, nil
	case int16:
		return Value{Type: TypeInt16, v: a}, nil
	case uint32:
		return Value{Type: TypeUint32, v: a}, nil
	case int32:
		return Value{Type: TypeInt32, v: a}, nil
	case float32:
		return Value{Type: TypeFloat32, v: a}, nil
	case bool:
		return Value{Type: TypeBool, v: a}, nil
	case string:
		return Value{Type: TypeString, v: a}, nil
	case uint64:
		return Value{Type: TypeUint64, v: a}, nil
	case int64:
		return Value{Type: TypeInt64, v: a}, nil
	case float64:
		return Value{Type: TypeFloat64, v: a}, nil
	case []uint8:
		return Value{Type: TypeArray, Elem: TypeUint8, v: a}, nil
	case []int8:
		return Value{Type: TypeArray, Elem: TypeInt8, v: a}, nil
	case []uint16:
		return Value{Type: TypeArray, Elem: TypeUint16, v: a}, nil
	case []int16:
		return Value{Type: TypeArray, Elem: TypeInt16, v: a}, nil
	case []uint32:
		return Value{Type: TypeArray, Elem: TypeUint32, v: a}, nil
	case []int32:
		return Value{Type: TypeArray, Elem: TypeInt32, v: a}, nil
	case []float32:
		return Value{Type: TypeArray, Elem: TypeFloat32, v: a}, nil
	case []bool:
		return Value{Type: TypeArray, Elem: TypeBool, v: a}, nil
	case []string:
		return Value{Type: TypeArray, Elem: TypeString, v: a}, nil
	case []uint64:
		return Value{Type: TypeArray, Elem: TypeUint64, v: a}, nil
	case []int64:
		return Value{Type: TypeArray, Elem: TypeInt64, v: a}, nil
	case []float64:
		return Value{Type: TypeArray, Elem: TypeFloat64, v: a}, nil
	case []Value:
		for i := range a {
			if a[i].Type != TypeArray || (i > 0 && a[i].Elem != a[0].Elem) {
				return Value{}, fmt.Errorf("gguf: an array of arrays needs arrays of one element type (element %d is %s)", i, a[i].TypeName())
			}
		}
		return Value{Type: TypeArray, Elem: TypeArray, v: a}, nil
	}
	return Value{}, fmt.Errorf("gguf: no GGUF value type for Go type %T", x)
}

// MustValue is NewValue for values known to be valid; it panics otherwise.
func MustValue(x any) Value {
	v, err := NewValue(x)
	if err != nil {
		panic(err)
	}
	return v
}
