package validate_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stepcallback/sagemaker-callback/validate"
)

const (
	goodToken = "AbCdE12345"
	goodCRT   = "123e4567-e89b-12d3-a456-426614174000"
)

// violation is the part of an *Error a test names.
type violation struct {
	Field string
	Rule  validate.Rule
	Len   int
}

// violations checks that err is Errors (and matches ErrInvalid) and returns
// its violations; nil for a nil error.
func violations(t *testing.T, err error) []violation {
	t.Helper()
	if err == nil {
		return nil
	}
	var es validate.Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %T %v, want validate.Errors", err, err)
	}
	if len(es) == 0 {
		t.Fatal("empty Errors returned as an error")
	}
	if !errors.Is(err, validate.ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	var out []violation
	for _, e := range es {
		out = append(out, violation{e.Field, e.Rule, e.Len})
		if !strings.Contains(err.Error(), e.Error()) {
			t.Errorf("message %q leaves out %q", err.Error(), e.Error())
		}
	}
	return out
}

func sameViolations(t *testing.T, got, want []violation) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func outputs(n int) []types.OutputParameter {
	ps := make([]types.OutputParameter, n)
	for i := range ps {
		ps[i] = types.OutputParameter{Name: aws.String(fmt.Sprintf("name%d", i)), Value: aws.String(strings.Repeat("v", 1024))}
	}
	return ps
}

func TestFailureInput(t *testing.T) {
	r := strings.Repeat
	for _, c := range []struct {
		name string
		in   *sagemaker.SendPipelineExecutionStepFailureInput
		want []violation
	}{
		{"nil input", nil, []violation{{"CallbackToken", validate.RuleRequired, -1}}},
		{"empty input", &sagemaker.SendPipelineExecutionStepFailureInput{}, []violation{{"CallbackToken", validate.RuleRequired, -1}}},
		{"token only", &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(goodToken)}, nil},
		{"all valid, at the limits", &sagemaker.SendPipelineExecutionStepFailureInput{
			CallbackToken:      aws.String(goodToken),
			FailureReason:      aws.String(r("é", 256)),
			ClientRequestToken: aws.String(r("😀", 128)),
		}, nil},
		{"empty reason is valid", &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(goodToken), FailureReason: aws.String("")}, nil},
		{"empty token", &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("")}, []violation{{"CallbackToken", validate.RuleLength, 0}}},
		{"every member bad, in the order of the input's fields", &sagemaker.SendPipelineExecutionStepFailureInput{
			CallbackToken:      aws.String("abcdefghijkl"),
			FailureReason:      aws.String(r("x", 300)),
			ClientRequestToken: aws.String("short"),
		}, []violation{
			{"CallbackToken", validate.RuleLength, 12},
			{"ClientRequestToken", validate.RuleLength, 5},
			{"FailureReason", validate.RuleLength, 300},
		}},
		{"missing token and bad others", &sagemaker.SendPipelineExecutionStepFailureInput{
			FailureReason:      aws.String("\xff"),
			ClientRequestToken: aws.String(r("a", 129)),
		}, []violation{
			{"CallbackToken", validate.RuleRequired, -1},
			{"ClientRequestToken", validate.RuleLength, 129},
			{"FailureReason", validate.RuleUTF8, -1},
		}},
		{"pattern", &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("abcdefghi\n")},
			[]violation{{"CallbackToken", validate.RulePattern, 10}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sameViolations(t, violations(t, validate.FailureInput(c.in)), c.want)
		})
	}
}

