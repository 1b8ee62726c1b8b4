package callback_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// The facade against the raw SDK call, like for like: the same fake, the same
// SDK client, each call on a fresh step, both succeed. Compare within one run:
//
//	go test -run '^$' -bench 'Raw|ClientFail' -count 6 ./callback/
func BenchmarkRawSDKFail(b *testing.B) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	api := srv.Client()
	tokens := steps(srv, b.N)
	ctx := context.Background()
	reason := "disk full"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := api.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{
			CallbackToken: aws.String(tokens[i]),
			FailureReason: aws.String(reason),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawSDKFailNoRetry is the raw call with the SDK's retries off, as
// Client makes it: the cheapest baseline for Client.Fail.
func BenchmarkRawSDKFailNoRetry(b *testing.B) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	api := srv.Client()
	tokens := steps(srv, b.N)
	ctx := context.Background()
	reason := "disk full"
	noRetry := func(o *sagemaker.Options) { o.Retryer = aws.NopRetryer{} }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := api.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{
			CallbackToken: aws.String(tokens[i]),
			FailureReason: aws.String(reason),
		}, noRetry)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClientFail(b *testing.B) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	client := callback.New(srv.Client())
	tokens := steps(srv, b.N)
	parsed := make([]callback.Token, len(tokens))
	for i, s := range tokens {
		parsed[i] = callback.MustParseToken(s)
	}
	ctx := context.Background()
	reason := callback.MustParseReason("disk full")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := client.Fail(ctx, parsed[i], reason); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClientFailNoAttemptTimeout is Client.Fail without the
// per-attempt timeout: the facade's own cost, without the timer's.
func BenchmarkClientFailNoAttemptTimeout(b *testing.B) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	client := callback.New(srv.Client(), func(o *callback.Options) { o.Retry.AttemptTimeout = -1 })
	tokens := steps(srv, b.N)
	parsed := make([]callback.Token, len(tokens))
	for i, s := range tokens {
		parsed[i] = callback.MustParseToken(s)
	}
	ctx := context.Background()
	reason := callback.MustParseReason("disk full")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := client.Fail(ctx, parsed[i], reason); err != nil {
			b.Fatal(err)
		}
	}
}

// steps registers n steps and returns their tokens.
func steps(srv *callbacktest.Server, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i], _ = srv.NewStep()
	}
	return out
}

func BenchmarkFailureRequestToken(b *testing.B) {
	tok := callback.MustParseToken("AbCdE12345")
	reason := callback.MustParseReason("train model job-42: load data: read s3://bucket/key: connection reset by peer")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		callback.FailureRequestToken(tok, reason)
	}
}

func BenchmarkSuccessRequestToken(b *testing.B) {
	tok := callback.MustParseToken("AbCdE12345")
	outs := []callback.Output{callback.MustNewOutput("model", "s3://bucket/model.tar.gz"), callback.MustNewOutput("accuracy", "0.93")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		callback.SuccessRequestToken(tok, outs)
	}
}

func BenchmarkParseToken(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _ = callback.ParseToken("AbCdE12345")
	}
}

func BenchmarkParseReason256ASCII(b *testing.B) {
	s := strings.Repeat("a", 256)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _ = callback.ParseReason(s)
	}
}

func BenchmarkParseReason256MultiByte(b *testing.B) {
	s := strings.Repeat("é", 256)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _ = callback.ParseReason(s)
	}
}

func BenchmarkNewReason10KB(b *testing.B) {
	s := strings.Repeat("layer of context: ", 10240/18) + "root cause"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		callback.NewReason(s)
	}
}

func BenchmarkParseMessage(b *testing.B) {
	body := []byte(sampleMessage)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := callback.ParseMessage(body); err != nil {
			b.Fatal(err)
		}
	}
}
