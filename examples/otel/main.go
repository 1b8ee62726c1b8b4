package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go/metrics/smithyotelmetrics"
	"github.com/aws/smithy-go/tracing/smithyoteltracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
	"github.com/stepcallback/sagemaker-callback/retry"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("otel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	all := fs.Bool("all", false, "print the SDK's spans inside each operation span too")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "otel: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	srv := callbacktest.NewServer()
	defer srv.Close()
	fmt.Fprintf(stdout, "local SageMaker and SQS fakes at %s (no AWS account needed)\n", srv.URL())
	tel, err := demo(ctx, srv)
	if err != nil {
		fmt.Fprintf(stderr, "otel: %v\n", err)
		return 1
	}
	tel.print(stdout, *all)
	return 0
}

// spanHandler is the name of the span the demo's handler starts.
const spanHandler = "handler"

// step is one callback step of the demo and what should become of it.
type step struct {
	name    string
	outcome worker.Outcome
	token   string
}

// telemetry is what the demo's run left in OpenTelemetry's exporters.
type telemetry struct {
	steps   []*step
	results []worker.Result
	spans   tracetest.SpanStubs
	metrics metricdata.ResourceMetrics
}

// demo starts four callback steps on srv, runs a worker.Worker traced and
// measured through the OpenTelemetry SDK until each message has a result,
// and returns the spans and metrics recorded.
func demo(ctx context.Context, srv *callbacktest.Server) (*telemetry, error) {
	// The OpenTelemetry SDK, with exporters that keep what they get in
	// memory. A service would use an OTLP exporter and a periodic reader.
	spans := tracetest.NewInMemoryExporter()
	otelTP := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	otelMP := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = otelTP.Shutdown(context.WithoutCancel(ctx)) }()
	defer func() { _ = otelMP.Shutdown(context.WithoutCancel(ctx)) }()

	// AWS's adapters turn them into smithy-go's TracerProvider and
	// MeterProvider, which the AWS SDK and this library take.
	tp := smithyoteltracing.Adapt(otelTP)
	mp := smithyotelmetrics.Adapt(otelMP)

	// The SDK's SageMaker client gets the same providers, so that its span
	// for each attempt nests under the report's span. Against AWS:
	// sagemaker.NewFromConfig(cfg, withProviders).
	withProviders := func(o *sagemaker.Options) {
		o.TracerProvider = tp
		o.MeterProvider = mp
	}
	client := sagemaker.New(srv.Client().Options(), withProviders)
	cb := callback.New(client, func(o *callback.Options) {
		o.TracerProvider = tp
		o.MeterProvider = mp
		o.Retry = retry.Policy{InitialInterval: 10 * time.Millisecond} // a quick demo
	})

	tel := &telemetry{steps: []*step{
		{name: "train-churn", outcome: worker.Succeeded},
		{name: "train-fraud", outcome: worker.Succeeded}, // its first report is throttled
		{name: "evaluate", outcome: worker.Failed},       // its handler returns an error
		{name: "deploy", outcome: worker.Settled},        // completed by someone else first
	}}
	for _, s := range tel.steps {
		s.token, _ = srv.StartStep(map[string]any{"step": s.name})
	}
	srv.FailNext(1, callbacktest.Throttle.ForToken(tel.steps[1].token))
	// Another worker completes "deploy" first (with an untraced client): the
	// demo's report of it meets a ConflictException, whose message, as the
	// service's does, quotes the token.
	if _, err := srv.Client().SendPipelineExecutionStepSuccess(ctx, &sagemaker.SendPipelineExecutionStepSuccessInput{
		CallbackToken: aws.String(tel.steps[3].token),
	}); err != nil {
		return nil, fmt.Errorf("complete the deploy step: %w", err)
	}

	// The handler's context holds the message's span: spans the handler
	// starts, with OpenTelemetry's own API, nest under it.
	tracer := otelTP.Tracer("github.com/stepcallback/sagemaker-callback/examples/otel")
	handle := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		_, span := tracer.Start(ctx, spanHandler, trace.WithAttributes(attribute.String("step", fmt.Sprint(m.Arguments["step"]))))
		defer span.End()
		if m.Arguments["step"] == "evaluate" {
			err := errors.New("accuracy 0.71 is below the baseline 0.82")
			span.SetStatus(codes.Error, err.Error())
			return nil, err
		}
		return []callback.Output{callback.MustNewOutput("model_uri", fmt.Sprintf("s3://models/%v/model.tar.gz", m.Arguments["step"]))}, nil
	}

	var mu sync.Mutex
	done := make(chan struct{})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The SQS client could get the providers too, to trace the worker's SQS
	// calls; it does not here, to keep the output short (each long poll
	// would be a trace of its own).
	w := worker.New(srv.SQSClient(), cb, handle, func(o *worker.Options) {
		o.QueueURL = srv.QueueURL()
		o.TracerProvider = tp
		o.MeterProvider = mp
		o.Logger = slog.New(slog.DiscardHandler)
		o.OnResult = func(r worker.Result) {
			mu.Lock()
			defer mu.Unlock()
			tel.results = append(tel.results, r)
			if len(tel.results) == len(tel.steps) {
				close(done)
			}
		}
	})
	ran := make(chan error, 1)
	go func() { ran <- w.Run(runCtx) }()
	var err error
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		err = errors.New("not every message had a result within 30s")
	case <-ctx.Done():
		err = context.Cause(ctx)
	}
	cancel()
	if runErr := <-ran; runErr != nil && err == nil {
		err = fmt.Errorf("worker: %w", runErr)
	}
	if err != nil {
		return nil, err
	}
	if err := tel.check(); err != nil {
		return nil, err
	}

	tel.spans = spans.GetSpans()
	if err := reader.Collect(ctx, &tel.metrics); err != nil {
		return nil, fmt.Errorf("collect the metrics: %w", err)
	}
	return tel, nil
}

