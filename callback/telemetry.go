package callback

import (
	"context"
	"log/slog"
	"reflect"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback/internal/safetel"
	"github.com/stepcallback/sagemaker-callback/callback/internal/typednil"
)

// scope names the Client's tracer and meter.
const scope = "github.com/stepcallback/sagemaker-callback/callback"

// telemetry is what a call records with, made from Options by New (or for
// one call given providers of its own). Its tracer and instruments are
// safetel's: nil ones record nothing and a panic of the provider's is
// logged, never passed on.
type telemetry struct {
	tp       tracing.TracerProvider // the providers it was made from
	mp       metrics.MeterProvider
	tracer   safetel.Tracer
	duration safetel.Float64
	attempts safetel.Int64
}

func newTelemetry(o *Options) *telemetry {
	g := &safetel.Guard{Log: o.Logger}
	m := g.Meter(o.MeterProvider, scope)
	return &telemetry{
		tp:     o.TracerProvider,
		mp:     o.MeterProvider,
		tracer: g.Tracer(o.TracerProvider, scope),
		duration: m.Float64Histogram("callback.report.duration", func(io *metrics.InstrumentOptions) {
			io.UnitLabel = "s"
			io.Description = "Duration of a Fail or Succeed call, retries included"
		}),
		attempts: m.Int64Histogram("callback.report.attempts", func(io *metrics.InstrumentOptions) {
			io.UnitLabel = "{attempt}"
			io.Description = "Requests a Fail or Succeed call sent"
		}),
	}
}

// madeFrom reports whether t was made from o's providers.
func (t *telemetry) madeFrom(o *Options) bool {
	return same(t.tp, o.TracerProvider) && same(t.mp, o.MeterProvider)
}

// same reports whether a and b are the same provider by ==, as a call's
// Options hold the Client's when its optFns leave them alone. Values that
// == cannot compare (a func, a struct holding a slice) are never the same:
// a call with options of its own makes telemetry of its own for such a
// provider, where any other is made once, by New (TestOneMeterPerClient).
func same(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if !va.IsValid() || !vb.IsValid() {
		return !va.IsValid() && !vb.IsValid()
	}
	return va.Comparable() && vb.Comparable() && a == b
}

// on reports whether t records anything; a nil t (the zero Client's)
// records nothing.
func (t *telemetry) on() bool {
	return t != nil && (t.tracer.On() || t.duration.On() || t.attempts.On())
}

// start starts the span of one call, when there is a tracer, and returns the
// context the provider returned with it, for the SDK's spans to nest under.
func (t *telemetry) start(ctx context.Context, op string, tok Token) (context.Context, safetel.Span) {
	name := "callback.Fail"
	if op == OpSuccess {
		name = "callback.Succeed"
	}
	return t.tracer.Start(ctx, name, func(o *tracing.SpanOptions) {
		o.Properties.Set("callback.operation", op)
		if !tok.IsZero() {
			o.Properties.Set("callback.token.fingerprint", tok.Fingerprint())
		}
	})
}

// end ends the span and records the metrics of a call that sent attempts
// requests and ended with outcome.
func (t *telemetry) end(ctx context.Context, span safetel.Span, began time.Time, op string, attempts int, outcome, requestID string) {
	if span.On() {
		span.SetProperty("callback.attempts", attempts)
		span.SetProperty("callback.outcome", outcome)
		if requestID != "" {
			span.SetProperty("aws.request_id", requestID)
		}
		if outcome == "ok" {
			span.SetStatus(tracing.SpanStatusOK)
		} else {
			span.SetStatus(tracing.SpanStatusError)
		}
		span.End()
	}
	attrs := func(o *metrics.RecordMetricOptions) {
		o.Properties.Set("operation", op)
		o.Properties.Set("outcome", outcome)
	}
	t.duration.Record(ctx, time.Since(began).Seconds(), attrs)
	t.attempts.Record(ctx, int64(attempts), attrs)
}

// unexpected is the class of an answer not classified, and of a call that
// did not return.
var unexpected, _ = classOf(ErrUnexpected)

// outcome names how a call ended, for spans and metrics: "ok", or its
// class's Name, or "canceled" when the caller's context ended first.
func outcome(ctx context.Context, e *Error) string {
	switch {
	case e == nil:
		return "ok"
	case e.Class == ErrInvalid && e.Attempts == 0:
		// refused before sending, whatever the context
	case ctx.Err() != nil:
		c, _ := classOf(ctx.Err())
		return c.Name
	}
	if c, ok := classOf(e.Class); ok {
		return c.Name
	}
	return unexpected.Name
}

// guardSDKSpans returns the SDK option that makes the SDK's tracing safe
// for one call, whatever the API (a *sagemaker.Client, or a wrapper of one
// with a TracerProvider of its own): a nil provider becomes the SDK's
// no-op one, and any other (but that no-op one) is wrapped by safetel, so
// that its nil tracers and spans are no-ops, a panic of its spans is logged
// to log and never reaches the SDK, and no span records tok's raw value (the
// SDK's operation span records the service's error message, which may echo
// the token: exception.message, api.error_message). The spans that the
// provider puts in the context stay its own: the SDK, and OTel adapters,
// find them there. It is safetel's Guard.ForSDK, with the Guard (which
// carries the call's token) made only for a provider that records, so that
// an untraced call allocates nothing for it.
func guardSDKSpans(tok Token, log *slog.Logger) func(*sagemaker.Options) {
	return func(o *sagemaker.Options) {
		switch p := o.TracerProvider; {
		case typednil.Is(p):
			o.TracerProvider = tracing.NopTracerProvider{}
		case !safetel.IsNop(p):
			o.TracerProvider = (&safetel.Guard{Log: log, Redact: tok.Redact}).Provider(p)
		}
	}
}
