package safetel_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback/internal/safetel"
)

// bad is a provider, tracer, span, meter and instrument in one, that
// misbehaves as its fields say: nil answers, panics, errors.
type bad struct {
	nilTracer, nilSpan, nilMeter, nilInstrument bool
	panics                                      bool
	refuse                                      bool

	props map[any]any
	names []string
	ended int
	added int64
}

func (b *bad) boom() {
	if b.panics {
		panic("boom")
	}
}

func (b *bad) Tracer(string, ...tracing.TracerOption) tracing.Tracer {
	if b.nilTracer {
		return nil
	}
	return b
}

func (b *bad) StartSpan(ctx context.Context, name string, opts ...tracing.SpanOption) (context.Context, tracing.Span) {
	b.boom()
	var o tracing.SpanOptions
	for _, fn := range opts {
		fn(&o)
	}
	b.names = append(b.names, name)
	for k, v := range o.Properties.Values() {
		b.setProp(k, v)
	}
	if b.nilSpan {
		return ctx, nil
	}
	return tracing.WithSpan(ctx, b), b
}

func (b *bad) setProp(k, v any) {
	if b.props == nil {
		b.props = map[any]any{}
	}
	b.props[k] = v
}

func (b *bad) Name() string { b.boom(); return "bad" }
func (b *bad) Context() tracing.SpanContext {
	b.boom()
	return tracing.SpanContext{TraceID: "t", SpanID: "s"}
}
func (b *bad) AddEvent(n string, _ ...tracing.EventOption) { b.boom(); b.names = append(b.names, n) }
func (b *bad) SetStatus(tracing.SpanStatus)                { b.boom() }
func (b *bad) SetProperty(k, v any)                        { b.boom(); b.setProp(k, v) }
func (b *bad) End()                                        { b.boom(); b.ended++ }

type meter struct {
	metrics.Meter // the methods not overridden panic on nil
	b             *bad
}

func (b *bad) Meter(string, ...metrics.MeterOption) metrics.Meter {
	b.boom()
	if b.nilMeter {
		return nil
	}
	return meter{b: b}
}

type instr struct{ b *bad }

func (i instr) Add(_ context.Context, v int64, _ ...metrics.RecordMetricOption) {
	i.b.boom()
	i.b.added += v
}
func (i instr) Record(_ context.Context, v int64, _ ...metrics.RecordMetricOption) {
	i.b.boom()
	i.b.added += v
}

type finstr struct{ b *bad }

func (i finstr) Record(_ context.Context, v float64, _ ...metrics.RecordMetricOption) {
	i.b.boom()
	i.b.added += int64(v)
}

func (m meter) Int64Counter(string, ...metrics.InstrumentOption) (metrics.Int64Counter, error) {
	switch {
	case m.b.refuse:
		return nil, errors.New("refused")
	case m.b.nilInstrument:
		return (*struct{ metrics.Int64Counter })(nil), nil
	}
	return instr{m.b}, nil
}

func (m meter) Int64UpDownCounter(string, ...metrics.InstrumentOption) (metrics.Int64UpDownCounter, error) {
	if m.b.nilInstrument {
		return nil, nil
	}
	return instr{m.b}, nil
}

func (m meter) Int64Histogram(string, ...metrics.InstrumentOption) (metrics.Int64Histogram, error) {
	if m.b.nilInstrument {
		return nil, nil
	}
	return instr{m.b}, nil
}

func (m meter) Float64Histogram(string, ...metrics.InstrumentOption) (metrics.Float64Histogram, error) {
	if m.b.nilInstrument {
		return nil, nil
	}
	return finstr{m.b}, nil
}

