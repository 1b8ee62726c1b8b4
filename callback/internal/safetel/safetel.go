package safetel

import (
	"context"
	"log/slog"
	"slices"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback/internal/errtext"
	"github.com/stepcallback/sagemaker-callback/callback/internal/typednil"
)

// Guard is what the wrappers share: where a panic is logged, and what
// strings become before they reach a provider. A nil *Guard is a Guard
// with nil fields.
type Guard struct {
	// Log gets a panic of a provider's method at Error, and an instrument
	// a meter refused at Warn. Nil means slog.Default().
	Log *slog.Logger

	// Redact, when not nil, is applied to every string a wrapped tracer
	// or span passes on (span and event names, string and []string
	// property values) and to the text of a logged panic.
	Redact func(string) string
}

// recovered logs the panic v, if any, of the provider's method what
// (e.g. "span End"). A Logger that panics in turn is ignored.
func (g *Guard) recovered(what string, v any) {
	if v == nil {
		return
	}
	defer func() { _ = recover() }()
	g.logger().LogAttrs(context.Background(), slog.LevelError, "callback: a telemetry provider panicked; the panic is ignored",
		slog.String("call", what), slog.String("panic", g.text(errtext.Value(v))))
}

func (g *Guard) logger() *slog.Logger {
	if g == nil || g.Log == nil {
		return slog.Default()
	}
	return g.Log
}

func (g *Guard) text(s string) string {
	if g == nil || g.Redact == nil {
		return s
	}
	return g.Redact(s)
}

// value returns v with Redact applied when it is a string or a []string.
func (g *Guard) value(v any) any {
	if g == nil || g.Redact == nil {
		return v
	}
	switch v := v.(type) {
	case string:
		return g.Redact(v)
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = g.Redact(s)
		}
		return out
	}
	return v
}

// properties applies value to every value of p.
func (g *Guard) properties(p *smithy.Properties) {
	if g == nil || g.Redact == nil {
		return
	}
	for k, v := range p.Values() {
		p.Set(k, g.value(v))
	}
}

// Provider returns p wrapped so that its tracers, and their spans, are
// Guard's Tracers and Spans. It returns nil for a nil p (a typed nil
// included). Give it to the SDK (sagemaker.Options.TracerProvider).
func (g *Guard) Provider(p tracing.TracerProvider) tracing.TracerProvider {
	if typednil.Is(p) {
		return nil
	}
	return provider{p, g}
}

// IsNop reports whether p is the SDK's default TracerProvider
// (tracing.NopTracerProvider), which records nothing.
func IsNop(p tracing.TracerProvider) bool {
	switch p.(type) {
	case tracing.NopTracerProvider, *tracing.NopTracerProvider:
		return true
	}
	return false
}

// ForSDK returns the TracerProvider to give an SDK client for one call
// (an optFn's o.TracerProvider) in place of p: the SDK's no-op provider for
// a nil p (a typed nil included), p itself when it is that no-op provider,
// and Provider(p) otherwise, so that the SDK's spans cannot hurt.
func (g *Guard) ForSDK(p tracing.TracerProvider) tracing.TracerProvider {
	switch {
	case typednil.Is(p):
		return tracing.NopTracerProvider{}
	case IsNop(p):
		return p
	}
	return g.Provider(p)
}

type provider struct {
	p tracing.TracerProvider
	g *Guard
}

// Tracer is Guard.Tracer.
func (p provider) Tracer(scope string, opts ...tracing.TracerOption) tracing.Tracer {
	return p.g.Tracer(p.p, scope, opts...)
}

// Tracer returns p's tracer for scope, wrapped. When p is nil, returns a
// nil tracer or panics (logged), the Tracer is off: it starts no spans.
func (g *Guard) Tracer(p tracing.TracerProvider, scope string, opts ...tracing.TracerOption) Tracer {
	if typednil.Is(p) {
		return Tracer{}
	}
	t := Tracer{g: g}
	func() {
		defer func() { g.recovered("TracerProvider.Tracer", recover()) }()
		t.t = p.Tracer(scope, opts...)
	}()
	if typednil.Is(t.t) {
		return Tracer{}
	}
	return t
}

