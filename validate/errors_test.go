package validate_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/stepcallback/sagemaker-callback/validate"
)

func TestErrorMessages(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{validate.FailureReason.Check(strings.Repeat("a", 300)),
			"invalid FailureReason: length 300 is more than the maximum of 256 characters"},
		{validate.CallbackToken.Check("abcdefghi"),
			"invalid CallbackToken: length 9 is not the required 10 characters"},
		{validate.CallbackToken.Check("abcdefghijk"),
			"invalid CallbackToken: length 11 is not the required 10 characters"},
		{validate.ClientRequestToken.Check(strings.Repeat("a", 31)),
			"invalid ClientRequestToken: length 31 is less than the minimum of 32 characters"},
		{validate.ClientRequestToken.Check(strings.Repeat("a", 129)),
			"invalid ClientRequestToken: length 129 is more than the maximum of 128 characters"},
		{validate.CallbackToken.Check("abcdefghi\n"),
			"invalid CallbackToken: does not match the pattern ^[a-zA-Z0-9]+$"},
		{validate.FailureReason.Check("\xff"),
			"invalid FailureReason: not valid UTF-8"},
		{validate.OutputParameters.CheckCount(51),
			"invalid OutputParameters: count 51 is more than the maximum of 50 items"},
		{validate.OutputParameters.Check("x"),
			"invalid OutputParameters: no such check for this member"},
		{&validate.Error{Field: "CallbackToken", Rule: validate.RuleRequired, Len: -1},
			"invalid CallbackToken: required but missing"},
		{&validate.Error{Field: "X", Rule: "odd"},
			"invalid X: rule odd broken"},
		{validate.FailureInput(&sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("abcdefghij"), FailureReason: aws.String("\xff")}),
			"invalid FailureReason: not valid UTF-8"},
		{validate.FailureInput(&sagemaker.SendPipelineExecutionStepFailureInput{FailureReason: aws.String("\xff")}),
			"2 violations: invalid CallbackToken: required but missing; invalid FailureReason: not valid UTF-8"},
		{validate.Errors{}, "no violations"},
	} {
		if c.err == nil {
			t.Errorf("want %q, got nil", c.want)
			continue
		}
		if got := c.err.Error(); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}

func TestErrorsIsAs(t *testing.T) {
	e1 := &validate.Error{Field: "CallbackToken", Rule: validate.RuleRequired, Len: -1}
	e2 := &validate.Error{Field: "FailureReason", Rule: validate.RuleUTF8, Max: 256, Len: -1}
	es := validate.Errors{e1, e2}
	err := fmt.Errorf("call: %w", es)

	if !errors.Is(err, validate.ErrInvalid) {
		t.Error("errors.Is(Errors, ErrInvalid) = false")
	}
	var got validate.Errors
	if !errors.As(err, &got) || len(got) != 2 {
		t.Fatalf("errors.As(Errors) = %v", got)
	}
	var e *validate.Error
	if !errors.As(err, &e) || e != e1 {
		t.Errorf("errors.As(*Error) = %v, want the first violation", e)
	}
	if !errors.Is(err, e2) {
		t.Error("errors.Is(Errors, its second violation) = false")
	}
	if errors.Is(err, io.EOF) || errors.Is(e1, io.EOF) {
		t.Error("a violation matches io.EOF")
	}
	if errors.Is(validate.Errors{}, validate.ErrInvalid) {
		t.Error("empty Errors matches ErrInvalid")
	}
	//lint:ignore SA1032 the reversed order is the point: the sentinel must not match a violation
	if errors.Is(validate.ErrInvalid, e1) {
		t.Error("ErrInvalid matches a violation")
	}
}

// badTokens are invalid CallbackTokens, none a substring of any message.
var badTokens = []string{
	"Qx7Rk2Zp9",              // 9
	"Qx7Rk2Zp9Wm",            // 11
	"Qx7Rk2Zp9Wm4Tt8Yy3Vb",   // 20
	"Qx7Rk-Zp9W",             // 10, not alnum
	"Qx7Rk2Zp9\n",            // 10, trailing newline
	"Qx7Rk2Zp9é",             // 10 code points, not ASCII
	"Qx7Rk2Zp9\xff",          // invalid UTF-8
	"Qx7Rk\x00Zp9W",          // NUL
	"Qx7Rk2 Zp9",             // space
	strings.Repeat("Jv", 60), // 120
}

// TestTokenNeverInErrors checks that no error about a CallbackToken shows the
// value, with any fmt verb, alone or among other violations.
func TestTokenNeverInErrors(t *testing.T) {
	for _, tok := range badTokens {
		errs := []error{
			validate.CallbackToken.Check(tok),
			validate.FailureInput(&sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), FailureReason: aws.String(strings.Repeat("r", 300))}),
			validate.SuccessInput(&sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tok), ClientRequestToken: aws.String("short")}),
		}
		for _, err := range errs {
			if err == nil {
				t.Fatalf("token %q: no error", tok)
			}
			var e *validate.Error
			if !errors.As(err, &e) || e.Field != "CallbackToken" || !e.Secret {
				t.Errorf("token %q: first violation %+v, want a secret CallbackToken one", tok, e)
			}
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
				msg := fmt.Sprintf(verb, err)
				if strings.Contains(msg, tok) || strings.Contains(msg, fmt.Sprintf("%q", tok)) || strings.Contains(msg, tok[:5]) {
					t.Errorf("token %q shows in %s: %s", tok, verb, msg)
				}
			}
		}
	}
}
