package callback_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

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

// BenchmarkClientFailTelemetry is BenchmarkClientFail with a tracer and a
// meter provider given to the Client and to the SageMaker client: the cost
// of the spans, the metrics and the redaction of the SDK's spans, against
// providers that keep nothing.
func BenchmarkClientFailTelemetry(b *testing.B) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	p := discard{}
	api := sagemaker.New(srv.Client().Options(), func(o *sagemaker.Options) { o.TracerProvider = p; o.MeterProvider = p })
	client := callback.New(api, func(o *callback.Options) { o.TracerProvider = p; o.MeterProvider = p })
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

// discard is a tracer and meter provider that keeps nothing, but puts its
// spans on the context as a real one does. It is not the SDK's Nop
// provider, which the SDK and Client recognise and skip.
type discard struct{}

func (discard) Tracer(string, ...tracing.TracerOption) tracing.Tracer { return discard{} }

func (discard) StartSpan(ctx context.Context, _ string, opts ...tracing.SpanOption) (context.Context, tracing.Span) {
	var o tracing.SpanOptions
	for _, fn := range opts {
		fn(&o)
	}
	s := &discardSpan{}
	return tracing.WithSpan(ctx, s), s
}

type discardSpan struct{ tracing.Span }

func (*discardSpan) SetProperty(any, any)         {}
func (*discardSpan) SetStatus(tracing.SpanStatus) {}
func (*discardSpan) End()                         {}

func (discard) Meter(string, ...metrics.MeterOption) metrics.Meter {
	return discardMeter{metrics.NopMeterProvider{}.Meter("")}
}

type discardMeter struct{ metrics.Meter }

func (discardMeter) Float64Histogram(string, ...metrics.InstrumentOption) (metrics.Float64Histogram, error) {
	return discardInstrument{}, nil
}

func (discardMeter) Int64Histogram(string, ...metrics.InstrumentOption) (metrics.Int64Histogram, error) {
	return discardInt{}, nil
}

type discardInstrument struct{}

func (discardInstrument) Record(context.Context, float64, ...metrics.RecordMetricOption) {}

type discardInt struct{}

func (discardInt) Record(context.Context, int64, ...metrics.RecordMetricOption) {}

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