// Tracer is a tracer that starts Spans. The zero Tracer is off.
type Tracer struct {
	t tracing.Tracer
	g *Guard
}

// On reports whether t starts spans.
func (t Tracer) On() bool { return t.t != nil }

// Start starts a span named name, a child of the span in ctx as the
// provider finds it, and returns the context the provider returned with it.
// When t is off, the tracer returns a nil span or panics (logged), it
// returns ctx and a Span that does nothing.
func (t Tracer) Start(ctx context.Context, name string, opts ...tracing.SpanOption) (context.Context, Span) {
	if t.t == nil {
		return ctx, Span{}
	}
	if t.g != nil && t.g.Redact != nil {
		name = t.g.Redact(name)
		opts = append(slices.Clip(opts), func(o *tracing.SpanOptions) { t.g.properties(&o.Properties) })
	}
	out, s := ctx, Span{g: t.g}
	func() {
		defer func() { t.g.recovered("Tracer.StartSpan", recover()) }()
		c, span := t.t.StartSpan(ctx, name, opts...)
		if c != nil {
			out = c
		}
		s.s = span
	}()
	if typednil.Is(s.s) {
		return out, Span{}
	}
	return out, s
}

// StartSpan is Start, as tracing.Tracer has it.
func (t Tracer) StartSpan(ctx context.Context, name string, opts ...tracing.SpanOption) (context.Context, tracing.Span) {
	return t.Start(ctx, name, opts...)
}

// Span is a span whose methods never panic: the zero Span does nothing, and
// a panic of the provider's span is logged. It is a tracing.Span.
type Span struct {
	s tracing.Span
	g *Guard
}

// On reports whether s records anything.
func (s Span) On() bool { return s.s != nil }

// WithSpan returns ctx with s's span as the active span (tracing.WithSpan),
// the provider's own, not the wrapper; ctx itself when s is the zero Span.
func WithSpan(ctx context.Context, s Span) context.Context {
	if s.s == nil {
		return ctx
	}
	return tracing.WithSpan(ctx, s.s)
}

// Name returns the span's name, or "".
func (s Span) Name() (name string) {
	if s.s == nil {
		return ""
	}
	defer func() { s.g.recovered("Span.Name", recover()) }()
	return s.s.Name()
}

// Context returns the span's SpanContext, or the zero one.
func (s Span) Context() (sc tracing.SpanContext) {
	if s.s == nil {
		return sc
	}
	defer func() { s.g.recovered("Span.Context", recover()) }()
	return s.s.Context()
}

// AddEvent adds an event to the span.
func (s Span) AddEvent(name string, opts ...tracing.EventOption) {
	if s.s == nil {
		return
	}
	if s.g != nil && s.g.Redact != nil {
		name = s.g.Redact(name)
		opts = append(slices.Clip(opts), func(o *tracing.EventOptions) { s.g.properties(&o.Properties) })
	}
	defer func() { s.g.recovered("Span.AddEvent", recover()) }()
	s.s.AddEvent(name, opts...)
}

// SetStatus sets the span's status.
func (s Span) SetStatus(status tracing.SpanStatus) {
	if s.s == nil {
		return
	}
	defer func() { s.g.recovered("Span.SetStatus", recover()) }()
	s.s.SetStatus(status)
}

// SetProperty sets a property of the span.
func (s Span) SetProperty(k, v any) {
	if s.s == nil {
		return
	}
	v = s.g.value(v)
	defer func() { s.g.recovered("Span.SetProperty", recover()) }()
	s.s.SetProperty(k, v)
}

// End ends the span.
func (s Span) End() {
	if s.s == nil {
		return
	}
	defer func() { s.g.recovered("Span.End", recover()) }()
	s.s.End()
}

// Meter returns p's meter for scope, wrapped. When p is nil, returns a nil
// meter or panics (logged), the Meter is off: its instruments record nothing.
func (g *Guard) Meter(p metrics.MeterProvider, scope string, opts ...metrics.MeterOption) Meter {
	if typednil.Is(p) {
		return Meter{}
	}
	m := Meter{g: g}
	func() {
		defer func() { g.recovered("MeterProvider.Meter", recover()) }()
		m.m = p.Meter(scope, opts...)
	}()
	if typednil.Is(m.m) {
		return Meter{}
	}
	return m
}

