package worker_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
	"github.com/stepcallback/sagemaker-callback/retry"
)

// recTracer is a tracing.TracerProvider that records its spans; a span's
// parent is the span on the context it was started with.
type recTracer struct {
	mu    sync.Mutex
	spans []*recSpan
}

func (p *recTracer) Tracer(string, ...tracing.TracerOption) tracing.Tracer { return p }

func (p *recTracer) StartSpan(ctx context.Context, name string, opts ...tracing.SpanOption) (context.Context, tracing.Span) {
	var o tracing.SpanOptions
	for _, fn := range opts {
		fn(&o)
	}
	s := &recSpan{p: p, name: name, kind: o.Kind, props: map[any]any{}}
	for k, v := range o.Properties.Values() {
		s.props[k] = v
	}
	if parent, ok := tracing.GetSpan(ctx); ok {
		s.parent, _ = parent.(*recSpan)
	}
	p.mu.Lock()
	p.spans = append(p.spans, s)
	p.mu.Unlock()
	return tracing.WithSpan(ctx, s), s
}

func (p *recTracer) list() []*recSpan {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*recSpan(nil), p.spans...)
}

type recSpan struct {
	p      *recTracer
	name   string
	kind   tracing.SpanKind
	parent *recSpan
	props  map[any]any
	status tracing.SpanStatus
	ends   int
}

func (s *recSpan) Name() string { return s.name }
func (s *recSpan) Context() tracing.SpanContext {
	return tracing.SpanContext{TraceID: "t", SpanID: fmt.Sprintf("%p", s)}
}
func (s *recSpan) AddEvent(string, ...tracing.EventOption) {}
func (s *recSpan) SetStatus(st tracing.SpanStatus) {
	s.p.mu.Lock()
	s.status = st
	s.p.mu.Unlock()
}
func (s *recSpan) SetProperty(k, v any) {
	s.p.mu.Lock()
	s.props[k] = v
	s.p.mu.Unlock()
}
func (s *recSpan) End() {
	s.p.mu.Lock()
	s.ends++
	s.p.mu.Unlock()
}

// recMeter is a metrics.MeterProvider that records what its counters and
// histograms get, by instrument name.
type recMeter struct {
	metrics.NopMeter
	mu   sync.Mutex
	recs map[string][]recPoint
}

type recPoint struct {
	v     float64
	props map[any]any
}

func (m *recMeter) Meter(string, ...metrics.MeterOption) metrics.Meter { return m }

func (m *recMeter) add(name string, v float64, opts []metrics.RecordMetricOption) {
	var o metrics.RecordMetricOptions
	for _, fn := range opts {
		fn(&o)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		m.recs = map[string][]recPoint{}
	}
	m.recs[name] = append(m.recs[name], recPoint{v, o.Properties.Values()})
}

func (m *recMeter) points(name string) []recPoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]recPoint(nil), m.recs[name]...)
}

type recInstrument struct {
	m    *recMeter
	name string
}

func (i recInstrument) Add(_ context.Context, v int64, opts ...metrics.RecordMetricOption) {
	i.m.add(i.name, float64(v), opts)
}
func (i recInstrument) Record(_ context.Context, v float64, opts ...metrics.RecordMetricOption) {
	i.m.add(i.name, v, opts)
}

func (m *recMeter) Int64Counter(name string, _ ...metrics.InstrumentOption) (metrics.Int64Counter, error) {
	return recInstrument{m, name}, nil
}
func (m *recMeter) Int64UpDownCounter(name string, _ ...metrics.InstrumentOption) (metrics.Int64UpDownCounter, error) {
	return recInstrument{m, name}, nil
}
func (m *recMeter) Float64Histogram(name string, _ ...metrics.InstrumentOption) (metrics.Float64Histogram, error) {
	return recInstrument{m, name}, nil
}

