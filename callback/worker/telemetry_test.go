package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
)

// recorder is a TracerProvider and a MeterProvider of smithy-go that
// records every span and every measurement.
type recorder struct {
	mu      sync.Mutex
	spans   []*recSpan
	samples []sample
}

// sample is one measurement of an instrument.
type sample struct {
	name  string
	value float64
	props map[any]any
}

type recSpan struct {
	rec    *recorder
	name   string
	parent *recSpan
	kind   tracing.SpanKind
	props  map[any]any
	status tracing.SpanStatus
	ended  bool
}

func (r *recorder) Tracer(string, ...tracing.TracerOption) tracing.Tracer { return r }

func (r *recorder) StartSpan(ctx context.Context, name string, opts ...tracing.SpanOption) (context.Context, tracing.Span) {
	var o tracing.SpanOptions
	for _, fn := range opts {
		fn(&o)
	}
	s := &recSpan{rec: r, name: name, kind: o.Kind, props: o.Properties.Values()}
	if s.props == nil {
		s.props = map[any]any{}
	}
	if p, ok := tracing.GetSpan(ctx); ok {
		s.parent, _ = p.(*recSpan)
	}
	r.mu.Lock()
	r.spans = append(r.spans, s)
	r.mu.Unlock()
	return ctx, s
}

func (s *recSpan) Name() string { return s.name }
func (s *recSpan) Context() tracing.SpanContext {
	return tracing.SpanContext{TraceID: "t", SpanID: fmt.Sprintf("%p", s)}
}
func (s *recSpan) AddEvent(string, ...tracing.EventOption) {}
func (s *recSpan) SetStatus(st tracing.SpanStatus)         { s.rec.mu.Lock(); s.status = st; s.rec.mu.Unlock() }
func (s *recSpan) SetProperty(k, v any)                    { s.rec.mu.Lock(); s.props[k] = v; s.rec.mu.Unlock() }
func (s *recSpan) End()                                    { s.rec.mu.Lock(); s.ended = true; s.rec.mu.Unlock() }

func (r *recorder) Meter(string, ...metrics.MeterOption) metrics.Meter {
	return recMeter{Meter: metrics.NopMeterProvider{}.Meter(""), rec: r}
}

// recMeter records the instruments a Worker uses; the others are no-ops.
type recMeter struct {
	metrics.Meter
	rec *recorder
}

type instrument struct {
	rec  *recorder
	name string
}

func (i instrument) record(v float64, opts []metrics.RecordMetricOption) {
	var o metrics.RecordMetricOptions
	for _, fn := range opts {
		fn(&o)
	}
	i.rec.mu.Lock()
	i.rec.samples = append(i.rec.samples, sample{i.name, v, o.Properties.Values()})
	i.rec.mu.Unlock()
}

type int64Instrument struct{ instrument }

func (i int64Instrument) Add(_ context.Context, v int64, opts ...metrics.RecordMetricOption) {
	i.record(float64(v), opts)
}

type float64Instrument struct{ instrument }

func (i float64Instrument) Record(_ context.Context, v float64, opts ...metrics.RecordMetricOption) {
	i.record(v, opts)
}

func (m recMeter) Int64Counter(name string, _ ...metrics.InstrumentOption) (metrics.Int64Counter, error) {
	return int64Instrument{instrument{m.rec, name}}, nil
}

func (m recMeter) Int64UpDownCounter(name string, _ ...metrics.InstrumentOption) (metrics.Int64UpDownCounter, error) {
	return int64Instrument{instrument{m.rec, name}}, nil
}

func (m recMeter) Float64Histogram(name string, _ ...metrics.InstrumentOption) (metrics.Float64Histogram, error) {
	return float64Instrument{instrument{m.rec, name}}, nil
}

