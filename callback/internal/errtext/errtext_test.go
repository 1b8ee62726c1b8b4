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
		{"panic value that panics with itself", selfPanic{}, []string{"error of type errtext_test.selfPanic: its Error method panicked: a errtext_test.selfPanic"}},
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