// Meter makes instruments. The zero Meter is off.
type Meter struct {
	m metrics.Meter
	g *Guard
}

// On reports whether m makes instruments that record.
func (m Meter) On() bool { return m.m != nil }

// Int64Counter returns the meter's Int64Counter called name; Record adds to
// it.
func (m Meter) Int64Counter(name string, opts ...metrics.InstrumentOption) Int64 {
	c := instrument(m, name, "Meter.Int64Counter", func() (metrics.Int64Counter, error) { return m.m.Int64Counter(name, opts...) })
	if c == nil {
		return Int64{}
	}
	return Int64{c.Add, name, m.g}
}

// Int64UpDownCounter returns the meter's Int64UpDownCounter called name;
// Record adds to it.
func (m Meter) Int64UpDownCounter(name string, opts ...metrics.InstrumentOption) Int64 {
	c := instrument(m, name, "Meter.Int64UpDownCounter", func() (metrics.Int64UpDownCounter, error) { return m.m.Int64UpDownCounter(name, opts...) })
	if c == nil {
		return Int64{}
	}
	return Int64{c.Add, name, m.g}
}

// Int64Histogram returns the meter's Int64Histogram called name.
func (m Meter) Int64Histogram(name string, opts ...metrics.InstrumentOption) Int64 {
	h := instrument(m, name, "Meter.Int64Histogram", func() (metrics.Int64Histogram, error) { return m.m.Int64Histogram(name, opts...) })
	if h == nil {
		return Int64{}
	}
	return Int64{h.Record, name, m.g}
}

// Float64Histogram returns the meter's Float64Histogram called name.
func (m Meter) Float64Histogram(name string, opts ...metrics.InstrumentOption) Float64 {
	h := instrument(m, name, "Meter.Float64Histogram", func() (metrics.Float64Histogram, error) { return m.m.Float64Histogram(name, opts...) })
	if h == nil {
		return Float64{}
	}
	return Float64{h.Record, name, m.g}
}

// instrument returns what create makes, or nil when the meter is off, or
// create returns nil, an error (logged) or panics (logged).
func instrument[T any](m Meter, name, what string, create func() (T, error)) T {
	var none T
	if m.m == nil {
		return none
	}
	var (
		i   T
		err error
	)
	func() {
		defer func() { m.g.recovered(what, recover()) }()
		i, err = create()
	}()
	if err != nil {
		func() {
			defer func() { _ = recover() }()
			m.g.logger().Warn("callback: the MeterProvider refused an instrument; it is not recorded",
				slog.String("instrument", name), slog.String("error", m.g.text(errtext.Of(err))))
		}()
		return none
	}
	if typednil.Is(i) {
		return none
	}
	return i
}

// Int64 is an instrument of int64 values: a counter (Record adds) or a
// histogram. The zero Int64 records nothing; a panic of the provider's
// instrument is logged.
type Int64 struct {
	f    func(context.Context, int64, ...metrics.RecordMetricOption)
	name string
	g    *Guard
}

// On reports whether i records anything.
func (i Int64) On() bool { return i.f != nil }

// Record adds v to a counter, or records it in a histogram.
func (i Int64) Record(ctx context.Context, v int64, opts ...metrics.RecordMetricOption) {
	if i.f == nil {
		return
	}
	defer func() { i.g.recovered(i.name, recover()) }()
	i.f(ctx, v, opts...)
}

// Float64 is an instrument of float64 values, as Int64 is of int64 ones.
type Float64 struct {
	f    func(context.Context, float64, ...metrics.RecordMetricOption)
	name string
	g    *Guard
}

// On reports whether i records anything.
func (i Float64) On() bool { return i.f != nil }

// Record records v in the histogram.
func (i Float64) Record(ctx context.Context, v float64, opts ...metrics.RecordMetricOption) {
	if i.f == nil {
		return
	}
	defer func() { i.g.recovered(i.name, recover()) }()
	i.f(ctx, v, opts...)
}
