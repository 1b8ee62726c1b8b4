package validate_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/stepcallback/sagemaker-callback/validate"
)

var benchErr error

func BenchmarkCheckToken(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchErr = validate.CallbackToken.Check(goodToken)
	}
}

func BenchmarkCheckReason256MultiByte(b *testing.B) {
	s := strings.Repeat("é", 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for i := 0; i < b.N; i++ {
		benchErr = validate.FailureReason.Check(s)
	}
}

func BenchmarkFailureInput(b *testing.B) {
	in := &sagemaker.SendPipelineExecutionStepFailureInput{
		CallbackToken:      aws.String(goodToken),
		FailureReason:      aws.String(strings.Repeat("r", 256)),
		ClientRequestToken: aws.String(goodCRT),
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchErr = validate.FailureInput(in)
	}
	if benchErr != nil {
		b.Fatal(benchErr)
	}
}

func BenchmarkSuccessInput50(b *testing.B) {
	in := validSuccess()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchErr = validate.SuccessInput(in)
	}
	if benchErr != nil {
		b.Fatal(benchErr)
	}
}

// BenchmarkFailureInputInvalid shows the cost of the error path: three
// violations, each allocated.
func BenchmarkFailureInputInvalid(b *testing.B) {
	in := &sagemaker.SendPipelineExecutionStepFailureInput{
		CallbackToken:      aws.String("abcdefghijkl"),
		FailureReason:      aws.String(strings.Repeat("r", 300)),
		ClientRequestToken: aws.String("short"),
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchErr = validate.FailureInput(in)
	}
}
