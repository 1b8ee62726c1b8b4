package callback_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/validate"
)

func TestParseReason(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		rule validate.Rule
	}{
		{"empty", "", true, ""},
		{"short", "disk full", true, ""},
		{"max ASCII", strings.Repeat("a", 256), true, ""},
		{"max+1 ASCII", strings.Repeat("a", 257), false, validate.RuleLength},
		{"max 2-byte", strings.Repeat("é", 256), true, ""},
		{"max+1 2-byte", strings.Repeat("é", 257), false, validate.RuleLength},
		{"max 4-byte", strings.Repeat("😀", 256), true, ""}, // 512 UTF-16 units, 1024 bytes
		{"max+1 4-byte", strings.Repeat("😀", 257), false, validate.RuleLength},
		{"NUL", "a\x00b", true, ""},
		{"trailing newline", "disk full\n", true, ""},
		{"5000 chars", strings.Repeat("x", 5000), false, validate.RuleLength},
		{"invalid UTF-8", "bad \xff byte", false, validate.RuleUTF8},
		{"surrogate", "a\xed\xa0\x80b", false, validate.RuleUTF8},
		{"truncated sequence", "a\xe2\x82", false, validate.RuleUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := callback.ParseReason(tt.in)
			if tt.ok {
				if err != nil || r.String() != tt.in {
					t.Fatalf("ParseReason: %q, %v", r.String(), err)
				}
				return
			}
			var ve *validate.Error
			if !errors.As(err, &ve) || ve.Rule != tt.rule || ve.Field != "FailureReason" || !errors.Is(err, callback.ErrInvalid) {
				t.Fatalf("ParseReason error = %v, want FailureReason %s", err, tt.rule)
			}
			if tt.rule == validate.RuleLength && (ve.Max != 256 || ve.Len != utf8.RuneCountInString(tt.in)) {
				t.Errorf("limits: Max %d Len %d", ve.Max, ve.Len)
			}
		})
	}
}

func TestReasonZero(t *testing.T) {
	var zero callback.Reason
	r, err := callback.ParseReason("")
	if err != nil || r != zero || !r.IsZero() {
		t.Errorf("ParseReason(\"\") = %v, %v; want the zero Reason", r, err)
	}
	if callback.ReasonFromError(nil) != zero {
		t.Error("ReasonFromError(nil) is not the zero Reason")
	}
}

func TestNewReasonKeepsShortText(t *testing.T) {
	for _, s := range []string{"", "disk full", strings.Repeat("é", 256), strings.Repeat("a", 256)} {
		if got := callback.NewReason(s).String(); got != s {
			t.Errorf("NewReason(%d chars) changed the text", utf8.RuneCountInString(s))
		}
	}
}

func TestNewReasonRepairsUTF8(t *testing.T) {
	got := callback.NewReason("bad \xff\xfe byte").String()
	if !utf8.ValidString(got) || got != "bad \uFFFD byte" {
		t.Errorf("NewReason repaired to %q", got)
	}
}

func TestNewReasonCuts(t *testing.T) {
	root := errors.New("ROOT CAUSE: no space left on device")
	err := fmt.Errorf("train model job-42: %w", root)
	for i := 0; i < 40; i++ {
		err = fmt.Errorf("layer %02d of context that is long and boring: %w", i, err)
	}
	err = fmt.Errorf("OUTER OPERATION: %w", err)
	for _, in := range []string{
		err.Error(),
		strings.Repeat("é", 257),
		strings.Repeat("😀", 10000),
		strings.Repeat("a", 300) + "\xff" + strings.Repeat("b", 300),
		strings.Repeat("x", 10_000),
	} {
		r := callback.NewReason(in)
		s := r.String()
		n := utf8.RuneCountInString(s)
		if !utf8.ValidString(s) || n != callback.MaxReasonLen {
			t.Errorf("NewReason(%d bytes): %d code points, valid %v; want exactly 256", len(in), n, utf8.ValidString(s))
		}
		if _, err := callback.ParseReason(s); err != nil {
			t.Errorf("NewReason's result fails ParseReason: %v", err)
		}
		if !strings.Contains(s, "chars cut]") {
			t.Errorf("no visible marker in %q", s)
		}
	}
	s := callback.ReasonFromError(err).String()
	if !strings.HasPrefix(s, "OUTER OPERATION: ") {
		t.Errorf("the head (the failed operation) is lost: %q", s)
	}
	if !strings.HasSuffix(s, "ROOT CAUSE: no space left on device") {
		t.Errorf("the tail (the root cause) is lost: %q", s)
	}
	// The marker counts what was cut.
	total := utf8.RuneCountInString(err.Error())
	var cut int
	if _, err := fmt.Sscanf(s[strings.Index(s, "…[")+len("…["):], "%d chars cut", &cut); err != nil {
		t.Fatalf("marker unreadable in %q: %v", s, err)
	}
	kept := utf8.RuneCountInString(s) - utf8.RuneCountInString(fmt.Sprintf(" …[%d chars cut]… ", cut))
	if kept+cut != total {
		t.Errorf("marker says %d cut, kept %d, total %d", cut, kept, total)
	}
}