// of returns the samples of one instrument.
func (r *recorder) of(name string) []sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sample
	for _, s := range r.samples {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// A Worker given a TracerProvider and a MeterProvider makes a span per
// message with its outcome, under which the SDK's spans of the report and
// of the SQS calls nest, and records its four metrics; no raw token shows in
// any span or measurement.
func TestTelemetry(t *testing.T) {
	e := newEnv(t, func(o *callbacktest.Options) { o.Queue.MaxReceiveCount = 1 })
	rec := &recorder{}
	sm := sagemaker.New(e.srv.Client().Options(), func(o *sagemaker.Options) { o.TracerProvider = rec })
	sq := sqs.New(e.srv.SQSClient().Options(), func(o *sqs.Options) { o.TracerProvider = rec })
	cb := callback.New(sm)

	e.srv.StartStep(map[string]any{"n": 1})
	bad, _ := e.srv.StartStep(map[string]any{"n": 2})
	done, _ := e.srv.StartStep(map[string]any{"n": 3})
	if _, err := cb.Fail(context.Background(), callback.MustParseToken(done), callback.NewReason("earlier")); err != nil {
		t.Fatal(err)
	}
	e.srv.SendQueueMessage("not a callback message")
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		if span, found := tracing.GetSpan(ctx); !found || span.Name() != "callback.worker.message" {
			return nil, errors.New("the handler's context has no message span")
		}
		if m.Token.Reveal() == bad {
			return nil, fmt.Errorf("job %s failed", m.Token.Reveal())
		}
		return echo(ctx, m)
	}
	var res results
	r := start(t, worker.New(sq, cb, h, e.fastOptions("w"), func(o *worker.Options) {
		o.Concurrency = 2
		o.TracerProvider = rec
		o.MeterProvider = rec
		o.OnResult = res.add
	}))
	waitFor(t, 10*time.Second, "every message settled", func() bool { return e.queueDrained() && len(res.list()) == 4 })
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	want := map[string]int{}
	for _, rr := range res.list() {
		want[strings.ToLower(rr.Outcome.String())]++
	}
	if want["succeeded"] != 1 || want["failed"] != 1 || want["settled"] != 1 || want["malformed"] != 1 {
		t.Fatalf("results %v", want)
	}

	rec.mu.Lock()
	got := map[string]int{}
	for _, s := range rec.spans {
		if s.name != "callback.worker.message" {
			continue
		}
		out, _ := s.props["callback.outcome"].(string)
		got[out]++
		if !s.ended || s.parent != nil || s.kind != tracing.SpanKindConsumer {
			t.Errorf("message span %+v", s)
		}
		wantStatus := tracing.SpanStatusOK
		if out == "failed" || out == "malformed" {
			wantStatus = tracing.SpanStatusError
		}
		if s.status != wantStatus {
			t.Errorf("%s span: status %v, want %v", out, s.status, wantStatus)
		}
		children := map[string]bool{}
		for _, c := range rec.spans {
			if c.parent == s {
				children[c.name] = true
			}
		}
		if out != "malformed" && !(children["SageMaker.SendPipelineExecutionStepSuccess"] || children["SageMaker.SendPipelineExecutionStepFailure"]) {
			t.Errorf("%s span: the report's span is not its child; children %v", out, children)
		}
		if (out == "succeeded" || out == "failed") && !children["SQS.DeleteMessage"] {
			t.Errorf("%s span: the delete's span is not its child; children %v", out, children)
		}
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%d spans with callback.outcome %q, want %d (all: %v)", got[k], k, n, got)
		}
	}
	for _, s := range rec.spans {
		if strings.HasPrefix(s.name, "callback.") {
			checkNoToken(t, e, s.name, s.props)
		}
	}
	rec.mu.Unlock()

	counted := map[string]int{}
	for _, s := range rec.of("callback.worker.messages") {
		counted[s.props["outcome"].(string)] += int(s.value)
		checkNoToken(t, e, s.name, s.props)
	}
	if fmt.Sprint(counted) != fmt.Sprint(want) {
		t.Errorf("callback.worker.messages %v, want %v", counted, want)
	}
	if n := len(rec.of("callback.worker.handler.duration")); n != 3 {
		t.Errorf("%d handler durations, want 3", n)
	}
	ages := rec.of("callback.worker.message.age")
	if len(ages) != 4 {
		t.Errorf("%d message ages, want 4", len(ages))
	}
	for _, s := range ages {
		if s.value < 0 || s.value > 10 {
			t.Errorf("message age %vs", s.value)
		}
	}
	held, most := 0.0, 0.0
	for _, s := range rec.of("callback.worker.inflight") {
		held += s.value
		most = max(most, held)
	}
	if held != 0 || most < 1 || most > 2 {
		t.Errorf("inflight ends at %v, at most %v; want 0, 1 or 2", held, most)
	}
}

