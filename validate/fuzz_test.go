package validate_test

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stepcallback/sagemaker-callback/validate"
)

// The reference: the model's rules (api-facts §2) written the plain way, with
// the standard library's regexp and utf8, to hold the fast code to.

var refPattern = regexp.MustCompile(`^[a-zA-Z0-9]+$`)

type refRule struct {
	min, max int
	pattern  bool
}

var refRules = map[validate.Member]refRule{
	validate.CallbackToken:        {10, 10, true},
	validate.FailureReason:        {0, 256, false},
	validate.ClientRequestToken:   {32, 128, false},
	validate.OutputParameterName:  {0, 256, false},
	validate.OutputParameterValue: {0, 1024, false},
}

// refCheck returns the rule s breaks as a value of m, checked in the order
// UTF-8, length, pattern, or "" when s is valid.
func refCheck(m validate.Member, s string) validate.Rule {
	r := refRules[m]
	switch {
	case !utf8.ValidString(s):
		return validate.RuleUTF8
	case utf8.RuneCountInString(s) < r.min || utf8.RuneCountInString(s) > r.max:
		return validate.RuleLength
	case r.pattern && !refPattern.MatchString(s):
		return validate.RulePattern
	}
	return ""
}

// seeds are the boundary cases, for both fuzz targets.
func seeds() []string {
	r := strings.Repeat
	return []string{
		"", "a", "abcdefghi", "abcdefghij", "abcdefghijk", "AbCdE12345",
		"abcdefghi\n", "abcdefghi\x00", "abcdefghié", "abcdefghi٣", "abcdefghiＡ", r("é", 10),
		"\xff", "abcdefghi\xff", "abcdefg\xed\xa0\x80", "abcdefgh\xc0\xaf", "abcdefgh\xe2\x82", "\xf4\x90\x80\x80",
		"\uFFFD", r("\uFFFD", 10),
		r("a", 31), r("a", 32), r("a", 128), r("a", 129),
		r("a", 255), r("a", 256), r("a", 257),
		r("é", 256), r("é", 257), r("😀", 256), r("😀", 257), r("\x00", 256),
		r("v", 1024), r("v", 1025), r("😀", 1024), r("😀", 1025),
	}
}

// tokenMessages are the only messages an error about a CallbackToken has,
// with its length as N.
var tokenMessages = map[string]bool{
	"invalid CallbackToken: not valid UTF-8":                            true,
	"invalid CallbackToken: length N is not the required 10 characters": true,
	"invalid CallbackToken: does not match the pattern ^[a-zA-Z0-9]+$":  true,
}

func FuzzCheck(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range stringMembers {
			want := refCheck(m, s)
			err := m.Check(s)
			if want == "" {
				if err != nil {
					t.Fatalf("%v.Check(%+q) = %v; the reference accepts it", m, s, err)
				}
				continue
			}
			var e *validate.Error
			if !errors.As(err, &e) {
				t.Fatalf("%v.Check(%+q) = %v; the reference rejects it (%s)", m, s, err, want)
			}
			if e.Rule != want || e.Field != m.String() || !errors.Is(err, validate.ErrInvalid) {
				t.Fatalf("%v.Check(%+q) = %+v; want rule %s", m, s, *e, want)
			}
			if want != validate.RuleUTF8 && e.Len != utf8.RuneCountInString(s) {
				t.Fatalf("%v.Check(%+q): Len %d, want %d", m, s, e.Len, utf8.RuneCountInString(s))
			}
			if m == validate.CallbackToken && !tokenMessages[strings.Replace(err.Error(), strconv.Itoa(e.Len), "N", 1)] {
				// The message holds nothing of the value but its length.
				t.Fatalf("CallbackToken.Check(%+q): message %q is not one of the fixed forms", s, err.Error())
			}
		}
		if validate.OutputParameters.Check(s) == nil {
			t.Fatal("OutputParameters.Check accepted a string")
		}

		// The inputs, with s in every member: one violation per member the
		// reference rejects, none when it rejects none.
		fail := validate.FailureInput(&sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: &s, FailureReason: &s, ClientRequestToken: &s})
		wantN := 0
		for _, m := range []validate.Member{validate.CallbackToken, validate.FailureReason, validate.ClientRequestToken} {
			if refCheck(m, s) != "" {
				wantN++
			}
		}
		checkCount(t, "FailureInput", fail, wantN)
		succ := validate.SuccessInput(&sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: &s, ClientRequestToken: &s,
			OutputParameters: []types.OutputParameter{{Name: &s, Value: &s}}})
		wantN = 0
		for _, m := range []validate.Member{validate.CallbackToken, validate.ClientRequestToken, validate.OutputParameterName, validate.OutputParameterValue} {
			if refCheck(m, s) != "" {
				wantN++
			}
		}
		checkCount(t, "SuccessInput", succ, wantN)
	})
}

func checkCount(t *testing.T, what string, err error, n int) {
	t.Helper()
	if n == 0 {
		if err != nil {
			t.Fatalf("%s: %v, want nil", what, err)
		}
		return
	}
	var es validate.Errors
	if !errors.As(err, &es) || len(es) != n {
		t.Fatalf("%s: %v, want %d violations", what, err, n)
	}
}
