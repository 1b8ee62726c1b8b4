package callback_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/retry"
)

// recorder is a tracing.TracerProvider and metrics.MeterProvider that keeps
// everything it is given. Like AWS's OpenTelemetry adapter, it finds a span's
// parent on the context and insists that it be one of its own spans.
type recorder struct {
	mu      sync.Mutex
	spans   []*recSpan
	records []record
	errs    []string
}

type recSpan struct {
	rec    *recorder
	name   string
	parent *recSpan
	props  map[any]any
	events []string
	status tracing.SpanStatus
	ended  bool
}

type record struct {
	name  string
	value float64
	props map[any]any
}

func (r *recorder) Tracer(string, ...tracing.TracerOption) tracing.Tracer { return recTracer{r} }

type recTracer struct{ r *recorder }

func (t recTracer) StartSpan(ctx context.Context, name string, opts ...tracing.SpanOption) (context.Context, tracing.Span) {
	var o tracing.SpanOptions
	for _, fn := range opts {
		fn(&o)
	}
	s := &recSpan{rec: t.r, name: name, props: map[any]any{}}
	for k, v := range o.Properties.Values() {
		s.props[k] = v
	}
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	if p, ok := tracing.GetSpan(ctx); ok {
		if own, ok := p.(*recSpan); ok {
			s.parent = own
		} else {
			t.r.errs = append(t.r.errs, fmt.Sprintf("span %q: the span on the context is a %T, not one of ours", name, p))
		}
	}
	t.r.spans = append(t.r.spans, s)
	return tracing.WithSpan(ctx, s), s
}

func (s *recSpan) Name() string                    { return s.name }
func (s *recSpan) Context() tracing.SpanContext    { return tracing.SpanContext{} }
func (s *recSpan) SetStatus(st tracing.SpanStatus) { s.rec.mu.Lock(); s.status = st; s.rec.mu.Unlock() }
func (s *recSpan) End()                            { s.rec.mu.Lock(); s.ended = true; s.rec.mu.Unlock() }

func (s *recSpan) SetProperty(k, v any) {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.props[k] = v
}

func (s *recSpan) AddEvent(name string, opts ...tracing.EventOption) {
	var o tracing.EventOptions
	for _, fn := range opts {
		fn(&o)
	}
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.events = append(s.events, fmt.Sprint(name, o.Properties.Values()))
}

func (r *recorder) Meter(string, ...metrics.MeterOption) metrics.Meter {
	return recMeter{metrics.NopMeterProvider{}.Meter(""), r}
}

type recMeter struct {
	metrics.Meter
	r *recorder
}

func (m recMeter) Float64Histogram(name string, _ ...metrics.InstrumentOption) (metrics.Float64Histogram, error) {
	return recInstrument{m.r, name}, nil
}

func (m recMeter) Int64Histogram(name string, _ ...metrics.InstrumentOption) (metrics.Int64Histogram, error) {
	return recInt{recInstrument{m.r, name}}, nil
}

type recInstrument struct {
	r    *recorder
	name string
}

func (i recInstrument) Record(_ context.Context, v float64, opts ...metrics.RecordMetricOption) {
	var o metrics.RecordMetricOptions
	for _, fn := range opts {
		fn(&o)
	}
	props := map[any]any{}
	for k, v := range o.Properties.Values() {
		props[k] = v
	}
	i.r.mu.Lock()
	defer i.r.mu.Unlock()
	i.r.records = append(i.r.records, record{i.name, v, props})
}

type recInt struct{ recInstrument }

func (i recInt) Record(ctx context.Context, v int64, opts ...metrics.RecordMetricOption) {
	i.recInstrument.Record(ctx, float64(v), opts...)
}

// named returns the spans called name.
func (r *recorder) named(name string) []*recSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*recSpan
	for _, s := range r.spans {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// everything returns all that the recorder holds, as text.
func (r *recorder) everything() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, s := range r.spans {
		fmt.Fprintln(&b, s.name, s.props, s.events)
	}
	for _, m := range r.records {
		fmt.Fprintln(&b, m.name, m.props)
	}
	return b.String()
}

