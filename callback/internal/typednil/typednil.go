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
