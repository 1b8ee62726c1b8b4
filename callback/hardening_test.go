package callback_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// countingMeter is a recorder that counts its Meter calls.
type countingMeter struct {
	*recorder
	meters atomic.Int32
}

func (c *countingMeter) Meter(scope string, opts ...metrics.MeterOption) metrics.Meter {
	c.meters.Add(1)
	return c.recorder.Meter(scope, opts...)
}

// TestOneMeterPerClient: New makes the instruments; calls with options of
// their own reuse them (it took one Meter call per such call), unless they
// bring another provider.
func TestOneMeterPerClient(t *testing.T) {
	mp := &countingMeter{recorder: &recorder{}}
	client, srv := newClient(t, func(o *callback.Options) { o.MeterProvider = mp })
	ctx := context.Background()
	for range 100 {
		raw, _ := srv.NewStep()
		if _, err := client.Fail(ctx, callback.MustParseToken(raw), callback.Reason{}, func(o *callback.Options) { o.Retry = fast }); err != nil {
			t.Fatal(err)
		}
	}
	if n := mp.meters.Load(); n != 1 {
		t.Errorf("100 calls with an option of their own made %d Meter calls, want 1 (New's)", n)
	}
	if n := len(mp.records); n != 200 {
		t.Errorf("%d records, want 200 (duration and attempts per call)", n)
	}
	other := &countingMeter{recorder: &recorder{}}
	raw, _ := srv.NewStep()
	if _, err := client.Fail(ctx, callback.MustParseToken(raw), callback.Reason{}, func(o *callback.Options) { o.MeterProvider = other }); err != nil {
		t.Fatal(err)
	}
	if other.meters.Load() != 1 || len(other.records) != 2 || mp.meters.Load() != 1 {
		t.Errorf("a call with its own MeterProvider: its Meter calls %d, records %d; the Client's Meter calls %d",
			other.meters.Load(), len(other.records), mp.meters.Load())
	}
}

// meterFunc is a MeterProvider of a type that == cannot compare, as
// http.HandlerFunc is a Handler.
type meterFunc func(string, ...metrics.MeterOption) metrics.Meter

func (f meterFunc) Meter(scope string, opts ...metrics.MeterOption) metrics.Meter {
	return f(scope, opts...)
}

// labelled is a MeterProvider whose struct holds a slice: == panics on it.
type labelled struct {
	*countingMeter
	labels []string
}

// TestUncomparableProvider: a provider that == cannot compare (a func type,
// a struct holding a slice) makes no call panic; as same's doc says, a call
// with options of its own makes that provider's telemetry for itself (one
// Meter call), and a call given another such provider gets its own.
func TestUncomparableProvider(t *testing.T) {
	var meters atomic.Int32
	rec := &recorder{}
	counted := func(scope string, opts ...metrics.MeterOption) metrics.Meter {
		meters.Add(1)
		return rec.Meter(scope, opts...)
	}
	mc := &countingMeter{recorder: rec}
	for name, tc := range map[string]struct {
		mp    metrics.MeterProvider
		count func() int32
	}{
		"func":  {meterFunc(counted), meters.Load},
		"slice": {labelled{mc, []string{"a"}}, mc.meters.Load},
	} {
		t.Run(name, func(t *testing.T) {
			client, srv := newClient(t, func(o *callback.Options) { o.MeterProvider = tc.mp })
			before := tc.count()
			for range 10 {
				raw, _ := srv.NewStep()
				if _, err := client.Fail(context.Background(), callback.MustParseToken(raw), callback.Reason{}, func(o *callback.Options) { o.Retry = fast }); err != nil {
					t.Fatal(err)
				}
			}
			if n := tc.count() - before; n != 10 {
				t.Errorf("10 calls with options of their own made %d Meter calls, want 10 (one each)", n)
			}
		})
	}
	var other atomic.Int32
	client, srv := newClient(t, func(o *callback.Options) { o.MeterProvider = meterFunc(counted) })
	raw, _ := srv.NewStep()
	_, err := client.Fail(context.Background(), callback.MustParseToken(raw), callback.Reason{}, func(o *callback.Options) {
		o.MeterProvider = meterFunc(func(scope string, opts ...metrics.MeterOption) metrics.Meter {
			other.Add(1)
			return rec.Meter(scope, opts...)
		})
	})
	if err != nil || other.Load() != 1 {
		t.Errorf("a call with a provider of its own: %v, its Meter calls %d, want 1", err, other.Load())
	}
}