// use calls everything a caller would, and returns the logs.
func use(t *testing.T, tp tracing.TracerProvider, mp metrics.MeterProvider) string {
	t.Helper()
	var buf bytes.Buffer
	g := &safetel.Guard{Log: slog.New(slog.NewTextHandler(&buf, nil))}
	ctx := context.Background()
	tr := g.Tracer(tp, "scope")
	ctx, span := tr.Start(ctx, "op")
	span.SetProperty("k", "v")
	span.AddEvent("e")
	span.SetStatus(tracing.SpanStatusOK)
	_ = span.Name()
	_ = span.Context()
	ctx = safetel.WithSpan(ctx, span)
	sdkTracer := g.Provider(tp)
	if sdkTracer != nil {
		_, s := sdkTracer.Tracer("sdk").StartSpan(ctx, "sdk")
		s.SetProperty("x", 1)
		s.End()
	}
	span.End()
	m := g.Meter(mp, "scope")
	m.Int64Counter("c").Record(ctx, 1)
	m.Int64UpDownCounter("u").Record(ctx, 1)
	m.Int64Histogram("h").Record(ctx, 1)
	m.Float64Histogram("f").Record(ctx, 1)
	return buf.String()
}

// TestNothingHurts: nil providers, nil tracers, spans, meters and
// instruments, and panics in every method, crash nothing; panics are logged.
func TestNothingHurts(t *testing.T) {
	var typedNil *bad
	for _, c := range []struct {
		name      string
		tp        tracing.TracerProvider
		mp        metrics.MeterProvider
		wantPanic bool
	}{
		{"nil providers", nil, nil, false},
		{"typed nil providers", typedNil, typedNil, false},
		{"nil tracer and meter", &bad{nilTracer: true}, &bad{nilMeter: true}, false},
		{"nil spans and instruments", &bad{nilSpan: true}, &bad{nilInstrument: true}, false},
		{"refused instruments", nil, &bad{refuse: true}, false},
		{"panics", &bad{panics: true}, &bad{panics: true}, true},
	} {
		logs := use(t, c.tp, c.mp)
		if got := strings.Contains(logs, "panicked"); got != c.wantPanic {
			t.Errorf("%s: panic logged = %v, want %v; logs:\n%s", c.name, got, c.wantPanic, logs)
		}
	}
}

// TestPanicsAfterStartLogged: a span that starts but panics in every
// method afterwards is logged for each call, and the meter's instruments too.
func TestPanicsAfterStartLogged(t *testing.T) {
	b := &bad{}
	var buf bytes.Buffer
	g := &safetel.Guard{Log: slog.New(slog.NewTextHandler(&buf, nil))}
	_, span := g.Tracer(b, "s").Start(context.Background(), "op")
	c := g.Meter(b, "s").Int64Counter("c")
	b.panics = true
	span.SetProperty("k", "v")
	span.SetStatus(tracing.SpanStatusError)
	span.End()
	c.Record(context.Background(), 1)
	for _, want := range []string{"call=Span.SetProperty", "call=Span.SetStatus", "call=Span.End", "call=c", "panic=boom"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, buf.String())
		}
	}
}

// TestWorks: a provider that behaves gets every call, and the span in the
// context is its own.
func TestWorks(t *testing.T) {
	b := &bad{}
	g := &safetel.Guard{Redact: func(s string) string { return strings.ReplaceAll(s, "secret", "[x]") }}
	ctx, span := g.Tracer(b, "s").Start(context.Background(), "op secret", func(o *tracing.SpanOptions) {
		o.Properties.Set("p", "a secret")
	})
	if !span.On() {
		t.Fatal("span is off")
	}
	span.SetProperty("q", []string{"secret"})
	span.SetProperty("n", 3)
	span.AddEvent("event secret")
	span.End()
	if s, _ := tracing.GetSpan(ctx); s != tracing.Span(b) {
		t.Errorf("span in the context is %T, want the provider's own", s)
	}
	if s, _ := tracing.GetSpan(safetel.WithSpan(context.Background(), span)); s != tracing.Span(b) {
		t.Errorf("WithSpan put %T, want the provider's own", s)
	}
	if b.ended != 1 || b.props["p"] != "a [x]" || b.props["q"].([]string)[0] != "[x]" || b.props["n"] != 3 {
		t.Errorf("ended %d, properties %v", b.ended, b.props)
	}
	if strings.Join(b.names, ",") != "op [x],event [x]" {
		t.Errorf("names %v", b.names)
	}
	m := g.Meter(b, "s")
	m.Int64Counter("c").Record(ctx, 1)
	m.Int64UpDownCounter("u").Record(ctx, 2)
	m.Int64Histogram("h").Record(ctx, 4)
	m.Float64Histogram("f").Record(ctx, 8)
	if b.added != 15 {
		t.Errorf("recorded %d, want 15", b.added)
	}
}