// checkNoToken fails the test when a raw token of a step shows in props.
func checkNoToken(t *testing.T, e *env, what string, props map[any]any) {
	t.Helper()
	text := fmt.Sprint(props)
	for _, st := range e.srv.Steps() {
		if strings.Contains(text, st.Token) {
			t.Errorf("%s shows a raw token: %v", what, props)
		}
	}
}

// textRecorder is a TracerProvider that keeps, as text, every span started
// (its name and properties), property set and event added, and puts its
// spans in the context as AWS's OpenTelemetry adapter does.
type textRecorder struct {
	mu   sync.Mutex
	text []string
}

type textSpan struct{ r *textRecorder }

func (r *textRecorder) add(a ...any) {
	r.mu.Lock()
	r.text = append(r.text, fmt.Sprint(a...))
	r.mu.Unlock()
}

func (r *textRecorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.text, "\n")
}

func (r *textRecorder) Tracer(string, ...tracing.TracerOption) tracing.Tracer { return r }

func (r *textRecorder) StartSpan(ctx context.Context, name string, opts ...tracing.SpanOption) (context.Context, tracing.Span) {
	var o tracing.SpanOptions
	for _, fn := range opts {
		fn(&o)
	}
	r.add("start ", name, " ", o.Properties.Values())
	s := textSpan{r}
	return tracing.WithSpan(ctx, s), s
}

func (s textSpan) Name() string                 { return "" }
func (s textSpan) Context() tracing.SpanContext { return tracing.SpanContext{} }
func (s textSpan) AddEvent(name string, opts ...tracing.EventOption) {
	var o tracing.EventOptions
	for _, fn := range opts {
		fn(&o)
	}
	s.r.add("event ", name, " ", o.Properties.Values())
}
func (s textSpan) SetStatus(tracing.SpanStatus) {}
func (s textSpan) SetProperty(k, v any)         { s.r.add("property ", k, "=", v) }
func (s textSpan) End()                         {}

// A report refused with a message that names the token (ResourceNotFound)
// shows no raw token in any span, the Worker's or the SDK's, whether the
// SageMaker client, wrapped as callback.API's doc invites, is traced by the
// same provider or not, under a callback client with no provider of its
// own.
func TestRefusedReportSpansShowNoToken(t *testing.T) {
	for _, traced := range []bool{false, true} {
		t.Run(fmt.Sprint("SDK traced ", traced), func(t *testing.T) {
			e := newEnv(t)
			rec := &textRecorder{}
			var api callback.API = e.srv.Client()
			if traced {
				api = struct{ *sagemaker.Client }{sagemaker.New(e.srv.Client().Options(), func(o *sagemaker.Options) { o.TracerProvider = rec })}
			}
			var res results
			r := start(t, worker.New(e.srv.SQSClient(), callback.New(api), echo, e.fastOptions("w"), func(o *worker.Options) {
				o.TracerProvider = rec
				o.OnResult = res.add
			}))
			const unknown = "Unknown123"
			e.srv.SendQueueMessage(callbacktest.StepMessage(unknown, "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x", nil, callbacktest.MessageStatusExecuting))
			waitFor(t, 10*time.Second, "a result", func() bool { return len(res.list()) > 0 })
			if err := r.stop(); err != nil {
				t.Fatalf("Run = %v", err)
			}
			if rr := res.list()[0]; rr.Outcome != worker.Settled || !errors.Is(rr.Err, callback.ErrNotFound) {
				t.Errorf("result %+v", rr)
			}
			all := rec.all()
			if strings.Contains(all, unknown) || traced != strings.Contains(all, "api.error_message=") {
				t.Errorf("spans:\n%s", all)
			}
		})
	}
}
