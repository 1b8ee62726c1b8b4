package worker_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
)

// stuckHandler returns a handler that ignores its context for the steps
// whose argument "stuck" is true, until release is closed, and echoes the
// others. cause gets the cause of a stuck handler's context once it ends.
func stuckHandler(release <-chan struct{}, cause *atomic.Value) worker.Handler {
	return func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		if m.Arguments["stuck"] != true {
			return echo(ctx, m)
		}
		select {
		case <-ctx.Done():
		case <-release:
			return nil, nil
		}
		cause.Store(context.Cause(ctx))
		<-release // ignores its context
		return echo(ctx, m)
	}
}

// A handler that ignores its context past HandlerTimeout is abandoned: its
// context ends with ErrHandlerTimeout, its step is failed as timed out, its
// message is deleted and its slot serves the next step while it still runs.
func TestHandlerTimeout(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	defer close(release)
	var cause atomic.Value
	var res results
	w := worker.New(e.srv.SQSClient(), e.cb, stuckHandler(release, &cause), e.fastOptions("w"), func(o *worker.Options) {
		o.Concurrency = 1
		o.HandlerTimeout = 100 * time.Millisecond
		o.OnResult = res.add
	})
	stuck, _ := e.srv.StartStep(map[string]any{"stuck": true})
	r := start(t, w)
	waitFor(t, 10*time.Second, "the stuck step failed", func() bool {
		st, _ := e.srv.Step(stuck)
		return st.Status == callbacktest.StatusFailed
	})
	next, _ := e.srv.StartStep(map[string]any{"n": 1})
	waitFor(t, 10*time.Second, "the next step done in the freed slot", func() bool {
		st, _ := e.srv.Step(next)
		return st.Status == callbacktest.StatusSucceeded && e.queueDrained()
	})
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if st, _ := e.srv.Step(stuck); st.FailureReason != "handler timed out after 100ms" {
		t.Errorf("reason %q", st.FailureReason)
	}
	if c, _ := cause.Load().(error); !errors.Is(c, worker.ErrHandlerTimeout) {
		t.Errorf("the handler's context ended with %v, want ErrHandlerTimeout", c)
	}
	got := res.list()
	if len(got) != 2 || got[0].Outcome != worker.Failed || !errors.Is(got[0].Err, worker.ErrHandlerTimeout) || !got[0].Deleted ||
		got[1].Outcome != worker.Succeeded {
		t.Errorf("results %+v", got)
	}
}

// receiveTimes receives the fake queue's only message n times, handing it
// back after each, so that its ApproximateReceiveCount is n.
func receiveTimes(t *testing.T, srv *callbacktest.Server, n int) {
	t.Helper()
	ctx := context.Background()
	for range n {
		out, err := srv.SQSClient().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: ptr(srv.QueueURL()), WaitTimeSeconds: 1})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("ReceiveMessage = %v, %v", out, err)
		}
		_, err = srv.SQSClient().ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: ptr(srv.QueueURL()), ReceiptHandle: out.Messages[0].ReceiptHandle, VisibilityTimeout: 0,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// A message received more than MaxReceives times is not run again: its step
// is failed with a reason that names the count, and the message deleted.
func TestMaxReceives(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.srv.StartStep(nil)
	receiveTimes(t, e.srv, 3)
	var runs atomic.Int32
	var res results
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		runs.Add(1)
		return echo(ctx, m)
	}, e.fastOptions("w"), func(o *worker.Options) {
		o.MaxReceives = 3
		o.OnResult = res.add
	}))
	waitFor(t, 10*time.Second, "the step failed", func() bool { return e.allCompleted() && e.queueDrained() })
	r.stop()
	e.checkExactlyOnce(callbacktest.StatusFailed)
	if st, _ := e.srv.Step(tok); !strings.Contains(st.FailureReason, "received 4 times") || !strings.Contains(st.FailureReason, "MaxReceives (3)") {
		t.Errorf("reason %q", st.FailureReason)
	}
	if n := runs.Load(); n != 0 {
		t.Errorf("the handler ran %d times", n)
	}
	if got := res.list(); len(got) != 1 || got[0].Outcome != worker.Failed || got[0].ReceiveCount != 4 || !errors.Is(got[0].Err, worker.ErrMaxReceives) {
		t.Errorf("results %+v", got)
	}
}