// With a TracerProvider, each record has its span with its outcome, and the
// handler's context and the report's SDK spans are under it; with a
// MeterProvider, the records are counted by outcome, their age and the
// handlers' durations recorded, and nothing is left in flight.
func TestLambdaTracesAndMetrics(t *testing.T) {
	e := newEnv(t)
	tp, mp := &recTracer{}, &recMeter{}
	opts := e.srv.Client().Options()
	opts.TracerProvider = tp
	cb := callback.New(sagemaker.New(opts), func(o *callback.Options) {
		o.Retry = retry.Policy{MaxAttempts: 2, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}
	})
	var handlerSpans sync.Map
	var a actions
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		if s, ok := tracing.GetSpan(ctx); ok {
			handlerSpans.Store(m.Token.Reveal(), s)
		}
		return a.handle(ctx, m)
	}
	fn := worker.LambdaHandler(cb, h, func(o *worker.LambdaOptions) {
		o.TracerProvider = tp
		o.MeterProvider = mp
		o.Logger = e.logger("lambda")
	})
	okTok, okARN := e.srv.NewStep()
	failTok, failARN := e.srv.NewStep()
	stopTok, stopARN := e.srv.NewStep()
	sent := strconv.FormatInt(time.Now().Add(-2*time.Second).UnixMilli(), 10)
	recs := []events.SQSMessage{
		record("ok", okTok, okARN, map[string]any{"do": "succeed", "n": 1}, callbacktest.MessageStatusExecuting),
		record("fail", failTok, failARN, map[string]any{"do": "fail"}, callbacktest.MessageStatusExecuting),
		record("stop", stopTok, stopARN, nil, callbacktest.MessageStatusStopping),
		rawRecord("junk", "hello"),
	}
	for i := range recs {
		recs[i].Attributes["SentTimestamp"] = sent
	}
	invoke(t, fn, 10*time.Second, recs...)

	msgSpans := map[string]*recSpan{}
	for _, s := range tp.list() {
		if s.name == "callback.worker.message" {
			msgSpans[fmt.Sprint(s.props["messaging.message.id"])] = s
		}
	}
	wantOutcome := map[string]string{"ok": "succeeded", "fail": "failed", "stop": "failed", "junk": "malformed"}
	if len(msgSpans) != len(wantOutcome) {
		t.Fatalf("%d message spans, want %d", len(msgSpans), len(wantOutcome))
	}
	tp.mu.Lock()
	for id, want := range wantOutcome {
		s := msgSpans[id]
		if s == nil || s.props["callback.outcome"] != want || s.ends != 1 || s.kind != tracing.SpanKindConsumer {
			t.Errorf("span of %s: %+v; want outcome %s, ended once, consumer", id, s, want)
			continue
		}
		for _, v := range s.props {
			for _, tok := range []string{okTok, failTok, stopTok} {
				if strings.Contains(fmt.Sprint(v), tok) {
					t.Errorf("span of %s shows a raw token", id)
				}
			}
		}
	}
	if msgSpans["ok"].status != tracing.SpanStatusOK || msgSpans["fail"].status != tracing.SpanStatusError {
		t.Errorf("statuses: ok %v, fail %v", msgSpans["ok"].status, msgSpans["fail"].status)
	}
	// The SDK's operation spans of each report are children of the record's.
	for id, op := range map[string]string{"ok": callbacktest.OpSuccess, "fail": callbacktest.OpFailure, "stop": callbacktest.OpFailure} {
		found := false
		for _, s := range tp.spans {
			if s.parent == msgSpans[id] && strings.Contains(s.name, op) {
				found = true
			}
		}
		if !found {
			t.Errorf("no SDK span of %s under the span of %s", op, id)
		}
	}
	tp.mu.Unlock()
	for tok, id := range map[string]string{okTok: "ok", failTok: "fail"} {
		if s, _ := handlerSpans.Load(tok); s != msgSpans[id] {
			t.Errorf("the handler of %s ran without its record's span on its context", id)
		}
	}

	counts := map[string]int{}
	for _, p := range mp.points("callback.worker.messages") {
		counts[fmt.Sprint(p.props["outcome"])] += int(p.v)
	}
	if counts["succeeded"] != 1 || counts["failed"] != 2 || counts["malformed"] != 1 || len(counts) != 3 {
		t.Errorf("callback.worker.messages %v", counts)
	}
	inflight := 0.0
	for _, p := range mp.points("callback.worker.inflight") {
		inflight += p.v
	}
	if inflight != 0 || len(mp.points("callback.worker.inflight")) == 0 {
		t.Errorf("callback.worker.inflight ends at %v", inflight)
	}
	if n := len(mp.points("callback.worker.handler.duration")); n != 2 {
		t.Errorf("%d handler durations, want 2 (the stopped step's handler does not run)", n)
	}
	ages := mp.points("callback.worker.message.age")
	if len(ages) != 4 {
		t.Errorf("%d ages, want 4", len(ages))
	}
	for _, p := range ages {
		if p.v < 1.9 || p.v > 60 {
			t.Errorf("message age %vs, want about 2s", p.v)
		}
	}
}
