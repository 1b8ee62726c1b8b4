// Package typednil holds the one check, for package callback and its
// worker, of a value that is nil inside an interface: a nil *sagemaker.Client
// given as an API, a nil pointer returned as an error, a nil provider.
package typednil

import "reflect"

// Is reports whether v is nil, or holds a nil pointer, map, slice, func,
// chan or interface: a value whose methods may dereference nil.
func Is(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}