// LambdaHandler bounds its steps the same way: a handler that ignores its
// context is abandoned at HandlerTimeout and its step failed, and a record
// received more than MaxReceives times is not run; both are settled, the
// function returns long before its deadline.
func TestLambdaHandlerTimeoutAndMaxReceives(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	defer close(release)
	var cause atomic.Value
	var res results
	fn := worker.LambdaHandler(e.cb, stuckHandler(release, &cause), func(o *worker.LambdaOptions) {
		o.HandlerTimeout = 100 * time.Millisecond
		o.MaxReceives = 3
		o.Logger = e.logger("lambda")
		o.OnResult = res.add
	})
	stuckTok, stuckARN := e.srv.NewStep()
	okTok, okARN := e.srv.NewStep()
	againTok, againARN := e.srv.NewStep()
	again := record("again", againTok, againARN, nil, callbacktest.MessageStatusExecuting)
	again.Attributes["ApproximateReceiveCount"] = "4"
	t0 := time.Now()
	resp := invoke(t, fn, 5*time.Second,
		record("stuck", stuckTok, stuckARN, map[string]any{"stuck": true}, callbacktest.MessageStatusExecuting),
		record("ok", okTok, okARN, map[string]any{"n": 1}, callbacktest.MessageStatusExecuting),
		again)
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("the function took %v", d)
	}
	if ids := listed(resp); len(ids) != 0 {
		t.Errorf("listed %v", ids)
	}
	if st, _ := e.srv.Step(stuckTok); st.Status != callbacktest.StatusFailed || st.FailureReason != "handler timed out after 100ms" {
		t.Errorf("stuck step %+v", st)
	}
	if st, _ := e.srv.Step(againTok); st.Status != callbacktest.StatusFailed || !strings.Contains(st.FailureReason, "received 4 times") {
		t.Errorf("step received 4 times: %+v", st)
	}
	if st, _ := e.srv.Step(okTok); st.Status != callbacktest.StatusSucceeded {
		t.Errorf("ok step %+v", st)
	}
	if c, _ := cause.Load().(error); !errors.Is(c, worker.ErrHandlerTimeout) {
		t.Errorf("the handler's context ended with %v, want ErrHandlerTimeout", c)
	}
	got := byMessage(res.list())
	if r := got["stuck"]; r.Outcome != worker.Failed || !errors.Is(r.Err, worker.ErrHandlerTimeout) || !r.Deleted {
		t.Errorf("stuck: %+v", r)
	}
	if r := got["again"]; r.Outcome != worker.Failed || !errors.Is(r.Err, worker.ErrMaxReceives) || r.ReceiveCount != 4 {
		t.Errorf("again: %+v", r)
	}
}

// slowEnds is a TracerProvider whose spans take d to End, and start to
// start.
type slowEnds struct {
	tracing.NopTracerProvider
	d, start time.Duration
}

type slowEndTracer struct{ d, start time.Duration }

type slowEndSpan struct {
	tracing.Span
	d time.Duration
}

func (p slowEnds) Tracer(string, ...tracing.TracerOption) tracing.Tracer {
	return slowEndTracer{p.d, p.start}
}

func (t slowEndTracer) StartSpan(ctx context.Context, name string, opts ...tracing.SpanOption) (context.Context, tracing.Span) {
	time.Sleep(t.start)
	_, s := tracing.NopTracerProvider{}.Tracer("").StartSpan(ctx, name, opts...)
	return ctx, slowEndSpan{s, t.d}
}

func (s slowEndSpan) End() { time.Sleep(s.d) }