// wrapped is a *sagemaker.Client wrapped, as API's doc invites.
type wrapped struct{ *sagemaker.Client }

// TestWrappedClientSpansRedacted: a wrapped SageMaker client traced by its
// own provider, under a Client with none, records no raw token (the SDK's
// span carried it in exception.message and api.error_message).
func TestWrappedClientSpansRedacted(t *testing.T) {
	rec := &recorder{}
	srv := callbacktest.NewServer()
	defer srv.Close()
	api := wrapped{sagemaker.New(srv.Client().Options(), func(o *sagemaker.Options) { o.TracerProvider = rec })}
	client := callback.New(api, func(o *callback.Options) { o.Retry = fast })
	_, err := client.Fail(context.Background(), callback.MustParseToken("Unknown123"), callback.Reason{})
	checkOneClass(t, err, callback.ErrNotFound)
	all := rec.everything()
	if strings.Contains(all, "Unknown123") || !strings.Contains(all, "exception.message") || !strings.Contains(all, "Token(sha256:") {
		t.Errorf("SDK spans not redacted:\n%s", all)
	}
}

// misbehaving is a TracerProvider and MeterProvider that returns nil
// tracers, spans, meters or instruments, or whose every method panics, as
// its fields say. Its spans are its own type; inContext puts them in the
// context (tracing.WithSpan), where the SDK's middleware finds them.
type misbehaving struct {
	nilTracer, nilSpan, nilMeter, nilInstrument bool
	panicProvider, panicSpan, panicInstrument   bool
	inContext                                   bool

	mu    sync.Mutex
	spans []*badSpan
}

type badSpan struct {
	p     *misbehaving
	ended bool
}

func (p *misbehaving) Tracer(string, ...tracing.TracerOption) tracing.Tracer {
	if p.panicProvider {
		panic("Tracer")
	}
	if p.nilTracer {
		return nil
	}
	return p
}

func (p *misbehaving) StartSpan(ctx context.Context, _ string, _ ...tracing.SpanOption) (context.Context, tracing.Span) {
	if p.nilSpan {
		return ctx, nil
	}
	s := &badSpan{p: p}
	p.mu.Lock()
	p.spans = append(p.spans, s)
	p.mu.Unlock()
	if p.inContext {
		ctx = tracing.WithSpan(ctx, s)
	}
	return ctx, s
}

func (s *badSpan) boom(what string) {
	if s.p.panicSpan {
		panic("span " + what)
	}
}
func (s *badSpan) Name() string                            { s.boom("Name"); return "" }
func (s *badSpan) Context() tracing.SpanContext            { s.boom("Context"); return tracing.SpanContext{} }
func (s *badSpan) AddEvent(string, ...tracing.EventOption) { s.boom("AddEvent") }
func (s *badSpan) SetStatus(tracing.SpanStatus)            { s.boom("SetStatus") }
func (s *badSpan) SetProperty(any, any)                    { s.boom("SetProperty") }
func (s *badSpan) End() {
	s.p.mu.Lock()
	s.ended = true
	s.p.mu.Unlock()
	s.boom("End")
}

func (p *misbehaving) Meter(string, ...metrics.MeterOption) metrics.Meter {
	if p.panicProvider {
		panic("Meter")
	}
	if p.nilMeter {
		return nil
	}
	return badMeter{metrics.NopMeterProvider{}.Meter(""), p}
}

type badMeter struct {
	metrics.Meter
	p *misbehaving
}

type badInstrument struct{ p *misbehaving }

func (i badInstrument) Record(context.Context, float64, ...metrics.RecordMetricOption) {
	if i.p.panicInstrument {
		panic("Record")
	}
}

