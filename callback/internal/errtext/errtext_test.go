package errtext_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stepcallback/sagemaker-callback/callback/internal/errtext"
)

type derefErr struct{ msg string }

func (e *derefErr) Error() string { return e.msg }

type panicErr struct{}

func (panicErr) Error() string { panic("boom") }

// panicPanic panics with a value whose own Error method panics.
type panicPanic struct{}

func (panicPanic) Error() string { panic(panicErr{}) }

// selfPanic's Error panics with itself: fmt cannot print the panic's value,
// and panics in turn.
type selfPanic struct{}

func (selfPanic) Error() string { panic(selfPanic{}) }

func TestOf(t *testing.T) {
	var typedNil *derefErr
	for _, c := range []struct {
		name string
		err  error
		want []string
	}{
		{"nil", nil, []string{""}},
		{"plain", errors.New("disk full"), []string{"disk full"}},
		{"typed nil", typedNil, []string{"error of type *errtext_test.derefErr (a nil pointer): its Error method panicked: runtime error: invalid memory address or nil pointer dereference"}},
		{"panicking Error", panicErr{}, []string{"error of type errtext_test.panicErr: its Error method panicked: boom"}},
		{"panic value that panics", panicPanic{}, []string{"error of type errtext_test.panicPanic: its Error method panicked:", "PANIC="}},
		{"panic value that panics with itself", selfPanic{}, []string{"error of type errtext_test.selfPanic: its Error method panicked: a value of type errtext_test.selfPanic that cannot be printed"}},
		{"wrapped typed nil", errors.Join(errors.New("a"), typedNil), []string{"its Error method panicked"}},
	} {
		got := errtext.Of(c.err)
		for _, w := range c.want {
			if w == "" && got != "" || !strings.Contains(got, w) {
				t.Errorf("%s: Of = %q, want it to hold %q", c.name, got, w)
			}
		}
	}
}

// nestedStringer's String panics with a value whose String panics: fmt
// recovers the first panic but not the second.
type nestedStringer struct{}

func (nestedStringer) String() string { panic(stringer{}) }

type stringer struct{}

func (stringer) String() string { panic("bad string") }

// panicNested's Error panics with such a value.
type panicNested struct{}

func (panicNested) Error() string { panic(nestedStringer{}) }

func TestValue(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"string", "boom", "boom"},
		{"error", errors.New("disk full"), "disk full"},
		{"panicking String", stringer{}, "value of type errtext_test.stringer: its String method panicked: bad string"},
		{"nested panicking String", nestedStringer{}, "value of type errtext_test.nestedStringer: its String method panicked: %!v(PANIC=String method: bad string)"},
		{"Error panicking with a nested value", panicNested{}, "error of type errtext_test.panicNested: its Error method panicked: a value of type errtext_test.nestedStringer that cannot be printed"},
	} {
		if got := errtext.Value(c.v); got != c.want {
			t.Errorf("%s: Value = %q, want %q", c.name, got, c.want)
		}
	}
}