// TestZeroValues: the zero values and a nil *Guard do nothing.
func TestZeroValues(t *testing.T) {
	var g *safetel.Guard
	ctx := context.Background()
	if tr := g.Tracer(nil, "s"); tr.On() {
		t.Error("Tracer of nil is on")
	}
	var span safetel.Span
	span.SetProperty("k", "v")
	span.End()
	if safetel.WithSpan(ctx, span) != ctx {
		t.Error("WithSpan of the zero Span changed the context")
	}
	if g.Provider(nil) != nil {
		t.Error("Provider(nil) is not nil")
	}
	var i safetel.Int64
	i.Record(ctx, 1)
	var f safetel.Float64
	f.Record(ctx, 1)
	if g.Meter(nil, "s").On() || i.On() || f.On() {
		t.Error("zero values are on")
	}
}

// panicHandler is a slog.Handler whose every method panics.
type panicHandler struct{}

func (panicHandler) Enabled(context.Context, slog.Level) bool  { panic("Enabled") }
func (panicHandler) Handle(context.Context, slog.Record) error { panic("Handle") }
func (panicHandler) WithAttrs([]slog.Attr) slog.Handler        { panic("WithAttrs") }
func (panicHandler) WithGroup(string) slog.Handler             { panic("WithGroup") }

// TestLogger: a Logger whose handler panics, or a zero slog.Logger (a nil
// handler), logs nothing and panics nowhere; a working one logs as before,
// attributes and groups included; Logger wraps once.
func TestLogger(t *testing.T) {
	for name, l := range map[string]*slog.Logger{"panics": slog.New(panicHandler{}), "zero": new(slog.Logger)} {
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("%s: panicked: %v", name, v)
				}
			}()
			log := safetel.Logger(l)
			log.Info("hello", "k", 1)
			log.With("a", 1).WithGroup("g").Error("hello")
			log.LogAttrs(context.Background(), slog.LevelWarn, "hello", slog.Int("k", 1))
		}()
	}
	var buf bytes.Buffer
	log := safetel.Logger(slog.New(slog.NewTextHandler(&buf, nil)))
	log.With("a", 1).WithGroup("g").Info("hello", "k", 2)
	if got := buf.String(); !strings.Contains(got, "msg=hello a=1 g.k=2") {
		t.Errorf("logged %q", got)
	}
	if safetel.Logger(log) != log || safetel.Logger(nil) != nil {
		t.Error("Logger wraps a Logger of its own again, or a nil one")
	}
}

// TestForSDK: what an SDK client gets for one call: the no-op provider for
// a nil one (a typed nil included), the no-op provider itself, and any
// other wrapped, whose nil tracer then starts no-op spans.
func TestForSDK(t *testing.T) {
	g := &safetel.Guard{}
	var typedNil *bad
	for _, p := range []tracing.TracerProvider{nil, typedNil} {
		if got := g.ForSDK(p); !safetel.IsNop(got) {
			t.Errorf("ForSDK(%#v) = %#v, want the no-op provider", p, got)
		}
	}
	nop := &tracing.NopTracerProvider{}
	if got := g.ForSDK(nop); got != tracing.TracerProvider(nop) {
		t.Errorf("ForSDK(nop) = %#v", got)
	}
	got := g.ForSDK(&bad{nilTracer: true})
	if safetel.IsNop(got) {
		t.Fatal("ForSDK(a provider) is the no-op provider")
	}
	ctx, span := got.Tracer("scope").StartSpan(context.Background(), "op")
	if ctx == nil || span == nil {
		t.Errorf("the wrapped provider's nil tracer started %v, %v", ctx, span)
	}
	span.SetProperty("k", "v")
	span.End()
}
