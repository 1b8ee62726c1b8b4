package errtext

import (
	"fmt"

	"github.com/stepcallback/sagemaker-callback/callback/internal/typednil"
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
			if typednil.Is(err) {
				what += " (a nil pointer)"
			}
			text = fmt.Sprintf("error of type %s: its Error method panicked: %s", what, sprint(r))
		}
	}()
	return err.Error()
}

// Value returns the text of any value, such as one given to panic: Of(v)
// for an error, its String method's text for a fmt.Stringer, fmt.Sprint(v)
// otherwise. When a String method panics, the text says so, as Of's does;
// when even printing the panic's value panics, the text names its type.
func Value(v any) string {
	switch v := v.(type) {
	case error:
		return Of(v)
	case fmt.Stringer:
		return str(v)
	}
	return sprint(v)
}

// str returns v.String(), or a text that says it panicked.
func str(v fmt.Stringer) (text string) {
	defer func() {
		if r := recover(); r != nil {
			text = fmt.Sprintf("value of type %T: its String method panicked: %s", v, sprint(r))
		}
	}()
	return v.String()
}

// sprint returns fmt.Sprint(v), or names v's type when that panics (fmt
// recovers a panicking String method, but not one whose panic value's String
// panics in turn).
func sprint(v any) (text string) {
	defer func() {
		if recover() != nil {
			text = fmt.Sprintf("a value of type %T that cannot be printed", v)
		}
	}()
	return fmt.Sprint(v)
}