// tracedClient returns a Client and its SageMaker client, both given rec.
func tracedClient(t *testing.T, rec *recorder, optFns ...func(*callback.Options)) (*callback.Client, *callbacktest.Server) {
	t.Helper()
	srv := callbacktest.NewServer()
	t.Cleanup(srv.Close)
	api := sagemaker.New(srv.Client().Options(), func(o *sagemaker.Options) { o.TracerProvider = rec })
	opts := append([]func(*callback.Options){func(o *callback.Options) {
		o.Retry = fast
		o.TracerProvider = rec
		o.MeterProvider = rec
	}}, optFns...)
	return callback.New(api, opts...), srv
}

// checkReport checks the span and the metrics of the one call rec saw.
func checkReport(t *testing.T, rec *recorder, c call, outcome string, attempts int) *recSpan {
	t.Helper()
	name := "callback." + c.name
	spans := rec.named(name)
	if len(spans) != 1 {
		t.Fatalf("%d spans named %s, want 1:\n%s", len(spans), name, rec.everything())
	}
	s := spans[0]
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !s.ended || s.parent != nil {
		t.Errorf("%s: ended %v, parent %v; want an ended root span", name, s.ended, s.parent)
	}
	if got := s.props["callback.outcome"]; got != outcome {
		t.Errorf("%s: callback.outcome %v, want %q", name, got, outcome)
	}
	if got, ok := s.props["callback.attempts"].(int); !ok || got != attempts {
		t.Errorf("%s: callback.attempts %#v, want the int %d", name, s.props["callback.attempts"], attempts)
	}
	wantStatus := tracing.SpanStatusError
	if outcome == "ok" {
		wantStatus = tracing.SpanStatusOK
	}
	if s.status != wantStatus {
		t.Errorf("%s: status %v, want %v", name, s.status, wantStatus)
	}
	got := map[string]float64{}
	for _, m := range rec.records {
		if m.props["operation"] != c.op || m.props["outcome"] != outcome {
			t.Errorf("metric %s has attributes %v, want operation %s and outcome %s", m.name, m.props, c.op, outcome)
		}
		got[m.name] = m.value
	}
	if len(rec.records) != 2 || got["callback.report.attempts"] != float64(attempts) {
		t.Errorf("metrics %+v, want one duration and one attempts (%d) record", rec.records, attempts)
	}
	if len(rec.errs) > 0 {
		t.Errorf("%s", rec.errs)
	}
	return s
}

// TestTracingNests: one span per call, the SDK's spans for each attempt
// under it, with the attempts, the outcome, the token's fingerprint and the
// request id.
func TestTracingNests(t *testing.T) {
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			client, srv := tracedClient(t, rec)
			raw, _ := srv.NewStep()
			srv.FailNext(2, callbacktest.Throttle)
			tok := callback.MustParseToken(raw)
			if _, err := c.do(context.Background(), client, tok); err != nil {
				t.Fatal(err)
			}
			s := checkReport(t, rec, c, "ok", 3)
			if s.props["callback.token.fingerprint"] != tok.Fingerprint() {
				t.Errorf("fingerprint %v, want %s", s.props["callback.token.fingerprint"], tok.Fingerprint())
			}
			if id, _ := s.props["aws.request_id"].(string); id == "" {
				t.Errorf("no request id: %v", s.props)
			}
			sdk := rec.named("SageMaker." + c.op)
			if len(sdk) != 3 {
				t.Fatalf("%d SDK operation spans, want 3 (one per attempt):\n%s", len(sdk), rec.everything())
			}
			for _, o := range sdk {
				if o.parent != s {
					t.Errorf("SDK span %s is not under %s", o.name, s.name)
				}
			}
		})
	}
}

