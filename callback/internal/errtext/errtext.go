package errtext

import (
	"fmt"
	"reflect"
)

// Of returns err.Error(), or "" for a nil error. When Error panics (a nil
// pointer whose Error method dereferences it, or any other panic), Of returns
// a text that says so instead: "error of type *pkg.MyErr (a nil pointer): its
// Error method panicked: runtime error: ...". A panic value that cannot be
// printed either is named by its type. A runtime.Goexit in Error is not
// stopped.
func Of(err error) (text string) {
	if err == nil {
		return ""
	}
	defer func() {
		if r := recover(); r != nil {
			what := fmt.Sprintf("%T", err)
			if v := reflect.ValueOf(err); v.Kind() == reflect.Pointer && v.IsNil() {
				what += " (a nil pointer)"
			}
			text = fmt.Sprintf("error of type %s: its Error method panicked: %s", what, sprint(r))
		}
	}()
	return err.Error()
}

// sprint returns fmt.Sprint(v), or "a T" with v's type when printing v
// panics beyond what fmt recovers (an Error or String method that panics
// with a value whose own method panics).
func sprint(v any) (s string) {
	defer func() {
		if recover() != nil {
			s = fmt.Sprintf("a %T", v)
		}
	}()
	return fmt.Sprint(v)
}
