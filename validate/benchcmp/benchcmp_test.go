package benchcmp

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/go-playground/validator/v10"
	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/validate"
)

// The values every benchmark of a valid failure request uses.
const (
	token = "SYZ8ExZ3Sd"
	// crt is a ClientRequestToken of the form callback derives: 69 characters.
	crt = "scb1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

var reason = strings.Repeat("r", 256) // 256 ASCII characters: the maximum

// The regexp way: the model's pattern, compiled once, and a length check.
var alnum = regexp.MustCompile(`^[a-zA-Z0-9]+$`)

func regexpToken(s string) bool {
	return alnum.MatchString(s) && utf8.RuneCountInString(s) == 10
}

// regexpFailure is the regexp way for a whole request: the token as above and
// the lengths with utf8.RuneCountInString, as it is usually written (without
// a utf8.ValidString check).
func regexpFailure(tok, reason, crt *string) bool {
	if tok == nil || !regexpToken(*tok) {
		return false
	}
	if reason != nil && utf8.RuneCountInString(*reason) > 256 {
		return false
	}
	if crt != nil && (utf8.RuneCountInString(*crt) < 32 || utf8.RuneCountInString(*crt) > 128) {
		return false
	}
	return true
}

// failureRequest is the validator/v10 way: the request's rules as struct tags.
// validator's len, min and max count runes (utf8.RuneCountInString) and its
// alphanum is the regexp ^[a-zA-Z0-9]+$, so it measures what the model
// measures, with two differences TestParity shows: it never checks that a
// string is valid UTF-8 (an invalid byte counts as one rune), and with plain
// strings "" and "absent" are one value, so omitempty lets an empty
// ClientRequestToken through and required refuses an empty token as missing
// rather than as too short.
type failureRequest struct {
	CallbackToken      string `validate:"required,len=10,alphanum"`
	FailureReason      string `validate:"max=256"`
	ClientRequestToken string `validate:"omitempty,min=32,max=128"`
}

var v = validator.New()

var (
	sinkErr  error
	sinkBool bool
	sinkTok  callback.Token
)

func BenchmarkParseToken(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sinkTok, sinkErr = callback.ParseToken(token)
	}
	if sinkErr != nil {
		b.Fatal(sinkErr)
	}
}

func BenchmarkRegexpToken(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sinkBool = regexpToken(token)
	}
	if !sinkBool {
		b.Fatal("regexp refused a valid token")
	}
}

func BenchmarkFailureInput(b *testing.B) {
	in := &sagemaker.SendPipelineExecutionStepFailureInput{
		CallbackToken:      aws.String(token),
		FailureReason:      aws.String(reason),
		ClientRequestToken: aws.String(crt),
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sinkErr = validate.FailureInput(in)
	}
	if sinkErr != nil {
		b.Fatal(sinkErr)
	}
}

func BenchmarkValidatorV10(b *testing.B) {
	req := &failureRequest{CallbackToken: token, FailureReason: reason, ClientRequestToken: crt}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sinkErr = v.Struct(req)
	}
	if sinkErr != nil {
		b.Fatal(sinkErr)
	}
}

func BenchmarkParseReason256ASCII(b *testing.B) {
	s := strings.Repeat("a", 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for i := 0; i < b.N; i++ {
		_, sinkErr = callback.ParseReason(s)
	}
	if sinkErr != nil {
		b.Fatal(sinkErr)
	}
}

func BenchmarkParseReason256MultiByte(b *testing.B) {
	s := strings.Repeat("é", 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for i := 0; i < b.N; i++ {
		_, sinkErr = callback.ParseReason(s)
	}
	if sinkErr != nil {
		b.Fatal(sinkErr)
	}
}

// errorChain10KB is a Go error chain of about 10 KB: layers of context around
// a root cause, the shape ReasonFromError meets in practice.
func errorChain10KB() string {
	var b strings.Builder
	b.WriteString("train step: ")
	for i := 0; b.Len() < 10*1024-64; i++ {
		b.WriteString("retry attempt ")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(": load model s3://bucket/models/ü/weights: ")
	}
	b.WriteString("read tcp 10.0.0.1:443: connection reset by peer")
	return b.String()
}

func BenchmarkNewReason10KB(b *testing.B) {
	s := errorChain10KB()
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	var r callback.Reason
	for i := 0; i < b.N; i++ {
		r = callback.NewReason(s)
	}
	if n := utf8.RuneCountInString(r.String()); n != 256 {
		b.Fatalf("NewReason kept %d code points", n)
	}
}

// sampleMessage is the SQS body of api-facts §8.
const sampleMessage = `{"token":"SYZ8ExZ3Sd","pipelineExecutionArn":"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/wlaimaypb6hb","arguments":{"model_package_group":"g","baseline_accuracy":0.82},"status":"Executing"}`

func BenchmarkParseMessage(b *testing.B) {
	body := []byte(sampleMessage)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		_, sinkErr = callback.ParseMessage(body)
	}
	if sinkErr != nil {
		b.Fatal(sinkErr)
	}
}