// TestTracingOutcomes: every way a call ends gets its span and metrics,
// refused and canceled calls included, and no span, event or metric
// attribute shows the raw token, though the service's messages echo it.
func TestTracingOutcomes(t *testing.T) {
	for _, c := range calls {
		for _, tc := range []struct {
			outcome  string
			attempts int
			setup    func(srv *callbacktest.Server, raw string) (context.Context, callback.Token)
		}{
			{"not_found", 1, func(srv *callbacktest.Server, raw string) (context.Context, callback.Token) {
				return context.Background(), callback.MustParseToken("Unknown123")
			}},
			{"conflict", 1, func(srv *callbacktest.Server, raw string) (context.Context, callback.Token) {
				_, _ = srv.Client().SendPipelineExecutionStepFailure(context.Background(), &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: &raw})
				return context.Background(), callback.MustParseToken(raw)
			}},
			{"throttled", 4, func(srv *callbacktest.Server, raw string) (context.Context, callback.Token) {
				srv.FailNext(10, callbacktest.Throttle)
				return context.Background(), callback.MustParseToken(raw)
			}},
			{"unavailable", 4, func(srv *callbacktest.Server, raw string) (context.Context, callback.Token) {
				srv.FailNext(10, callbacktest.Unavailable)
				return context.Background(), callback.MustParseToken(raw)
			}},
			{"invalid", 0, func(srv *callbacktest.Server, raw string) (context.Context, callback.Token) {
				return context.Background(), callback.Token{}
			}},
			{"canceled", 1, func(srv *callbacktest.Server, raw string) (context.Context, callback.Token) {
				srv.FailNext(1, callbacktest.Delay(10*time.Second))
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				t.Cleanup(cancel)
				return ctx, callback.MustParseToken(raw)
			}},
		} {
			t.Run(c.name+"/"+tc.outcome, func(t *testing.T) {
				rec := &recorder{}
				client, srv := tracedClient(t, rec)
				raw, _ := srv.NewStep()
				ctx, tok := tc.setup(srv, raw)
				if _, err := c.do(ctx, client, tok); err == nil {
					t.Fatal("no error")
				}
				checkReport(t, rec, c, tc.outcome, tc.attempts)
				all := rec.everything()
				for _, secret := range []string{raw, "Unknown123"} {
					if strings.Contains(all, secret) {
						t.Errorf("the token shows:\n%s", all)
					}
				}
				if tc.outcome == "not_found" || tc.outcome == "conflict" {
					// The SDK's span recorded the service's message, redacted.
					if !strings.Contains(all, "exception.message") || !strings.Contains(all, "Token(sha256:") {
						t.Errorf("the SDK's span lacks the redacted service message:\n%s", all)
					}
				}
			})
		}
	}
}

// TestSDKSpansRedactedWithoutOurProvider: a SageMaker client with a tracer
// provider of its own, under a Client with none, records no raw token either.
func TestSDKSpansRedactedWithoutOurProvider(t *testing.T) {
	rec := &recorder{}
	srv := callbacktest.NewServer()
	defer srv.Close()
	api := sagemaker.New(srv.Client().Options(), func(o *sagemaker.Options) { o.TracerProvider = rec })
	client := callback.New(api, func(o *callback.Options) { o.Retry = fast })
	_, err := client.Fail(context.Background(), callback.MustParseToken("Unknown123"), callback.Reason{})
	checkOneClass(t, err, callback.ErrNotFound)
	all := rec.everything()
	if strings.Contains(all, "Unknown123") || !strings.Contains(all, "Token(sha256:") {
		t.Errorf("SDK spans not redacted:\n%s", all)
	}
	if len(rec.named("callback.Fail")) != 0 {
		t.Error("a span of ours without a provider of ours")
	}
}

// TestNoProvidersNoAllocs: with no providers, a call allocates nothing for
// telemetry: the Client's own allocations (beyond retry.Do's and the API's)
// stay at what they were before tracing existed (6), and providers add some.
func TestNoProvidersNoAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters change allocation counts")
	}
	tok := callback.MustParseToken("AbCdE12345")
	reason := callback.MustParseReason("disk full")
	ctx := context.Background()
	policy := retry.Policy{AttemptTimeout: -1}
	own := func(c *callback.Client) float64 {
		fail := testing.AllocsPerRun(200, func() { _, _ = c.Fail(ctx, tok, reason) })
		loop := testing.AllocsPerRun(200, func() {
			_ = retry.Do(ctx, policy, func(context.Context) error { return nil }, func(*retry.Options) {})
		})
		return fail - loop
	}
	bare := own(callback.New(nilOutput{}, func(o *callback.Options) { o.Retry = policy }))
	t.Logf("Client.Fail's own allocations with no providers: %v", bare)
	if bare > 6 {
		t.Errorf("Client.Fail with no providers allocates %v times of its own, want at most 6", bare)
	}
	rec := &recorder{}
	traced := own(callback.New(nilOutput{}, func(o *callback.Options) {
		o.Retry = policy
		o.TracerProvider = rec
		o.MeterProvider = rec
	}))
	if traced <= bare {
		t.Errorf("with providers %v allocations, without %v: the measure does not see telemetry", traced, bare)
	}
}
