package worker

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"
)

// instrumentScope is the scope of the tracer and the meter of
// LambdaOptions' providers.
const instrumentScope = "github.com/stepcallback/sagemaker-callback/callback/worker"

// lambdaObserver holds the tracer and the instruments of a LambdaHandler's
// providers; a nil *lambdaObserver does nothing. An instrument the meter
// refused is nil, and skipped.
type lambdaObserver struct {
	tracer   tracing.Tracer
	messages metrics.Int64Counter
	duration metrics.Float64Histogram
	age      metrics.Float64Histogram
	inflight metrics.Int64UpDownCounter
}

func newLambdaObserver(tp tracing.TracerProvider, mp metrics.MeterProvider) *lambdaObserver {
	if tp == nil && mp == nil {
		return nil
	}
	o := &lambdaObserver{}
	if tp != nil {
		o.tracer = tp.Tracer(instrumentScope)
	}
	if mp != nil {
		m := mp.Meter(instrumentScope)
		o.messages, _ = m.Int64Counter("callback.worker.messages", describe("{message}", "Messages handled, by outcome."))
		o.duration, _ = m.Float64Histogram("callback.worker.handler.duration", describe("s", "How long the handler ran."))
		o.age, _ = m.Float64Histogram("callback.worker.message.age", describe("s", "From the message's SentTimestamp to its receipt."))
		o.inflight, _ = m.Int64UpDownCounter("callback.worker.inflight", describe("{message}", "Messages being worked on."))
	}
	return o
}

func describe(unit, desc string) metrics.InstrumentOption {
	return func(o *metrics.InstrumentOptions) { o.UnitLabel, o.Description = unit, desc }
}

// received starts a span per record and counts the records in flight and
// their age.
func (o *lambdaObserver) received(b *batch, records []events.SQSMessage) {
	if o == nil {
		return
	}
	now := time.Now()
	if o.tracer != nil {
		b.spans = make([]tracing.Span, len(records))
		b.spanCtxs = make([]context.Context, len(records))
		for i, rec := range records {
			b.spanCtxs[i], b.spans[i] = o.tracer.StartSpan(b.rctx, "callback.worker.message", func(so *tracing.SpanOptions) {
				so.Kind = tracing.SpanKindConsumer
				so.Properties.Set("messaging.message.id", rec.MessageId)
			})
		}
	}
	if o.inflight != nil {
		o.inflight.Add(b.ctx, int64(len(records)))
	}
	if o.age != nil {
		for _, rec := range records {
			if ms, err := strconv.ParseInt(rec.Attributes["SentTimestamp"], 10, 64); err == nil {
				o.age.Record(b.ctx, max(now.Sub(time.UnixMilli(ms)).Seconds(), 0))
			}
		}
	}
}

// withSpan gives the step's report and handler the context of its record
// i's span: the one StartSpan returned, which the provider's own spans
// (the SDK's among them) find their parent in. The handler's ends when the
// batch's handler context does.
func (o *lambdaObserver) withSpan(b *batch, s *lambdaStep, i int) {
	if o == nil || o.tracer == nil {
		return
	}
	s.rctx, s.hctx = b.spanCtxs[i], b.spanCtxs[i]
	if !b.cut.IsZero() {
		var cancel context.CancelFunc
		s.hctx, cancel = context.WithDeadlineCause(s.rctx, b.cut, ErrShutdown)
		b.cancels = append(b.cancels, cancel)
	}
}

// handled records a handler's run.
func (o *lambdaObserver) handled(ctx context.Context, d time.Duration) {
	if o == nil || o.duration == nil {
		return
	}
	o.duration.Record(ctx, d.Seconds())
}

// done ends record i's span with its outcome, and counts it.
func (o *lambdaObserver) done(b *batch, i int, out Outcome) {
	if o == nil {
		return
	}
	name := strings.ToLower(out.String())
	if b.spans != nil {
		span := b.spans[i]
		span.SetProperty("callback.outcome", name)
		if out == Succeeded || out == Settled {
			span.SetStatus(tracing.SpanStatusOK)
		} else {
			span.SetStatus(tracing.SpanStatusError)
		}
		span.End()
	}
	if o.messages != nil {
		o.messages.Add(b.ctx, 1, func(ro *metrics.RecordMetricOptions) { ro.Properties.Set("outcome", name) })
	}
	if o.inflight != nil {
		o.inflight.Add(b.ctx, -1)
	}
}
