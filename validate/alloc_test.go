package validate_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/stepcallback/sagemaker-callback/validate"
)

// validFailure is a valid request with every member set, at the limits.
func validFailure() *sagemaker.SendPipelineExecutionStepFailureInput {
	return &sagemaker.SendPipelineExecutionStepFailureInput{
		CallbackToken:      aws.String(goodToken),
		FailureReason:      aws.String(strings.Repeat("é", 256)),
		ClientRequestToken: aws.String(goodCRT),
	}
}

// validSuccess is a valid request with 50 outputs.
func validSuccess() *sagemaker.SendPipelineExecutionStepSuccessInput {
	return &sagemaker.SendPipelineExecutionStepSuccessInput{
		CallbackToken:      aws.String(goodToken),
		ClientRequestToken: aws.String(goodCRT),
		OutputParameters:   outputs(50),
	}
}

func TestNoAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters change allocation counts")
	}
	reason, value := strings.Repeat("😀", 256), strings.Repeat("v", 1024)
	fail, succ := validFailure(), validSuccess()
	var sink error
	for _, c := range []struct {
		name string
		fn   func()
	}{
		{"CallbackToken.Check", func() { sink = validate.CallbackToken.Check(goodToken) }},
		{"FailureReason.Check", func() { sink = validate.FailureReason.Check(reason) }},
		{"ClientRequestToken.Check", func() { sink = validate.ClientRequestToken.Check(goodCRT) }},
		{"OutputParameterName.Check", func() { sink = validate.OutputParameterName.Check(reason) }},
		{"OutputParameterValue.Check", func() { sink = validate.OutputParameterValue.Check(value) }},
		{"OutputParameters.CheckCount", func() { sink = validate.OutputParameters.CheckCount(50) }},
		{"FailureInput", func() { sink = validate.FailureInput(fail) }},
		{"SuccessInput with 50 outputs", func() { sink = validate.SuccessInput(succ) }},
	} {
		if n := testing.AllocsPerRun(100, c.fn); n != 0 {
			t.Errorf("%s: %v allocations, want 0", c.name, n)
		}
		if sink != nil {
			t.Errorf("%s: %v", c.name, sink)
		}
	}
}
