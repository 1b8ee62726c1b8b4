package errtext

import (
	"fmt"
	"reflect"
)

// Of returns err.Error(), or "" for a nil error. When Error panics (a nil
// pointer whose Error method dereferences it, or any other panic), Of returns
// a text that says so instead: "error of type *pkg.MyErr (a nil pointer): its
// Error method panicked: runtime error: ...". A runtime.Goexit in Error is
// not stopped.
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
			text = fmt.Sprintf("error of type %s: its Error method panicked: %v", what, r)
		}
	}()
	return err.Error()
}
