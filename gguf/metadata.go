package gguf

import "fmt"

// Lookup returns the value of key.
func (f *File) Lookup(key string) (Value, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return Value{}, false
	}
	return f.KVs[i].Value, true
}

// Has reports whether key is present.
func (f *File) Has(key string) bool { _, ok := f.kvIndex[key]; return ok }

// Arch is general.architecture ("llama").
func (f *File) Arch() (string, error) { return f.String("general.architecture") }

func (f *File) typed(key string, want string, get func(Value) (any, bool)) (any, error) {
	i, ok := f.kvIndex[key]
	if !ok {
		return nil, fmt.Errorf("gguf: key %s: %w", key, ErrNotFound)
	}
	kv := f.KVs[i]
	x, ok := get(kv.Value)
	if !ok {
		return nil, &FormatError{Offset: kv.Offset, Field: key, Reason: fmt.Sprintf("expected %s, found %s", want, kv.Value.TypeName())}
	}
	return x, nil
}

func scalarGetter[T any](v Value) (any, bool) { x, ok := v.v.(T); return x, ok }

func get[T any](f *File, key, want string) (T, error) {
	x, err := f.typed(key, want, scalarGetter[T])
	if err != nil {
		var zero T
		return zero, err
	}
	return x.(T), nil
}

// getOr returns def when key is absent and an error when it has the wrong type.
func getOr[T any](f *File, key, want string, def T) (T, error) {
	if !f.Has(key) {
		return def, nil
	}
	return get[T](f, key, want)
}

// Typed accessors: the key must exist and hold exactly this type; the error names the
// key, the expected and the found type.

func (f *File) Uint32(key string) (uint32, error) { return get[uint32](f, key, "uint32") }
func (f *File) String(key string) (string, error) { return get[string](f, key, "string") }
func (f *File) Strings(key string) ([]string, error) {
	return get[[]string](f, key, "array[string]")
}
func (f *File) Float32s(key string) ([]float32, error) {
	return get[[]float32](f, key, "array[float32]")
}
func (f *File) Int32s(key string) ([]int32, error) { return get[[]int32](f, key, "array[int32]") }

// Optional variants: def when the key is absent, an error when its type is wrong.

func (f *File) Float32Or(key string, def float32) (float32, error) {
	return getOr(f, key, "float32", def)
}
func (f *File) BoolOr(key string, def bool) (bool, error) { return getOr(f, key, "bool", def) }
func (f *File) StringOr(key string, def string) (string, error) {
	return getOr(f, key, "string", def)
}

// Int reads any integer-typed key as int64 (writers disagree on uint32 vs int32 vs uint64
// for some keys).
func (f *File) Int(key string) (int64, error) {
	x, err := f.typed(key, "an integer", func(v Value) (any, bool) { return v.Int() })
	if err != nil {
		return 0, err
	}
	return x.(int64), nil
}

// IntOr is Int with a default for an absent key.
func (f *File) IntOr(key string, def int64) (int64, error) {
	if !f.Has(key) {
		return def, nil
	}
	return f.Int(key)
}