// check reports an error when a step's message did not end as planned.
func (tel *telemetry) check() error {
	var bad []string
	for _, s := range tel.steps {
		i := slices.IndexFunc(tel.results, func(r worker.Result) bool { return r.Token.Reveal() == s.token })
		switch {
		case i < 0:
			bad = append(bad, s.name+": no result")
		case tel.results[i].Outcome != s.outcome:
			bad = append(bad, fmt.Sprintf("%s: %v, want %v (%v)", s.name, tel.results[i].Outcome, s.outcome, tel.results[i].Err))
		}
	}
	if len(bad) > 0 {
		return errors.New("not as planned: " + strings.Join(bad, "; "))
	}
	return nil
}

// print writes the steps' outcomes, the spans as a tree per trace, and the
// metrics. Unless all, the spans inside each of the SDK's operation spans
// are only counted.
func (tel *telemetry) print(w io.Writer, all bool) {
	fmt.Fprintln(w, "\nsteps:")
	for _, s := range tel.steps {
		fmt.Fprintf(w, "  %-12s %v  %v\n", s.name, callback.MustParseToken(s.token), s.outcome)
	}

	fmt.Fprintln(w, "\nspans (one tree per trace):")
	children := map[trace.SpanID][]tracetest.SpanStub{}
	ids := map[trace.SpanID]bool{}
	for _, s := range tel.spans {
		ids[s.SpanContext.SpanID()] = true
	}
	var roots []tracetest.SpanStub
	for _, s := range tel.spans {
		if p := s.Parent.SpanID(); s.Parent.IsValid() && ids[p] {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
	}
	var count func(id trace.SpanID) int
	count = func(id trace.SpanID) int {
		n := 0
		for _, c := range children[id] {
			n += 1 + count(c.SpanContext.SpanID())
		}
		return n
	}
	var walk func(s tracetest.SpanStub, depth int)
	walk = func(s tracetest.SpanStub, depth int) {
		indent := strings.Repeat("  ", depth+1)
		fmt.Fprintf(w, "%s%s%s\n", indent, s.Name, spanDetail(s))
		id := s.SpanContext.SpanID()
		if !all && isOperation(s) {
			if n := count(id); n > 0 {
				fmt.Fprintf(w, "%s  (%d spans of the SDK's middleware; -all shows them)\n", indent, n)
			}
			return
		}
		for _, c := range byStart(children[id]) {
			walk(c, depth+1)
		}
	}
	for _, s := range byStart(roots) {
		walk(s, 0)
	}

	fmt.Fprintln(w, "\nmetrics:")
	for _, sm := range tel.metrics.ScopeMetrics {
		fmt.Fprintf(w, "  scope %s\n", sm.Scope.Name)
		for _, m := range sm.Metrics {
			unit := ""
			if m.Unit != "" {
				unit = " (" + m.Unit + ")"
			}
			fmt.Fprintf(w, "    %s%s\n", m.Name, unit)
			for _, p := range points(m.Data) {
				fmt.Fprintf(w, "      %s\n", p)
			}
		}
	}
}

// isOperation reports whether s is the AWS SDK's span of one operation call,
// as "SageMaker.SendPipelineExecutionStepSuccess".
func isOperation(s tracetest.SpanStub) bool {
	for _, kv := range s.Attributes {
		if kv.Key == "rpc.system" && kv.Value.AsString() == "aws-api" {
			return true
		}
	}
	return false
}

// byStart returns spans sorted by start time.
func byStart(spans []tracetest.SpanStub) []tracetest.SpanStub {
	return slices.SortedFunc(slices.Values(spans), func(a, b tracetest.SpanStub) int {
		return a.StartTime.Compare(b.StartTime)
	})
}

// spanDetail returns a span's status, when an error, and its attributes,
// sorted by key, as " [error] k=v k=v".
func spanDetail(s tracetest.SpanStub) string {
	var b strings.Builder
	if s.Status.Code == codes.Error {
		b.WriteString(" [error]")
	}
	b.WriteString(attrs(s.Attributes))
	for _, e := range s.Events {
		fmt.Fprintf(&b, " event %s{%s }", e.Name, attrs(e.Attributes))
	}
	return b.String()
}

// attrs returns key=value pairs sorted by key, each after a space.
func attrs(kvs []attribute.KeyValue) string {
	kvs = slices.SortedFunc(slices.Values(kvs), func(a, b attribute.KeyValue) int { return cmp.Compare(a.Key, b.Key) })
	var b strings.Builder
	for _, kv := range kvs {
		v := kv.Value.Emit()
		if kv.Value.Type() == attribute.STRING {
			v = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, " %s=%s", kv.Key, v)
	}
	return b.String()
}

// points returns one line for each data point of a metric: its attributes
// and its value, or count and sum for a histogram.
func points(data metricdata.Aggregation) []string {
	var out []string
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out = append(out, fmt.Sprintf("%d%s", p.Value, attrs(p.Attributes.ToSlice())))
		}
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			out = append(out, fmt.Sprintf("%g%s", p.Value, attrs(p.Attributes.ToSlice())))
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			out = append(out, fmt.Sprintf("%d%s", p.Value, attrs(p.Attributes.ToSlice())))
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			out = append(out, fmt.Sprintf("%g%s", p.Value, attrs(p.Attributes.ToSlice())))
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			out = append(out, fmt.Sprintf("count=%d sum=%d%s", p.Count, p.Sum, attrs(p.Attributes.ToSlice())))
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out = append(out, fmt.Sprintf("count=%d sum=%.6f%s", p.Count, p.Sum, attrs(p.Attributes.ToSlice())))
		}
	default:
		out = append(out, fmt.Sprintf("%T", data))
	}
	slices.Sort(out)
	return out
}