type badInt struct{ p *misbehaving }

func (i badInt) Record(context.Context, int64, ...metrics.RecordMetricOption) {
	if i.p.panicInstrument {
		panic("Record")
	}
}

func (m badMeter) Float64Histogram(string, ...metrics.InstrumentOption) (metrics.Float64Histogram, error) {
	if m.p.nilInstrument {
		return nil, nil
	}
	return badInstrument{m.p}, nil
}

func (m badMeter) Int64Histogram(string, ...metrics.InstrumentOption) (metrics.Int64Histogram, error) {
	if m.p.nilInstrument {
		return nil, nil
	}
	return badInt{m.p}, nil
}

// TestMisbehavingProviders: a provider that returns nil tracers, spans,
// meters or instruments, or whose methods panic, given to the Client and to
// its SageMaker client, changes no outcome and crashes nothing; panics are
// logged, and every span started is ended. Today's code crashed on a nil
// span (inside the SDK), a nil meter (in New) and every panic.
func TestMisbehavingProviders(t *testing.T) {
	for _, tc := range []struct {
		name   string
		p      *misbehaving
		panics bool
	}{
		{"nil tracer", &misbehaving{nilTracer: true}, false},
		{"nil span", &misbehaving{nilSpan: true}, false},
		{"nil meter", &misbehaving{nilMeter: true}, false},
		{"nil instruments", &misbehaving{nilInstrument: true}, false},
		{"panicking provider", &misbehaving{panicProvider: true}, true},
		{"panicking spans", &misbehaving{panicSpan: true}, true},
		{"panicking instruments", &misbehaving{panicInstrument: true}, true},
	} {
		for _, c := range calls {
			t.Run(tc.name+"/"+c.name, func(t *testing.T) {
				var logs bytes.Buffer
				srv := callbacktest.NewServer()
				defer srv.Close()
				api := sagemaker.New(srv.Client().Options(), func(o *sagemaker.Options) { o.TracerProvider = tc.p })
				client := callback.New(api, func(o *callback.Options) {
					o.Retry = fast
					o.TracerProvider = tc.p
					o.MeterProvider = tc.p
					o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
				})
				ctx := context.Background()
				raw, _ := srv.NewStep()
				if _, err := c.do(ctx, client, callback.MustParseToken(raw)); err != nil {
					t.Fatalf("the call failed: %v", err)
				}
				if step, _ := srv.Step(raw); step.Status != c.status {
					t.Errorf("step %s, want %s", step.Status, c.status)
				}
				_, err := c.do(ctx, client, callback.MustParseToken("Unknown123"))
				checkOneClass(t, err, callback.ErrNotFound)
				if got := strings.Contains(logs.String(), "panicked"); got != tc.panics {
					t.Errorf("panic logged %v, want %v:\n%s", got, tc.panics, logs.String())
				}
				if strings.Contains(logs.String(), "Unknown123") {
					t.Errorf("the logs show the token:\n%s", logs.String())
				}
				tc.p.mu.Lock()
				defer tc.p.mu.Unlock()
				for _, s := range tc.p.spans {
					if !s.ended {
						t.Errorf("a span was not ended")
					}
				}
				tc.p.spans = nil
			})
		}
	}
}

