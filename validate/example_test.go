package validate_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/stepcallback/sagemaker-callback/validate"
)

// FailureInput reports every violation of a raw SDK request at once.
func ExampleFailureInput() {
	in := &sagemaker.SendPipelineExecutionStepFailureInput{
		CallbackToken:      aws.String("abcdefghi\n"),
		FailureReason:      aws.String(strings.Repeat("disk full ", 30)),
		ClientRequestToken: aws.String("retry-1"),
	}
	err := validate.FailureInput(in)
	fmt.Println(errors.Is(err, validate.ErrInvalid))

	var es validate.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Printf("%s (%s): %v\n", e.Field, e.Rule, e)
		}
	}
	// Output:
	// true
	// CallbackToken (pattern): invalid CallbackToken: does not match the pattern ^[a-zA-Z0-9]+$
	// ClientRequestToken (length): invalid ClientRequestToken: length 7 is less than the minimum of 32 characters
	// FailureReason (length): invalid FailureReason: length 300 is more than the maximum of 256 characters
}

// Lengths count code points: 256 × "é" is 512 bytes but a valid String256.
func ExampleMember_Check() {
	fmt.Println(validate.FailureReason.Check(strings.Repeat("é", 256)))
	fmt.Println(validate.FailureReason.Check(strings.Repeat("é", 257)))
	fmt.Println(validate.CallbackToken.Check("AbCdE12345"))
	fmt.Println(validate.CallbackToken.Check("AbCdE1234é"))
	// Output:
	// <nil>
	// invalid FailureReason: length 257 is more than the maximum of 256 characters
	// <nil>
	// invalid CallbackToken: does not match the pattern ^[a-zA-Z0-9]+$
}

// WithInputChecks makes the SDK client refuse a bad request before it is
// signed or sent. Here the client talks to a stand-in server on loopback.
func ExampleWithInputChecks() {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.WriteString(w, `{"PipelineExecutionArn":"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x"}`)
	}))
	defer srv.Close()

	client := sagemaker.New(sagemaker.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "SECRETEXAMPLE", ""),
	}, validate.WithInputChecks())
	ctx := context.Background()

	_, err := client.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{
		CallbackToken: aws.String("AbCdE12345"),
		FailureReason: aws.String(strings.Repeat("x", 300)),
	})
	fmt.Println(errors.Is(err, validate.ErrInvalid), requests.Load())

	out, err := client.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{
		CallbackToken: aws.String("AbCdE12345"),
		FailureReason: aws.String("disk full"),
	})
	fmt.Println(err, requests.Load(), aws.ToString(out.PipelineExecutionArn))
	// Output:
	// true 0
	// <nil> 1 arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x
}
