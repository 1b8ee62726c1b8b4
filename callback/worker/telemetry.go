package worker

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"
)

// scope names the Worker's tracer and meter.
const scope = "github.com/stepcallback/sagemaker-callback/callback/worker"

// telemetry is a Worker's tracer and instruments. A nil field records
// nothing.
type telemetry struct {
	tracer   tracing.Tracer
	messages metrics.Int64Counter
	handler  metrics.Float64Histogram
	age      metrics.Float64Histogram
	inflight metrics.Int64UpDownCounter
}

// newTelemetry makes the tracer and the instruments of the providers given;
// an instrument the meter refuses is logged and left out.
func newTelemetry(tp tracing.TracerProvider, mp metrics.MeterProvider, log *slog.Logger) telemetry {
	var t telemetry
	if tp != nil {
		t.tracer = tp.Tracer(scope)
	}
	if mp == nil {
		return t
	}
	m := mp.Meter(scope)
	t.messages = instrument(log, "callback.worker.messages", "{message}", "Messages the worker is done with, by outcome.", m.Int64Counter)
	t.handler = instrument(log, "callback.worker.handler.duration", "s", "Time a handler ran.", m.Float64Histogram)
	t.age = instrument(log, "callback.worker.message.age", "s", "Time from a message's SentTimestamp to its receipt.", m.Float64Histogram)
	t.inflight = instrument(log, "callback.worker.inflight", "{message}", "Messages the worker holds.", m.Int64UpDownCounter)
	return t
}

// instrument makes an instrument with create; one refused is logged and left
// out (the zero T, nil).
func instrument[T any](log *slog.Logger, name, unit, description string, create func(string, ...metrics.InstrumentOption) (T, error)) T {
	i, err := create(name, func(o *metrics.InstrumentOptions) { o.UnitLabel, o.Description = unit, description })
	if err != nil {
		log.Warn("worker: the MeterProvider refused an instrument; it is not recorded", slog.String("instrument", name), slog.String("error", err.Error()))
		var none T
		return none
	}
	return i
}

// start starts the span of a message and returns ctx with it, as
// tracing.WithSpan sets it, so that the spans of the reports, the SQS calls
// and the handler's own nest under it. The span is nil without a tracer.
func (t *telemetry) start(ctx context.Context, messageID string) (context.Context, tracing.Span) {
	if t.tracer == nil {
		return ctx, nil
	}
	ctx, span := t.tracer.StartSpan(ctx, "callback.worker.message", func(o *tracing.SpanOptions) {
		o.Kind = tracing.SpanKindConsumer
		o.Properties.Set("messaging.message.id", messageID)
	})
	return tracing.WithSpan(ctx, span), span
}

// duplicate marks the span of a delivery joined to a step already running
// here, which gives no Result of its own.
func (t *telemetry) duplicate(ctx context.Context) {
	if t.tracer != nil {
		span, _ := tracing.GetSpan(ctx)
		span.SetProperty("callback.worker.duplicate", true)
	}
}

// result records a message's Result: its outcome on the message's span (the
// one on ctx) and in callback.worker.messages. The span's status is an
// error unless the outcome is Succeeded or Settled.
func (t *telemetry) result(ctx context.Context, res *Result) {
	if t.tracer == nil && t.messages == nil {
		return
	}
	outcome := strings.ToLower(res.Outcome.String())
	if t.tracer != nil {
		span, _ := tracing.GetSpan(ctx)
		span.SetProperty("callback.outcome", outcome)
		if res.Outcome == Succeeded || res.Outcome == Settled {
			span.SetStatus(tracing.SpanStatusOK)
		} else {
			span.SetStatus(tracing.SpanStatusError)
		}
	}
	if t.messages != nil {
		t.messages.Add(ctx, 1, func(o *metrics.RecordMetricOptions) { o.Properties.Set("outcome", outcome) })
	}
}

// end ends a message's span, if any.
func (t *telemetry) end(_ context.Context, span tracing.Span) {
	if span != nil {
		span.End()
	}
}

// handlerTook records how long a handler ran.
func (t *telemetry) handlerTook(ctx context.Context, d time.Duration) {
	if t.handler != nil {
		t.handler.Record(ctx, d.Seconds())
	}
}

// received records the age of a message received at now, from its
// SentTimestamp attribute (milliseconds since the epoch).
func (t *telemetry) received(ctx context.Context, attrs map[string]string, now time.Time) {
	if t.age == nil {
		return
	}
	if ms, err := strconv.ParseInt(attrs[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		t.age.Record(ctx, now.Sub(time.UnixMilli(ms)).Seconds())
	}
}

// hold adds n to the messages in flight.
func (t *telemetry) hold(ctx context.Context, n int64) {
	if t.inflight != nil {
		t.inflight.Add(ctx, n)
	}
}
