package typednil

import "reflect"

// Is reports whether v is nil, or holds a nil pointer, map, slice, func or
// chan: a value whose methods may dereference nil. (An interface value held
// in v is v's dynamic value: reflect never sees it as an interface.)
func Is(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}