func TestParseReasonNoAllocs(t *testing.T) {
	s := strings.Repeat("é", 256)
	if n := testing.AllocsPerRun(100, func() { _, _ = callback.ParseReason(s) }); n != 0 {
		t.Errorf("ParseReason allocates %v times per call, want 0", n)
	}
}

func refReason(s string) bool { return utf8.ValidString(s) && utf8.RuneCountInString(s) <= 256 }

func FuzzParseReason(f *testing.F) {
	for _, s := range []string{"", "disk full", strings.Repeat("é", 256), strings.Repeat("é", 257), "a\xffb", "a\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := callback.ParseReason(s)
		if ok := err == nil; ok != refReason(s) {
			t.Fatalf("ParseReason(%q) ok=%v, reference disagrees", s, ok)
		}
		if err == nil && r.String() != s {
			t.Fatalf("round trip %q -> %q", s, r.String())
		}
		var back callback.Reason
		if err == nil {
			if err := back.UnmarshalText([]byte(r.String())); err != nil || back != r {
				t.Fatalf("UnmarshalText round trip: %v", err)
			}
		}
	})
}

func FuzzNewReason(f *testing.F) {
	for _, s := range []string{"", "disk full", strings.Repeat("é", 300), "a\xffb", strings.Repeat("ab: ", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := callback.NewReason(s)
		if !refReason(r.String()) {
			t.Fatalf("NewReason(%q) = %q, which the model refuses", s, r.String())
		}
		if refReason(s) && r.String() != s {
			t.Fatalf("NewReason changed a valid reason %q to %q", s, r.String())
		}
	})
}

type derefErr struct{ msg string }

func (e *derefErr) Error() string { return e.msg }

type panicErr struct{ v any }

func (e panicErr) Error() string { panic(e.v) }

// TestReasonFromErrorNeverPanics: a typed nil and an Error method that
// panics (even with a value that cannot be printed) give a Reason that says what happened, bounded like any Reason.
func TestReasonFromErrorNeverPanics(t *testing.T) {
	var typedNil *derefErr
	for _, c := range []struct {
		err  error
		want string
	}{
		{typedNil, "error of type *callback_test.derefErr (a nil pointer): its Error method panicked: runtime error"},
		{panicErr{"boom"}, "error of type callback_test.panicErr: its Error method panicked: boom"},
		{panicErr{strings.Repeat("x", 10000)}, "error of type callback_test.panicErr: its Error method panicked: …[9829 chars cut]… xxx"},
		{fmt.Errorf("job: %w", typedNil), "job: <nil>"}, // fmt catches the panic itself
		// a panic value whose Error panics too: fmt cannot print it either
		{panicErr{panicErr{panicErr{"x"}}}, "error of type callback_test.panicErr: its Error method panicked: a value of type callback_test.panicErr that cannot be printed"},
	} {
		r := callback.ReasonFromError(c.err)
		if !strings.HasPrefix(r.String(), c.want) {
			t.Errorf("ReasonFromError(%T) = %q, want it to start with %q", c.err, r, c.want)
		}
		if _, err := callback.ParseReason(r.String()); err != nil {
			t.Errorf("ReasonFromError(%T) is not a valid reason: %v", c.err, err)
		}
	}
}
