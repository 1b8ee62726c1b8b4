package benchcmp

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/validate"
)

// TestTokenParity: for a CallbackToken the regexp way (pattern plus a rune
// count of 10) is exactly the model's rule, and ParseToken agrees with it
// everywhere, including each byte value at the end and at the start.
func TestTokenParity(t *testing.T) {
	toks := []string{
		"", "SYZ8ExZ3Sd", "abcdefghi", "abcdefghijk", "abcdefghi\n", "abcdefghi\x00",
		"abcdefghié", "abcdefghi٣", "abcdefghiＡ", strings.Repeat("é", 10), "abcdefghi\xff",
		"abcdefg\xed\xa0\x80", "abcdefgh\xc0\xaf", "abcdefgh\xe2\x82",
	}
	for b := 0; b < 256; b++ {
		toks = append(toks, "abcdefghi"+string([]byte{byte(b)}), string([]byte{byte(b)})+"bcdefghij")
	}
	for _, s := range toks {
		_, err := callback.ParseToken(s)
		if ours, re := err == nil, regexpToken(s); ours != re {
			t.Errorf("token %+q: ParseToken accepts = %v, regexp way = %v", s, ours, re)
		}
		if err != nil && !errors.Is(err, validate.ErrInvalid) {
			t.Errorf("token %+q: %v does not match ErrInvalid", s, err)
		}
	}
}

// TestParity runs a table of failure requests through the three ways. Where
// the regexp way (as usually written, see regexpFailure) or validator/v10
// (see failureRequest) differs from the model's rules, the case says so and
// the test pins the difference, so a change in either shows up.
func TestParity(t *testing.T) {
	r := strings.Repeat
	s := aws.String
	for _, c := range []struct {
		name             string
		tok, reason, crt *string
		valid            bool   // the model's answer, which validate gives
		regexpDiffers    string // why the regexp way differs, or ""
		validatorDiffers string // why validator/v10 differs, or ""
	}{
		{name: "valid, token only", tok: s(token), valid: true},
		{name: "valid, all at the limits", tok: s(token), reason: s(r("a", 256)), crt: s(r("c", 128)), valid: true},
		{name: "valid, 256 × é (code points, not bytes)", tok: s(token), reason: s(r("é", 256)), crt: s(r("é", 32)), valid: true},
		{name: "valid, 256 × 😀 (not UTF-16 units)", tok: s(token), reason: s(r("😀", 256)), valid: true},
		{name: "valid, NUL in reason", tok: s(token), reason: s("\x00"), valid: true},
		{name: "valid, empty reason", tok: s(token), reason: s(""), valid: true},
		{name: "reason 257", tok: s(token), reason: s(r("a", 257))},
		{name: "reason 257 × é", tok: s(token), reason: s(r("é", 257))},
		{name: "token nil", reason: s("x")},
		{name: "token empty", tok: s("")},
		{name: "token 9", tok: s("abcdefghi")},
		{name: "token 11", tok: s("abcdefghijk")},
		{name: "token trailing newline", tok: s("abcdefghi\n")},
		{name: "token é", tok: s("abcdefghié")},
		{name: "token ٣", tok: s("abcdefghi٣")},
		{name: "token fullwidth Ａ", tok: s("abcdefghiＡ")},
		{name: "token invalid UTF-8", tok: s("abcdefghi\xff")},
		{name: "crt 31", tok: s(token), crt: s(r("c", 31))},
		{name: "crt 32", tok: s(token), crt: s(r("c", 32)), valid: true},
		{name: "crt 129", tok: s(token), crt: s(r("c", 129))},
		{name: "crt invalid UTF-8, 300 bytes", tok: s(token), crt: s(r("\xff", 300))},
		{name: "reason invalid UTF-8, 300 bytes", tok: s(token), reason: s(r("\xff", 300))},

		// The differences.
		{name: "reason lone 0xff", tok: s(token), reason: s("disk full \xff"),
			regexpDiffers:    "utf8.RuneCountInString counts an invalid byte as a rune and nothing checks utf8.ValidString",
			validatorDiffers: "max=256 counts runes with utf8.RuneCountInString; no tag checks UTF-8"},
		{name: "reason encoded surrogate", tok: s(token), reason: s("\xed\xa0\x80"),
			regexpDiffers:    "no UTF-8 check",
			validatorDiffers: "no UTF-8 check"},
		{name: "crt invalid UTF-8, 40 bytes", tok: s(token), crt: s(r("\xff", 40)),
			regexpDiffers:    "no UTF-8 check: 40 invalid bytes count as 40 runes",
			validatorDiffers: "no UTF-8 check: 40 invalid bytes count as 40 runes"},
		{name: "crt empty (present)", tok: s(token), crt: s(""),
			validatorDiffers: `with a plain string, omitempty cannot tell "" from absent and skips min=32`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ours := validate.FailureInput(&sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: c.tok, FailureReason: c.reason, ClientRequestToken: c.crt}) == nil
			re := regexpFailure(c.tok, c.reason, c.crt)
			vd := v.Struct(&failureRequest{CallbackToken: aws.ToString(c.tok), FailureReason: aws.ToString(c.reason), ClientRequestToken: aws.ToString(c.crt)}) == nil

			if ours != c.valid {
				t.Errorf("validate.FailureInput valid = %v, the model says %v", ours, c.valid)
			}
			check := func(way string, got bool, differs string) {
				switch {
				case differs == "" && got != c.valid:
					t.Errorf("%s valid = %v, the model says %v", way, got, c.valid)
				case differs != "" && got == c.valid:
					t.Errorf("%s now agrees with the model (valid = %v); the noted difference (%s) is gone", way, got, differs)
				case differs != "":
					t.Logf("%s differs: valid = %v, the model says %v: %s", way, got, c.valid, differs)
				}
			}
			check("regexp way", re, c.regexpDiffers)
			check("validator/v10", vd, c.validatorDiffers)
		})
	}
}