// LambdaHandler answers before the invocation's deadline whatever the
// spans' End and OnResult cost: ten records cut at the handlers' deadline,
// each span's End taking 50ms, DeadlineMargin 200ms and a 1s deadline (the
// issue's case: it answered about 300ms late); an OnResult that takes a
// second; spans that take 120ms to start (it answered about 200ms late: the
// ten spans were started one after the other before any handler), with
// every step at once or one at a time.
func TestLambdaAnswersInTimeWithSlowTelemetry(t *testing.T) {
	for _, tc := range []struct {
		name        string
		end, start  time.Duration
		onResult    time.Duration
		concurrency int
	}{
		{"SlowEnd", 50 * time.Millisecond, 0, 0, 0},
		{"SlowOnResult", 0, 0, time.Second, 0},
		{"SlowStart", 0, 120 * time.Millisecond, 0, 0},
		{"SlowStartOneAtATime", 0, 120 * time.Millisecond, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			blocking := func(ctx context.Context, _ callback.Message) ([]callback.Output, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			fn := worker.LambdaHandler(e.cb, blocking, func(o *worker.LambdaOptions) {
				o.DeadlineMargin = 200 * time.Millisecond
				o.Logger = e.logger("lambda")
				o.TracerProvider = slowEnds{d: tc.end, start: tc.start}
				o.OnResult = func(worker.Result) { time.Sleep(tc.onResult) }
				o.Concurrency = tc.concurrency
			})
			var recs []events.SQSMessage
			for i := range 10 {
				tok, arn := e.srv.NewStep()
				recs = append(recs, record(string(rune('a'+i)), tok, arn, nil, callbacktest.MessageStatusExecuting))
			}
			resp := invoke(t, fn, time.Second, recs...) // fails the test if it answers late
			if n := len(resp.BatchItemFailures); n != 10 {
				t.Errorf("%d records listed, want 10", n)
			}
			time.Sleep(tc.onResult + tc.start) // the calls still running end before the test
		})
	}
}

// A step reported during the shutdown grace has its message deleted even
// when the delete outlasts the grace: the delete has its own CallTimeout.
func TestDeleteAfterGrace(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	slow := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		close(started)
		time.Sleep(50 * time.Millisecond) // within the grace
		return echo(ctx, m)
	}
	var res results
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, slow, e.fastOptions("w"), func(o *worker.Options) {
		// The report has 450ms of grace after the handler, for a loaded
		// machine; the delete outlasts the grace's end by far.
		o.ShutdownTimeout = 500 * time.Millisecond
		o.VisibilityTimeout = time.Hour // the message comes back only if handed back
		o.OnResult = res.add
	}))
	e.srv.StartStep(nil)
	<-started
	e.srv.FailNext(1, callbacktest.Delay(time.Second).ForOperation(callbacktest.OpDeleteMessage))
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
	if st := e.srv.QueueStats(); st.Deleted != 1 {
		t.Errorf("the message was not deleted: %+v", st)
	}
	if got := res.list(); len(got) != 1 || got[0].Outcome != worker.Succeeded || !got[0].Deleted {
		t.Errorf("results %+v", got)
	}
}

// Run refuses options that cannot work as set, naming them, before it
// receives anything; a default that would not fit a short
// VisibilityTimeout is fitted to it.
func TestRunRefusesOptionsThatCannotWork(t *testing.T) {
	e := newEnv(t)
	e.srv.StartStep(nil)
	for _, tc := range []struct {
		name string
		set  func(*worker.Options)
	}{
		{"Heartbeat", func(o *worker.Options) { o.Heartbeat = 30 * time.Second }},
		{"CallTimeout", func(o *worker.Options) { o.CallTimeout = time.Minute }},
		{"Heartbeat", func(o *worker.Options) { o.VisibilityTimeout, o.Heartbeat = 1500*time.Millisecond, 2*time.Second }},
		{"CallTimeout", func(o *worker.Options) { o.Heartbeat, o.CallTimeout = time.Hour, time.Hour }}, // both named
	} {
		w := worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w"), func(o *worker.Options) {
			o.VisibilityTimeout = 30 * time.Second
		}, tc.set)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := w.Run(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "Options."+tc.name) || !strings.Contains(err.Error(), "VisibilityTimeout") {
			t.Errorf("%s: Run = %v", tc.name, err)
		}
	}
	if n := e.srv.QueueStats().ReceiveCalls; n != 0 {
		t.Errorf("%d ReceiveMessage calls", n)
	}

	// A 2s VisibilityTimeout with the default CallTimeout works.
	w := worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w"), func(o *worker.Options) {
		o.VisibilityTimeout = 2 * time.Second
		o.Heartbeat = 0
	})
	if o := w.Options(); o.CallTimeout >= o.VisibilityTimeout || o.Heartbeat >= o.VisibilityTimeout {
		t.Errorf("defaults not fitted: %+v", o)
	}
	r := start(t, w)
	waitFor(t, 10*time.Second, "the step done", func() bool { return e.allCompleted() && e.queueDrained() })
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
}

