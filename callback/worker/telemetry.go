package worker

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback/internal/safetel"
)

// scope names the Worker's tracer and meter.
const scope = "github.com/stepcallback/sagemaker-callback/callback/worker"

// telemetry is a Worker's tracer and instruments, through safetel: a nil
// provider, tracer, span, meter or instrument records nothing, and a panic
// in one is logged and goes no further.
type telemetry struct {
	guard    *safetel.Guard
	tracer   safetel.Tracer
	messages safetel.Int64
	handler  safetel.Float64
	age      safetel.Float64
	inflight safetel.Int64
}

// newTelemetry makes the tracer and the instruments of the providers given;
// an instrument the meter refuses is logged and left out.
func newTelemetry(tp tracing.TracerProvider, mp metrics.MeterProvider, log *slog.Logger) telemetry {
	g := &safetel.Guard{Log: log}
	m := g.Meter(mp, scope)
	opts := func(unit, description string) metrics.InstrumentOption {
		return func(o *metrics.InstrumentOptions) { o.UnitLabel, o.Description = unit, description }
	}
	return telemetry{
		guard:    g,
		tracer:   g.Tracer(tp, scope),
		messages: m.Int64Counter("callback.worker.messages", opts("{message}", "Messages the worker is done with, by outcome.")),
		handler:  m.Float64Histogram("callback.worker.handler.duration", opts("s", "Time a handler ran.")),
		age:      m.Float64Histogram("callback.worker.message.age", opts("s", "Time from a message's SentTimestamp to its receipt.")),
		inflight: m.Int64UpDownCounter("callback.worker.inflight", opts("{message}", "Messages the worker holds.")),
	}
}

// start starts the span of a message and returns ctx with it, the
// provider's own span as tracing.WithSpan sets it, so that the spans of the
// reports, the SQS calls and the handler's own nest under it. The span does
// nothing without a tracer.
func (t *telemetry) start(ctx context.Context, messageID string) (context.Context, safetel.Span) {
	if !t.tracer.On() {
		return ctx, safetel.Span{}
	}
	ctx, span := t.tracer.Start(ctx, "callback.worker.message", func(o *tracing.SpanOptions) {
		o.Kind = tracing.SpanKindConsumer
		o.Properties.Set("messaging.message.id", messageID)
	})
	return safetel.WithSpan(ctx, span), span
}

// sqsSpans is the option given to each SQS call: it makes the SQS client's
// own tracing safe for the call, as package callback does for the SageMaker
// client's (the package documentation tells to give both clients the
// Worker's provider): a nil provider becomes the SDK's no-op one, and any
// other is wrapped by safetel, so that its nil tracers and spans are no-ops
// and a panic of its spans is logged and never reaches the SDK.
func (t *telemetry) sqsSpans(o *sqs.Options) {
	o.TracerProvider = t.guard.ForSDK(o.TracerProvider)
}

// duplicate marks the span of a delivery joined to a step already running
// here, which gives no Result of its own.
func (t *telemetry) duplicate(span safetel.Span) {
	span.SetProperty("callback.worker.duplicate", true)
}

// result records a message's Result: its outcome on the message's span and
// in callback.worker.messages. The span's status is an error unless the
// outcome is Succeeded or Settled.
func (t *telemetry) result(ctx context.Context, span safetel.Span, res *Result) {
	if !span.On() && !t.messages.On() {
		return
	}
	outcome := strings.ToLower(res.Outcome.String())
	span.SetProperty("callback.outcome", outcome)
	if res.Outcome == Succeeded || res.Outcome == Settled {
		span.SetStatus(tracing.SpanStatusOK)
	} else {
		span.SetStatus(tracing.SpanStatusError)
	}
	t.messages.Record(ctx, 1, func(o *metrics.RecordMetricOptions) { o.Properties.Set("outcome", outcome) })
}

// handlerTook records how long a handler ran.
func (t *telemetry) handlerTook(ctx context.Context, d time.Duration) {
	t.handler.Record(ctx, d.Seconds())
}

// received records the age of a message received at now, from its
// SentTimestamp attribute (milliseconds since the epoch).
func (t *telemetry) received(ctx context.Context, attrs map[string]string, now time.Time) {
	if !t.age.On() {
		return
	}
	if ms, err := strconv.ParseInt(attrs[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		t.age.Record(ctx, now.Sub(time.UnixMilli(ms)).Seconds())
	}
}

// hold adds n to the messages in flight.
func (t *telemetry) hold(ctx context.Context, n int64) {
	t.inflight.Record(ctx, n)
}
