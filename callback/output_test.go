package callback_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/validate"
)

func TestNewOutput(t *testing.T) {
	tests := []struct {
		name, n, v string
		field      string
		rule       validate.Rule
	}{
		{"empty both", "", "", "", ""},
		{"typical", "model_uri", "s3://bucket/key", "", ""},
		{"max name", strings.Repeat("n", 256), "v", "", ""},
		{"max+1 name", strings.Repeat("n", 257), "v", "Name", validate.RuleLength},
		{"max value", "n", strings.Repeat("v", 1024), "", ""},
		{"max+1 value", "n", strings.Repeat("v", 1025), "Value", validate.RuleLength},
		{"max multi-byte value", "n", strings.Repeat("€", 1024), "", ""},
		{"max+1 multi-byte value", "n", strings.Repeat("€", 1025), "Value", validate.RuleLength},
		{"max multi-byte name", strings.Repeat("ß", 256), "v", "", ""},
		{"NUL and newline", "a\x00", "b\n", "", ""},
		{"invalid UTF-8 name", "a\xff", "v", "Name", validate.RuleUTF8},
		{"invalid UTF-8 value", "n", "\xc0\xaf", "Value", validate.RuleUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := callback.NewOutput(tt.n, tt.v)
			if tt.rule == "" {
				if err != nil || o.Name() != tt.n || o.Value() != tt.v {
					t.Fatalf("NewOutput: %v", err)
				}
				return
			}
			var ve *validate.Error
			if !errors.As(err, &ve) || ve.Field != tt.field || ve.Rule != tt.rule || !errors.Is(err, callback.ErrInvalid) {
				t.Fatalf("NewOutput error = %v, want %s %s", err, tt.field, tt.rule)
			}
		})
	}
	// The empty parameter is valid; the zero Output is not one: it was never
	// made.
	if empty := callback.MustNewOutput("", ""); empty.IsZero() || (callback.Output{}) == empty || !(callback.Output{}).IsZero() {
		t.Error("the zero Output and the empty parameter are not told apart")
	}
}

func TestNewOutputNoAllocs(t *testing.T) {
	n, v := "model_uri", strings.Repeat("v", 1024)
	if a := testing.AllocsPerRun(100, func() { _, _ = callback.NewOutput(n, v) }); a != 0 {
		t.Errorf("NewOutput allocates %v times per call, want 0", a)
	}
}

func FuzzNewOutput(f *testing.F) {
	f.Add("n", "v")
	f.Add(strings.Repeat("n", 257), "v")
	f.Add("n", strings.Repeat("€", 1025))
	f.Add("a\xff", "")
	f.Fuzz(func(t *testing.T, name, value string) {
		o, err := callback.NewOutput(name, value)
		ref := utf8.ValidString(name) && utf8.RuneCountInString(name) <= 256 &&
			utf8.ValidString(value) && utf8.RuneCountInString(value) <= 1024
		if (err == nil) != ref {
			t.Fatalf("NewOutput(%q, %q) err=%v, reference says %v", name, value, err, ref)
		}
		if err == nil && (o.Name() != name || o.Value() != value) {
			t.Fatal("round trip failed")
		}
	})
}

func TestParseRequestToken(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{strings.Repeat("a", 31), false},
		{strings.Repeat("a", 32), true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{strings.Repeat("é", 32), true},
		{strings.Repeat("é", 129), false},
		{strings.Repeat("a", 31) + "\xff", false},
		{"", false},
	} {
		rt, err := callback.ParseRequestToken(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseRequestToken(%d bytes) err=%v, want ok=%v", len(tt.in), err, tt.ok)
		}
		if err != nil && !errors.Is(err, callback.ErrInvalid) {
			t.Errorf("error does not match ErrInvalid: %v", err)
		}
		if err == nil && rt.String() != tt.in {
			t.Errorf("round trip failed")
		}
	}
}

func FuzzParseRequestToken(f *testing.F) {
	f.Add(strings.Repeat("a", 32))
	f.Add(strings.Repeat("é", 129))
	f.Fuzz(func(t *testing.T, s string) {
		rt, err := callback.ParseRequestToken(s)
		n := utf8.RuneCountInString(s)
		ref := utf8.ValidString(s) && n >= 32 && n <= 128
		if (err == nil) != ref {
			t.Fatalf("ParseRequestToken(%q) err=%v, reference %v", s, err, ref)
		}
		if err == nil && rt.String() != s {
			t.Fatal("round trip failed")
		}
	})
}

// TestLimitsMatchModel: the package's limits are validate's, the model's.
func TestLimitsMatchModel(t *testing.T) {
	if got, want := callback.MaxOutputs, validate.OutputParameters.Spec().Max; got != want {
		t.Errorf("MaxOutputs = %d, validate says %d", got, want)
	}
	if got, want := callback.MaxReasonLen, validate.FailureReason.Spec().Max; got != want {
		t.Errorf("MaxReasonLen = %d, validate says %d", got, want)
	}
}