func TestSuccessInput(t *testing.T) {
	r := strings.Repeat
	withOutputs := func(ps []types.OutputParameter) *sagemaker.SendPipelineExecutionStepSuccessInput {
		return &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(goodToken), ClientRequestToken: aws.String(goodCRT), OutputParameters: ps}
	}
	bad := outputs(5)
	bad[1].Name = nil
	bad[2].Value = aws.String(r("v", 1025))
	bad[3].Name = aws.String(r("n", 257))
	bad[3].Value = nil
	bad[4].Name = aws.String("\xed\xa0\x80")

	many := outputs(52)
	many[51].Value = aws.String("\xff")

	for _, c := range []struct {
		name string
		in   *sagemaker.SendPipelineExecutionStepSuccessInput
		want []violation
	}{
		{"nil input", nil, []violation{{"CallbackToken", validate.RuleRequired, -1}}},
		{"empty input", &sagemaker.SendPipelineExecutionStepSuccessInput{}, []violation{{"CallbackToken", validate.RuleRequired, -1}}},
		{"token only", &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(goodToken)}, nil},
		{"no outputs, empty list", withOutputs([]types.OutputParameter{}), nil},
		{"50 outputs at the limits", withOutputs(outputs(50)), nil},
		{"empty name and value are valid", withOutputs([]types.OutputParameter{{Name: aws.String(""), Value: aws.String("")}}), nil},
		{"multi-byte name and value at the limits", withOutputs([]types.OutputParameter{{Name: aws.String(r("é", 256)), Value: aws.String(r("😀", 1024))}}), nil},
		{"51 outputs", withOutputs(outputs(51)), []violation{{"OutputParameters", validate.RuleCount, 51}}},
		{"bad items", withOutputs(bad), []violation{
			{"OutputParameters[1].Name", validate.RuleRequired, -1},
			{"OutputParameters[2].Value", validate.RuleLength, 1025},
			{"OutputParameters[3].Name", validate.RuleLength, 257},
			{"OutputParameters[3].Value", validate.RuleRequired, -1},
			{"OutputParameters[4].Name", validate.RuleUTF8, -1},
		}},
		{"too many and a bad item: items still checked", withOutputs(many), []violation{
			{"OutputParameters", validate.RuleCount, 52},
			{"OutputParameters[51].Value", validate.RuleUTF8, -1},
		}},
		{"every member bad", &sagemaker.SendPipelineExecutionStepSuccessInput{
			CallbackToken:      aws.String("abc-efghij"),
			ClientRequestToken: aws.String(r("a", 31)),
			OutputParameters:   []types.OutputParameter{{Name: aws.String("ok"), Value: aws.String("ok")}, {}},
		}, []violation{
			{"CallbackToken", validate.RulePattern, 10},
			{"ClientRequestToken", validate.RuleLength, 31},
			{"OutputParameters[1].Name", validate.RuleRequired, -1},
			{"OutputParameters[1].Value", validate.RuleRequired, -1},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sameViolations(t, violations(t, validate.SuccessInput(c.in)), c.want)
		})
	}
}

// TestItemErrorFields checks an item's violation in full: the path, limits,
// and a message that names the path.
func TestItemErrorFields(t *testing.T) {
	ps := outputs(4)
	ps[3].Name = aws.String(strings.Repeat("n", 300))
	err := validate.SuccessInput(&sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(goodToken), OutputParameters: ps})
	checkError(t, err, &validate.Error{Field: "OutputParameters[3].Name", Rule: validate.RuleLength, Max: 256, Len: 300})
	want := "invalid OutputParameters[3].Name: length 300 is more than the maximum of 256 characters"
	if err.Error() != want {
		t.Errorf("got %q, want %q", err.Error(), want)
	}

	// The check does not change the input, and two calls do not share errors.
	err2 := validate.SuccessInput(&sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(goodToken), OutputParameters: ps})
	var e1, e2 *validate.Error
	errors.As(err, &e1)
	errors.As(err2, &e2)
	if e1 == e2 {
		t.Error("two calls returned the same *Error")
	}
	if *ps[3].Name != strings.Repeat("n", 300) {
		t.Error("SuccessInput changed the input")
	}
}

// TestInputNotInErrors: no value of any member shows in the messages (only
// the token is a secret, but no message quotes values at all).
func TestInputNotInErrors(t *testing.T) {
	in := &sagemaker.SendPipelineExecutionStepFailureInput{
		CallbackToken:      aws.String("Zq9Xw8Vu7T6"),
		FailureReason:      aws.String(strings.Repeat("Kp", 200)),
		ClientRequestToken: aws.String("Hm4Gn5"),
	}
	msg := fmt.Sprintf("%+v", validate.FailureInput(in))
	for _, v := range []string{"Zq9Xw", "KpKp", "Hm4Gn5"} {
		if strings.Contains(msg, v) {
			t.Errorf("%q shows in %q", v, msg)
		}
	}
}