// A Worker with a 2s VisibilityTimeout and no CallTimeout of its own keeps
// a message whose handler runs longer than the visibility: the defaults
// fitted to it (Heartbeat and CallTimeout VisibilityTimeout/3) extend it in
// time, on a queue whose seconds are real, and the step is run and
// completed once.
func TestShortVisibilityTimeoutKeepsTheMessage(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	var runs atomic.Int32
	slow := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		runs.Add(1)
		time.Sleep(2500 * time.Millisecond)
		return nil, nil
	}
	w := worker.New(srv.SQSClient(), callback.New(srv.Client()), slow, func(o *worker.Options) {
		o.QueueURL = srv.QueueURL()
		o.VisibilityTimeout = 2 * time.Second
		o.Concurrency = 2 // a free slot, to receive the message again were it visible
		o.WaitTime = time.Second
	})
	tok, _ := srv.StartStep(nil)
	r := start(t, w)
	waitFor(t, 10*time.Second, "the step completed and its message deleted", func() bool {
		st, _ := srv.Step(tok)
		q := srv.QueueStats()
		return st.Status != callbacktest.StatusExecuting && q.Visible+q.InFlight == 0
	})
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if st, _ := srv.Step(tok); st.Status != callbacktest.StatusSucceeded || st.Completions != 1 || runs.Load() != 1 {
		t.Errorf("step %s after %d completions and %d runs, want Succeeded after 1 and 1", st.Status, st.Completions, runs.Load())
	}
}

// badProvider is a TracerProvider and a MeterProvider that misbehave as
// how says: "nil" returns nil tracers, spans, meters and instruments; "panic"
// returns spans and instruments whose every method panics.
type badProvider struct{ how string }

type badTracer struct{ how string }

type panicSpan struct{ tracing.Span }

func (p badProvider) Tracer(string, ...tracing.TracerOption) tracing.Tracer {
	if p.how == "nil tracer" {
		return nil
	}
	return badTracer(p)
}

func (t badTracer) StartSpan(ctx context.Context, name string, opts ...tracing.SpanOption) (context.Context, tracing.Span) {
	if t.how == "nil" {
		return ctx, nil
	}
	_, s := tracing.NopTracerProvider{}.Tracer("").StartSpan(ctx, name, opts...)
	return ctx, panicSpan{s}
}

func (panicSpan) SetProperty(any, any)         { panic("SetProperty") }
func (panicSpan) SetStatus(tracing.SpanStatus) { panic("SetStatus") }
func (panicSpan) End()                         { panic("End") }

func (p badProvider) Meter(string, ...metrics.MeterOption) metrics.Meter {
	if p.how != "panic" {
		return nil
	}
	return panicMeter{metrics.NopMeterProvider{}.Meter("")}
}

type panicMeter struct{ metrics.Meter }

type panicInstrument struct{}

func (panicInstrument) Add(context.Context, int64, ...metrics.RecordMetricOption) { panic("Add") }
func (panicInstrument) Record(context.Context, float64, ...metrics.RecordMetricOption) {
	panic("Record")
}

func (panicMeter) Int64Counter(string, ...metrics.InstrumentOption) (metrics.Int64Counter, error) {
	return panicInstrument{}, nil
}

func (panicMeter) Int64UpDownCounter(string, ...metrics.InstrumentOption) (metrics.Int64UpDownCounter, error) {
	return panicInstrument{}, nil
}

func (panicMeter) Float64Histogram(string, ...metrics.InstrumentOption) (metrics.Float64Histogram, error) {
	return panicInstrument{}, nil
}

// Providers that return nil tracers, spans, meters or instruments work as no
// provider (a nil Meter made LambdaHandler panic); providers whose spans and
// instruments panic, in the Worker's calls or in the SDK's middleware on the
// span in the context, crash nothing: a report or delete that panicked
// counts as not completed, its message is left, and nothing is lost.
func TestMisbehavingProviders(t *testing.T) {
	for _, how := range []string{"nil", "nil tracer", "panic"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t)
			p := badProvider{how}
			fn := worker.LambdaHandler(e.cb, echo, func(o *worker.LambdaOptions) {
				o.Logger = e.logger("lambda")
				o.TracerProvider, o.MeterProvider = p, p
			})
			tok, arn := e.srv.NewStep()
			resp := invoke(t, fn, 5*time.Second, record("r", tok, arn, nil, callbacktest.MessageStatusExecuting))
			st, _ := e.srv.Step(tok)
			if st.Status != callbacktest.StatusSucceeded || (how != "panic") != (len(resp.BatchItemFailures) == 0) {
				t.Errorf("Lambda: step %s, listed %v", st.Status, listed(resp))
			}

			var res results
			r := start(t, worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w"), func(o *worker.Options) {
				o.TracerProvider, o.MeterProvider = p, p
				o.OnResult = res.add
			}))
			for range 3 {
				e.srv.StartStep(nil)
			}
			waitFor(t, 10*time.Second, "three results", func() bool { return len(res.list()) >= 3 })
			r.stop()
			for _, rr := range res.list() {
				if (how == "panic") != (rr.Outcome == worker.Left) {
					t.Errorf("Worker: result %+v", rr)
				}
			}
			// What a panic left is settled by a worker without the provider.
			r = start(t, worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("clean")))
			waitFor(t, 10*time.Second, "every step done", func() bool { return e.allCompleted() && e.queueDrained() })
			r.stop()
			e.checkExactlyOnce(callbacktest.StatusSucceeded)
		})
	}
}