// TestPanickingSpanInContext: a span that the provider put in the context,
// where the SDK's middleware finds it (tracing.GetSpan) and calls it, cannot
// be guarded without changing its type: its panic fails the attempt, and
// the call ends with ErrUnexpected, saying that the completion may or may
// not be recorded. Nothing is lost: calling again completes it (the service
// replays the first answer). Today's code crashed.
func TestPanickingSpanInContext(t *testing.T) {
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			p := &misbehaving{panicSpan: true, inContext: true}
			var logs bytes.Buffer
			srv := callbacktest.NewServer()
			defer srv.Close()
			api := sagemaker.New(srv.Client().Options(), func(o *sagemaker.Options) { o.TracerProvider = p })
			client := callback.New(api, func(o *callback.Options) {
				o.Retry = fast
				o.TracerProvider = p
				o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			raw, _ := srv.NewStep()
			tok := callback.MustParseToken(raw)
			_, err := c.do(context.Background(), client, tok)
			checkOneClass(t, err, callback.ErrUnexpected)
			var e *callback.Error
			if !errors.As(err, &e) || e.Attempts != 1 || !strings.Contains(err.Error(), "panicked") ||
				!strings.Contains(err.Error(), "may or may not be recorded") {
				t.Errorf("error: %v", err)
			}
			if !strings.Contains(logs.String(), "panicked") {
				t.Errorf("the panic is not logged:\n%s", logs.String())
			}
			// The provider behaves again: the same call completes the step once.
			p.panicSpan = false
			if _, err := c.do(context.Background(), client, tok); err != nil {
				t.Fatalf("calling again: %v", err)
			}
			if step, _ := srv.Step(raw); step.Status != c.status || step.Completions != 1 {
				t.Errorf("step %s after %d completions, want %s after 1", step.Status, step.Completions, c.status)
			}
		})
	}
}

// panicking is a SageMaker client that panics after each request, with a
// text that holds the token.
type panicking struct{ *sagemaker.Client }

func (p panicking) SendPipelineExecutionStepFailure(ctx context.Context, in *sagemaker.SendPipelineExecutionStepFailureInput, optFns ...func(*sagemaker.Options)) (*sagemaker.SendPipelineExecutionStepFailureOutput, error) {
	_, _ = p.Client.SendPipelineExecutionStepFailure(ctx, in, optFns...)
	panic("lost " + *in.CallbackToken)
}

func (p panicking) SendPipelineExecutionStepSuccess(ctx context.Context, in *sagemaker.SendPipelineExecutionStepSuccessInput, optFns ...func(*sagemaker.Options)) (*sagemaker.SendPipelineExecutionStepSuccessOutput, error) {
	_, _ = p.Client.SendPipelineExecutionStepSuccess(ctx, in, optFns...)
	panic("lost " + *in.CallbackToken)
}

// TestPanickingAPI: an API that panics fails the call with ErrUnexpected
// (the request may have been recorded: here it was), logged and redacted,
// and the call's span is ended with that outcome. Today's code let the
// panic through and left the span open.
func TestPanickingAPI(t *testing.T) {
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			var logs bytes.Buffer
			srv := callbacktest.NewServer()
			defer srv.Close()
			client := callback.New(panicking{srv.Client()}, func(o *callback.Options) {
				o.Retry = fast
				o.TracerProvider = rec
				o.MeterProvider = rec
				o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			raw, _ := srv.NewStep()
			_, err := c.do(context.Background(), client, callback.MustParseToken(raw))
			checkOneClass(t, err, callback.ErrUnexpected)
			if !strings.Contains(err.Error(), "the API panicked: lost Token(sha256:") || strings.Contains(err.Error(), raw) {
				t.Errorf("error: %v", err)
			}
			if !strings.Contains(logs.String(), "the API panicked") || strings.Contains(logs.String(), raw) {
				t.Errorf("logs:\n%s", logs.String())
			}
			checkReport(t, rec, c, "unexpected", 1)
			if step, _ := srv.Step(raw); step.Status != c.status {
				t.Errorf("step %s, want %s (the panic came after the request)", step.Status, c.status)
			}
		})
	}
}

