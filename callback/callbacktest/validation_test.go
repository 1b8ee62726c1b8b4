package callbacktest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// TestValidationException sends requests that break the model's rules through
// the real SDK, which checks none of them, and checks AWS's message.
func TestValidationException(t *testing.T) {
	const tok = "AbCdE12345"
	crt := "0123456789abcdef0123456789abcdef"
	long := func(s string, n int) string { return strings.Repeat(s, n) }
	params := func(n int) []types.OutputParameter {
		p := make([]types.OutputParameter, n)
		for i := range p {
			p[i] = types.OutputParameter{Name: aws.String(fmt.Sprint("n", i)), Value: aws.String("v")}
		}
		return p
	}

	failures := []struct {
		name string
		in   sagemaker.SendPipelineExecutionStepFailureInput
		want string
	}{
		{
			name: "reason too long",
			in:   sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), FailureReason: aws.String(long("x", 257))},
			want: "1 validation error detected: Value '" + long("x", 257) + "' at 'failureReason' failed to satisfy constraint: Member must have length less than or equal to 256",
		},
		{
			name: "reason too long in code points",
			in:   sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), FailureReason: aws.String(long("é", 257))},
			want: "1 validation error detected: Value '" + long("é", 257) + "' at 'failureReason' failed to satisfy constraint: Member must have length less than or equal to 256",
		},
		{
			name: "token too short",
			in:   sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("AbCdE1234")},
			want: "1 validation error detected: Value 'AbCdE1234' at 'callbackToken' failed to satisfy constraint: Member must have length greater than or equal to 10",
		},
		{
			name: "token too long",
			in:   sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("AbCdE123456")},
			want: "1 validation error detected: Value 'AbCdE123456' at 'callbackToken' failed to satisfy constraint: Member must have length less than or equal to 10",
		},
		{
			name: "token not alphanumeric",
			in:   sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("AbCdE1234-")},
			want: "1 validation error detected: Value 'AbCdE1234-' at 'callbackToken' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9]+$",
		},
		{
			name: "token empty breaks two rules",
			in:   sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("")},
			want: "2 validation errors detected: Value '' at 'callbackToken' failed to satisfy constraint: Member must have length greater than or equal to 10; " +
				"Value '' at 'callbackToken' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9]+$",
		},
		{
			name: "client request token too short, reason too long",
			in:   sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), ClientRequestToken: aws.String(crt[:31]), FailureReason: aws.String(long("y", 300))},
			want: "2 validation errors detected: Value '" + crt[:31] + "' at 'clientRequestToken' failed to satisfy constraint: Member must have length greater than or equal to 32; " +
				"Value '" + long("y", 300) + "' at 'failureReason' failed to satisfy constraint: Member must have length less than or equal to 256",
		},
		{
			name: "client request token too long",
			in:   sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), ClientRequestToken: aws.String(long("c", 129))},
			want: "1 validation error detected: Value '" + long("c", 129) + "' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 128",
		},
	}
	for _, tc := range failures {
		t.Run("failure/"+tc.name, func(t *testing.T) {
			srv := newServer(t)
			srv.AddStep(tok)
			_, err := sendFailure(t, srv, &tc.in)
			checkValidation(t, srv, err, tc.want)
		})
	}

	successes := []struct {
		name string
		in   sagemaker.SendPipelineExecutionStepSuccessInput
		want string
	}{
		{
			name: "name too long",
			in: sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tok), OutputParameters: []types.OutputParameter{
				{Name: aws.String("ok"), Value: aws.String("v")},
				{Name: aws.String(long("n", 257)), Value: aws.String("v")},
			}},
			want: "1 validation error detected: Value '" + long("n", 257) + "' at 'outputParameters.2.member.name' failed to satisfy constraint: Member must have length less than or equal to 256",
		},
		{
			name: "value too long",
			in: sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tok), OutputParameters: []types.OutputParameter{
				{Name: aws.String("k"), Value: aws.String(long("v", 1025))},
			}},
			want: "1 validation error detected: Value '" + long("v", 1025) + "' at 'outputParameters.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 1024",
		},
	}
	for _, tc := range successes {
		t.Run("success/"+tc.name, func(t *testing.T) {
			srv := newServer(t)
			srv.AddStep(tok)
			_, err := sendSuccess(t, srv, &tc.in)
			checkValidation(t, srv, err, tc.want)
		})
	}

	t.Run("success/too many parameters", func(t *testing.T) {
		srv := newServer(t)
		srv.AddStep(tok)
		_, err := sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tok), OutputParameters: params(51)})
		checkValidation(t, srv, err, "")
		msg := lastRequest(t, srv).ErrorMessage
		if !strings.HasPrefix(msg, "1 validation error detected: Value '[com.amazonaws.sagemaker.OutputParameter@") ||
			!strings.HasSuffix(msg, "]' at 'outputParameters' failed to satisfy constraint: Member must have length less than or equal to 50") ||
			strings.Count(msg, "OutputParameter@") != 51 {
			t.Errorf("message = %q", msg)
		}
	})
	t.Run("success/limits hold", func(t *testing.T) {
		srv := newServer(t)
		srv.AddStep(tok)
		p := params(50)
		p[0] = types.OutputParameter{Name: aws.String(long("é", 256)), Value: aws.String(long("€", 1024))}
		if _, err := sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tok), OutputParameters: p, ClientRequestToken: aws.String(long("c", 128))}); err != nil {
			t.Fatal(err)
		}
		if st := mustStep(t, srv, tok); len(st.Outputs) != 50 || st.Outputs[0].Name != long("é", 256) {
			t.Errorf("step outputs not recorded: %d", len(st.Outputs))
		}
	})
}

func checkValidation(t *testing.T, srv *callbacktest.Server, err error, want string) {
	t.Helper()
	checkAPIError(t, srv, err, "ValidationException", 400)
	var ae smithy.APIError
	if errors.As(err, &ae) && want != "" && ae.ErrorMessage() != want {
		t.Errorf("message =\n%s\nwant\n%s", ae.ErrorMessage(), want)
	}
	for _, st := range srv.Steps() {
		if st.Status != callbacktest.StatusExecuting || st.Completions != 0 {
			t.Errorf("a request that broke the rules changed a step: %+v", st)
		}
	}
}