// A handler abandoned at HandlerTimeout that returns or panics later
// changes nothing: its step was failed once as timed out, nothing is
// reported again, and its panic is not logged as failing the step (it was
// logged "failing the step", after the step was failed as timed out). The
// same holds in LambdaHandler, for a step of two records.
func TestAbandonedHandlerReturnsLater(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	var returned atomic.Int32
	late := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		<-release
		defer returned.Add(1)
		if m.Arguments["panic"] == true {
			panic("late panic")
		}
		return []callback.Output{callback.MustNewOutput("late", "yes")}, nil
	}
	var res results
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, late, e.fastOptions("w"), func(o *worker.Options) {
		o.Concurrency = 2
		o.HandlerTimeout = 50 * time.Millisecond
		o.OnResult = res.add
	}))
	e.srv.StartStep(nil)
	e.srv.StartStep(map[string]any{"panic": true})
	waitFor(t, 10*time.Second, "both steps failed", func() bool { return e.allCompleted() && e.queueDrained() })
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}

	var lres results
	fn := worker.LambdaHandler(e.cb, late, func(o *worker.LambdaOptions) {
		o.HandlerTimeout = 50 * time.Millisecond
		o.Logger = e.logger("lambda")
		o.OnResult = lres.add
	})
	tok, arn := e.srv.NewStep()
	resp := invoke(t, fn, 5*time.Second,
		record("a", tok, arn, map[string]any{"panic": true}, callbacktest.MessageStatusExecuting),
		record("b", tok, arn, map[string]any{"panic": true}, callbacktest.MessageStatusExecuting))
	if ids := listed(resp); len(ids) != 0 {
		t.Errorf("listed %v", ids)
	}

	close(release)
	// A handler's deferred count runs before its panic is recovered and
	// logged: wait for the two logs too, not for a fixed time after.
	waitFor(t, 10*time.Second, "the abandoned handlers returned and their late panics logged", func() bool {
		return returned.Load() == 3 && strings.Count(e.log.String(), "panicked after its context ended") >= 2
	})
	time.Sleep(50 * time.Millisecond) // what a late outcome would do, done
	e.checkExactlyOnce(callbacktest.StatusFailed)
	for _, st := range e.srv.Steps() {
		if st.FailureReason != "handler timed out after 50ms" {
			t.Errorf("reason %q", st.FailureReason)
		}
	}
	all := append(res.list(), lres.list()...)
	if len(all) != 4 {
		t.Errorf("%d results, want 4", len(all))
	}
	for _, rr := range all {
		if rr.Outcome != worker.Failed || !rr.Deleted || !errors.Is(rr.Err, worker.ErrHandlerTimeout) ||
			rr.Err.Error() != "handler timed out after 50ms" || rr.Status != callback.StatusExecuting || rr.ReceiveCount != 1 {
			t.Errorf("result %+v", rr)
		}
	}
	logged := e.log.String()
	if strings.Contains(logged, "panicked; failing the step") || strings.Count(logged, "panicked after its context ended") != 2 {
		t.Errorf("the late panics are not logged as such:\n%s", logged)
	}
}

// slowHistograms is a MeterProvider whose Float64Histograms take d to
// Record.
type slowHistograms struct{ d time.Duration }

type slowHistogramMeter struct {
	metrics.Meter
	d time.Duration
}

type slowHistogram struct{ d time.Duration }

func (p slowHistograms) Meter(string, ...metrics.MeterOption) metrics.Meter {
	return slowHistogramMeter{metrics.NopMeterProvider{}.Meter(""), p.d}
}