// TestClassTable: the table agrees with what the Client does: a class is
// Retryable exactly when the Client retried its answers, ClassOf finds the
// class of each error, and the message ends with the class's hint.
func TestClassTable(t *testing.T) {
	ctx := context.Background()
	fault := func(f callbacktest.Fault) func(*callbacktest.Server, callback.Token) error {
		return func(srv *callbacktest.Server, tok callback.Token) error {
			srv.FailNext(100, f)
			client := callback.New(srv.Client(), func(o *callback.Options) { o.Retry = fast })
			_, err := client.Fail(ctx, tok, callback.Reason{})
			return err
		}
	}
	for _, tc := range []struct {
		class error
		fail  func(*callbacktest.Server, callback.Token) error
	}{
		{callback.ErrThrottled, fault(callbacktest.Throttle)},
		{callback.ErrUnavailable, fault(callbacktest.Unavailable)},
		{callback.ErrLimitExceeded, fault(callbacktest.LimitExceeded)},
		{callback.ErrNotFound, func(srv *callbacktest.Server, _ callback.Token) error {
			_, err := callback.New(srv.Client()).Fail(ctx, callback.MustParseToken("Unknown123"), callback.Reason{})
			return err
		}},
		{callback.ErrConflict, func(srv *callbacktest.Server, tok callback.Token) error {
			client := callback.New(srv.Client())
			if _, err := client.Fail(ctx, tok, callback.Reason{}); err != nil {
				return err
			}
			_, err := client.Succeed(ctx, tok, nil)
			return err
		}},
		{callback.ErrInvalid, func(srv *callbacktest.Server, tok callback.Token) error {
			_, err := callback.New(tamper{srv.Client()}).Fail(ctx, tok, callback.Reason{})
			return err
		}},
	} {
		srv := callbacktest.NewServer()
		raw, _ := srv.NewStep()
		err := tc.fail(srv, callback.MustParseToken(raw))
		attempts := len(srv.Requests())
		srv.Close()
		c, ok := callback.ClassOf(err)
		if !ok || c.Err != tc.class {
			t.Errorf("%v: ClassOf = %v, %v; want %v", err, c.Err, ok, tc.class)
			continue
		}
		if retried := tc.class != callback.ErrConflict && attempts > 1; c.Retryable != retried {
			t.Errorf("class %s: Retryable %v, but retried %v (%d requests)", c.Name, c.Retryable, retried, attempts)
		}
		if c.Hint == "" || !strings.HasSuffix(err.Error(), "("+c.Hint+")") {
			t.Errorf("class %s: the message does not end with the class's hint %q: %v", c.Name, c.Hint, err)
		}
	}
	if c, ok := callback.ClassOf(errors.New("odd")); ok {
		t.Errorf("ClassOf(an error of no class) = %v", c)
	}
	if c, ok := callback.ClassOf(context.Canceled); !ok || c.Err != context.Canceled || c.Name != "canceled" {
		t.Errorf("ClassOf(context.Canceled) = %v, %v", c, ok)
	}
}

// panicHandler is a slog.Handler whose every method panics.
type panicHandler struct{}

func (panicHandler) Enabled(context.Context, slog.Level) bool  { panic("Enabled") }
func (panicHandler) Handle(context.Context, slog.Record) error { panic("Handle") }
func (panicHandler) WithAttrs([]slog.Attr) slog.Handler        { panic("WithAttrs") }
func (panicHandler) WithGroup(string) slog.Handler             { panic("WithGroup") }

// TestLoggerPanics: a Logger whose handler panics, given to New or to one
// call, changes no outcome: the call completes the step, a refused one
// ends with its class, a retried one completes. Today's code let the panic of a
// failure's log through Fail and Succeed.
func TestLoggerPanics(t *testing.T) {
	bad := slog.New(panicHandler{})
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if v := recover(); v != nil {
					t.Fatalf("the call panicked: %v", v)
				}
			}()
			client, srv := newClient(t, func(o *callback.Options) { o.Logger = bad })
			raw, _ := srv.NewStep()
			if _, err := c.do(context.Background(), client, callback.MustParseToken(raw)); err != nil {
				t.Fatalf("the call failed: %v", err)
			}
			_, err := c.do(context.Background(), client, callback.MustParseToken("Unknown123"))
			checkOneClass(t, err, callback.ErrNotFound)
			srv.FailNext(1, callbacktest.Throttle)
			raw, _ = srv.NewStep()
			if _, err := c.do(context.Background(), callback.New(srv.Client()), callback.MustParseToken(raw), func(o *callback.Options) {
				o.Retry, o.Logger = fast, bad
			}); err != nil {
				t.Fatalf("the call retried failed: %v", err)
			}
		})
	}
}
