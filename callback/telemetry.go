package callback

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"
)

// scope names the Client's tracer and meter.
const scope = "github.com/stepcallback/sagemaker-callback/callback"

// telemetry is what a call records with, made from Options; a nil field
// records nothing.
type telemetry struct {
	tracer   tracing.Tracer
	duration metrics.Float64Histogram
	attempts metrics.Int64Histogram
}

func newTelemetry(o *Options) telemetry {
	var t telemetry
	if o.TracerProvider != nil {
		t.tracer = o.TracerProvider.Tracer(scope)
	}
	if o.MeterProvider != nil {
		m := o.MeterProvider.Meter(scope)
		// A meter that cannot make an instrument records nothing with it.
		t.duration, _ = m.Float64Histogram("callback.report.duration", func(io *metrics.InstrumentOptions) {
			io.UnitLabel = "s"
			io.Description = "Duration of a Fail or Succeed call, retries included"
		})
		t.attempts, _ = m.Int64Histogram("callback.report.attempts", func(io *metrics.InstrumentOptions) {
			io.UnitLabel = "{attempt}"
			io.Description = "Requests a Fail or Succeed call sent"
		})
	}
	return t
}

func (t *telemetry) on() bool { return t.tracer != nil || t.duration != nil || t.attempts != nil }

// start starts the span of one call, when there is a tracer, and returns the
// context that carries it, for the SDK's spans to nest under.
func (t *telemetry) start(ctx context.Context, op string, tok Token) (context.Context, tracing.Span) {
	if t.tracer == nil {
		return ctx, nil
	}
	name := "callback.Fail"
	if op == OpSuccess {
		name = "callback.Succeed"
	}
	return t.tracer.StartSpan(ctx, name, func(o *tracing.SpanOptions) {
		o.Properties.Set("callback.operation", op)
		if !tok.IsZero() {
			o.Properties.Set("callback.token.fingerprint", tok.Fingerprint())
		}
	})
}

// end ends the span and records the metrics of a call that sent attempts
// requests and ended with outcome.
func (t *telemetry) end(ctx context.Context, span tracing.Span, began time.Time, op string, attempts int, outcome, requestID string) {
	if span != nil {
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
	if t.duration != nil {
		t.duration.Record(ctx, time.Since(began).Seconds(), attrs)
	}
	if t.attempts != nil {
		t.attempts.Record(ctx, int64(attempts), attrs)
	}
}

// outcome names how a call ended, for spans and metrics: "ok", or its class
// in snake case, or "canceled" when the caller's context ended first.
func outcome(ctx context.Context, e *Error) string {
	switch {
	case e == nil:
		return "ok"
	case e.Class == ErrInvalid && e.Attempts == 0:
		return "invalid" // refused before sending, whatever the context
	case ctx.Err() != nil:
		return "canceled"
	}
	switch e.Class {
	case ErrConflict:
		return "conflict"
	case ErrLimitExceeded:
		return "limit_exceeded"
	case ErrNotFound:
		return "not_found"
	case ErrInvalid:
		return "invalid"
	case ErrThrottled:
		return "throttled"
	case ErrAccessDenied:
		return "access_denied"
	case ErrUnavailable:
		return "unavailable"
	case context.Canceled, context.DeadlineExceeded:
		return "canceled"
	}
	return "unexpected"
}

// sdkTracesTo reports whether api is a SageMaker client with a tracer
// provider of its own, whose spans Client must redact.
func sdkTracesTo(api API) bool {
	sc, ok := api.(*sagemaker.Client)
	return ok && sc != nil && traces(sc.Options().TracerProvider)
}

// traces reports whether p records anything: it is neither nil nor the SDK's
// default, tracing.NopTracerProvider.
func traces(p tracing.TracerProvider) bool {
	switch p.(type) {
	case nil, tracing.NopTracerProvider, *tracing.NopTracerProvider:
		return false
	}
	return true
}

// redactSDKSpans returns the SDK option that wraps, for one call, the SDK's
// tracer provider so that its spans never record tok's raw value: the
// service's error message that the SDK's operation span records
// (exception.message, api.error_message) may echo the token. The wrapper's
// spans are never put on a context: the SDK's, and OTel adapters, find their
// own spans there.
func redactSDKSpans(tok Token) func(*sagemaker.Options) {
	return func(o *sagemaker.Options) {
		if traces(o.TracerProvider) {
			o.TracerProvider = redactingProvider{o.TracerProvider, redactor{tok.Reveal(), tok.String()}}
		}
	}
}

// redactor replaces raw by redacted in what spans record.
type redactor struct{ raw, redacted string }

func (r redactor) value(v any) any {
	switch v := v.(type) {
	case string:
		return strings.ReplaceAll(v, r.raw, r.redacted)
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = strings.ReplaceAll(s, r.raw, r.redacted)
		}
		return out
	}
	return v
}

// properties redacts every value of p.
func (r redactor) properties(p *smithy.Properties) {
	for k, v := range p.Values() {
		p.Set(k, r.value(v))
	}
}

type redactingProvider struct {
	tracing.TracerProvider
	r redactor
}

func (p redactingProvider) Tracer(scope string, opts ...tracing.TracerOption) tracing.Tracer {
	return redactingTracer{p.TracerProvider.Tracer(scope, opts...), p.r}
}

type redactingTracer struct {
	tracing.Tracer
	r redactor
}

func (t redactingTracer) StartSpan(ctx context.Context, name string, opts ...tracing.SpanOption) (context.Context, tracing.Span) {
	opts = append(slices.Clip(opts), func(o *tracing.SpanOptions) { t.r.properties(&o.Properties) })
	ctx, span := t.Tracer.StartSpan(ctx, t.r.value(name).(string), opts...)
	return ctx, redactingSpan{span, t.r}
}

type redactingSpan struct {
	tracing.Span
	r redactor
}

func (s redactingSpan) SetProperty(k, v any) { s.Span.SetProperty(k, s.r.value(v)) }

func (s redactingSpan) AddEvent(name string, opts ...tracing.EventOption) {
	opts = append(slices.Clip(opts), func(o *tracing.EventOptions) { s.r.properties(&o.Properties) })
	s.Span.AddEvent(s.r.value(name).(string), opts...)
}