func (m slowHistogramMeter) Float64Histogram(string, ...metrics.InstrumentOption) (metrics.Float64Histogram, error) {
	return slowHistogram{m.d}, nil
}

func (h slowHistogram) Record(context.Context, float64, ...metrics.RecordMetricOption) {
	time.Sleep(h.d)
}

// A handler that returns within its HandlerTimeout succeeds, however long
// the telemetry takes afterwards: with a handler.duration histogram that
// takes 500ms to Record and a HandlerTimeout of 250ms, a handler that
// returns at once was reported as timed out (the end of its context was
// read after the histogram's Record).
func TestHandlerTimeoutNotLengthenedBySlowTelemetry(t *testing.T) {
	e := newEnv(t)
	mp := slowHistograms{500 * time.Millisecond}
	var res results
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w"), func(o *worker.Options) {
		o.HandlerTimeout = 250 * time.Millisecond
		o.MeterProvider = mp
		o.OnResult = res.add
	}))
	e.srv.StartStep(map[string]any{"n": 1})
	waitFor(t, 10*time.Second, "the step completed", func() bool { return e.allCompleted() && e.queueDrained() })
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}

	var lres results
	fn := worker.LambdaHandler(e.cb, echo, func(o *worker.LambdaOptions) {
		o.HandlerTimeout = 250 * time.Millisecond
		o.MeterProvider = mp
		o.OnResult = lres.add
	})
	tok, arn := e.srv.NewStep()
	invoke(t, fn, 5*time.Second, record("a", tok, arn, map[string]any{"n": 2}, callbacktest.MessageStatusExecuting))
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
	for _, rr := range append(res.list(), lres.list()...) {
		if rr.Outcome != worker.Succeeded {
			t.Errorf("result %+v", rr)
		}
	}
}

// panicOnce is an SQS client whose first ReceiveMessage panics.
type panicOnce struct {
	*sqs.Client
	done atomic.Bool
}

func (p *panicOnce) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if p.done.CompareAndSwap(false, true) {
		panic("ReceiveMessage")
	}
	return p.Client.ReceiveMessage(ctx, in, optFns...)
}

// The SQS client's own provider cannot hurt the Worker either (the package
// documentation tells to give it the Worker's): one that returns nil
// tracers or spans works as none, one whose spans panic is logged, and
// every step is completed once and its message deleted. A ReceiveMessage
// that panics is logged and made again. Run crashed on the first
// ReceiveMessage, with a nil span inside the SDK or the span's panic.
func TestMisbehavingSQSClientProvider(t *testing.T) {
	for _, how := range []string{"nil", "nil tracer", "panic"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t)
			p := badProvider{how}
			api := sqs.New(e.srv.SQSClient().Options(), func(o *sqs.Options) { o.TracerProvider = p })
			var res results
			r := start(t, worker.New(api, e.cb, echo, e.fastOptions("w"), func(o *worker.Options) {
				if how != "panic" { // a panicking span of the Worker's in the context fails the calls
					o.TracerProvider, o.MeterProvider = p, p
				}
				o.OnResult = res.add
			}))
			for range 3 {
				e.srv.StartStep(nil)
			}
			waitFor(t, 10*time.Second, "every step done", func() bool { return e.allCompleted() && e.queueDrained() })
			if err := r.stop(); err != nil {
				t.Fatalf("Run = %v", err)
			}
			e.checkExactlyOnce(callbacktest.StatusSucceeded)
			for _, rr := range res.list() {
				if rr.Outcome != worker.Succeeded || !rr.Deleted {
					t.Errorf("result %+v", rr)
				}
			}
		})
	}
	t.Run("ReceiveMessage panics", func(t *testing.T) {
		e := newEnv(t)
		r := start(t, worker.New(&panicOnce{Client: e.srv.SQSClient()}, e.cb, echo, e.fastOptions("w")))
		e.srv.StartStep(nil)
		waitFor(t, 10*time.Second, "the step done", func() bool { return e.allCompleted() && e.queueDrained() })
		if err := r.stop(); err != nil {
			t.Fatalf("Run = %v", err)
		}
		e.checkExactlyOnce(callbacktest.StatusSucceeded)
		if !strings.Contains(e.log.String(), "ReceiveMessage panicked") {
			t.Errorf("the panic is not logged:\n%s", e.log.String())
		}
	})
}
