package typednil_test

import (
	"errors"
	"testing"

	"github.com/stepcallback/sagemaker-callback/callback/internal/typednil"
)

type ptrErr struct{}

func (*ptrErr) Error() string { return "ptr" }

type funcErr func() string

func (f funcErr) Error() string { return f() }

func TestIs(t *testing.T) {
	var (
		p  *ptrErr
		m  map[string]int
		s  []int
		f  funcErr
		ch chan int
	)
	for _, c := range []struct {
		name string
		v    any
		want bool
	}{
		{"nil", nil, true},
		{"nil pointer", p, true},
		{"nil pointer as error", error(p), true},
		{"nil map", m, true},
		{"nil slice", s, true},
		{"nil func", f, true},
		{"nil chan", ch, true},
		{"pointer", &ptrErr{}, false},
		{"value", errors.New("x"), false},
		{"struct", struct{}{}, false},
		{"int", 0, false},
		{"empty slice", []int{}, false},
	} {
		if got := typednil.Is(c.v); got != c.want {
			t.Errorf("%s: Is = %v, want %v", c.name, got, c.want)
		}
	}
}
