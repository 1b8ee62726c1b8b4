package worker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
	"github.com/stepcallback/sagemaker-callback/retry"
)

// derefErr's Error dereferences its receiver: a typed nil of it panics.
type derefErr struct{ msg string }

func (e *derefErr) Error() string { return e.msg }

// panicErr's Error panics.
type panicErr struct{}

func (panicErr) Error() string { panic("bad error") }

// panicUnwrap's Unwrap panics.
type panicUnwrap struct{}

func (panicUnwrap) Error() string { return "unwrap bomb" }
func (panicUnwrap) Unwrap() error { panic("bad unwrap") }

// panicStringer's String panics.
type panicStringer struct{}

func (panicStringer) String() string { panic("bad string") }

// nestedStringer's String panics with a value whose String panics.
type nestedStringer struct{}

func (nestedStringer) String() string { panic(panicStringer{}) }

// Whatever a handler returns or does (a typed-nil error, an error whose
// Error or Unwrap panics, a panic with a value whose String panics,
// panic(nil), runtime.Goexit), its step is reported failed with a reason that says what
// happened, the message is deleted, the only slot is freed for the next
// message, no heartbeat outlives Run, and Run returns on cancel.
func TestHandlerCannotHurtWorker(t *testing.T) {
	cases := []struct {
		name   string
		do     func() error
		reason string // the FailureReason's prefix
	}{
		{"typed nil", func() error { var e *derefErr; return e }, "handler returned a nil *worker_test.derefErr as its error"},
		{"panicking Error", func() error { return panicErr{} }, "error of type worker_test.panicErr: its Error method panicked: bad error"},
		{"wrapped panicking Error", func() error { return fmt.Errorf("job: %w", panicErr{}) }, "job: %!v(PANIC=Error method: bad error)"},
		{"panicking Unwrap", func() error { return panicUnwrap{} }, "unwrap bomb"},
		{"panic with a panicking String", func() error { panic(panicStringer{}) }, "handler panicked: value of type worker_test.panicStringer: its String method panicked: bad string"},
		{"panic with a nested panicking String", func() error { panic(nestedStringer{}) }, "handler panicked: value of type worker_test.nestedStringer: its String method panicked: "},
		{"panic(nil)", func() error { panic(nil) }, "handler panicked: panic called with nil argument"},
		{"Goexit", func() error { runtime.Goexit(); return nil }, "handler called runtime.Goexit instead of returning"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			bad, _ := e.srv.StartStep(nil)
			good, _ := e.srv.StartStep(map[string]any{"n": 1}) // after bad, in the only slot
			var res results
			h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
				if m.Token.Reveal() == bad {
					return nil, c.do()
				}
				return echo(ctx, m)
			}
			r := start(t, worker.New(e.srv.SQSClient(), e.cb, h, e.fastOptions("w"), func(o *worker.Options) {
				o.Concurrency = 1
				o.OnResult = res.add
			}))
			waitFor(t, 10*time.Second, "both steps completed and deleted", func() bool { return e.allCompleted() && e.queueDrained() })
			if err := r.stop(); err != nil {
				t.Fatalf("Run = %v", err)
			}
			if st, _ := e.srv.Step(bad); st.Status != callbacktest.StatusFailed || st.Completions != 1 || !strings.HasPrefix(st.FailureReason, c.reason) {
				t.Errorf("step %+v; want Failed with the reason's prefix %q", st, c.reason)
			}
			if st, _ := e.srv.Step(good); st.Status != callbacktest.StatusSucceeded {
				t.Errorf("the next step: %+v", st)
			}
			for _, rr := range res.list() {
				if rr.Token.Reveal() == bad && (rr.Outcome != worker.Failed || !rr.Deleted || rr.Err == nil || !strings.HasPrefix(rr.Err.Error(), c.reason)) {
					t.Errorf("result %+v", rr)
				}
			}
			n := e.srv.QueueStats().VisibilityChanges
			time.Sleep(60 * time.Millisecond) // 4 heartbeats
			if m := e.srv.QueueStats().VisibilityChanges; m != n {
				t.Errorf("%d visibility changes after Run returned", m-n)
			}
		})
	}
}

// A worker with one slot whose first ReceiveMessage and first DeleteMessage
// hang gives each up after its bound and goes on: every step is completed,
// and the message whose delete hung comes back and is settled.
func TestHungSQSCallsGivenUp(t *testing.T) {
	e := newEnv(t)
	e.srv.FailNext(1, callbacktest.Delay(time.Hour).ForOperation(callbacktest.OpReceiveMessage))
	e.srv.FailNext(1, callbacktest.Delay(time.Hour).ForOperation(callbacktest.OpDeleteMessage))
	for i := range 3 {
		e.srv.StartStep(map[string]any{"n": i})
	}
	var res results
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w"), func(o *worker.Options) {
		o.Concurrency = 1
		o.WaitTime = time.Second // 10ms in the fake; the receive's bound is 1.1s
		o.CallTimeout = 100 * time.Millisecond
		o.VisibilityTimeout = 2 * time.Second // 20ms in the fake: the undeleted message comes back
		o.OnResult = res.add
	}))
	waitFor(t, 10*time.Second, "every step completed and deleted", func() bool { return e.allCompleted() && e.queueDrained() })
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
	undeleted := 0
	for _, rr := range res.list() {
		if rr.Outcome != worker.Succeeded {
			t.Errorf("result %+v", rr)
		}
		if !rr.Deleted {
			undeleted++
		}
	}
	if undeleted != 1 || len(res.list()) != 4 {
		t.Errorf("%d results, %d not deleted; want 4, 1 (the hung delete)", len(res.list()), undeleted)
	}
}

// A worker with one slot whose SQS calls all hang once its handler runs
// returns from Run within its shutdown timeout plus the call bound: the
// hung extensions and the hung hand-back are given up.
func TestAllSQSCallsHang(t *testing.T) {
	e := newEnv(t)
	e.srv.StartStep(nil)
	started := make(chan struct{})
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		for _, op := range []string{callbacktest.OpReceiveMessage, callbacktest.OpDeleteMessage, callbacktest.OpChangeMessageVisibility} {
			e.srv.FailRandom(1, callbacktest.Delay(time.Hour).ForOperation(op))
		}
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	var res results
	const shutdown, bound = 200 * time.Millisecond, 100 * time.Millisecond
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, h, e.fastOptions("w"), func(o *worker.Options) {
		o.Concurrency = 1
		o.ShutdownTimeout = shutdown
		o.CallTimeout = bound
		o.OnResult = res.add
	}))
	<-started
	time.Sleep(50 * time.Millisecond) // heartbeats start and hang
	t0 := time.Now()
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if d := time.Since(t0); d > shutdown+bound+time.Second {
		t.Errorf("Run returned %v after its context ended; want within %v", d, shutdown+bound)
	}
	if got := res.list(); len(got) != 1 || got[0].Outcome != worker.Left || !errors.Is(got[0].Err, worker.ErrShutdown) {
		t.Errorf("results %+v", got)
	}
}

// The SQS calls for the deliveries of one step (a duplicate joined to the
// running step) share one bound: when every SQS call hangs, the deletes
// after the report hold the slot, and the hand-backs at shutdown hold Run,
// for CallTimeout, not CallTimeout per delivery.
func TestHungCallsOfDuplicatesShareTheBound(t *testing.T) {
	const deliveries, shutdown, bound = 4, 200 * time.Millisecond, 500 * time.Millisecond
	for _, finish := range []bool{true, false} {
		t.Run(fmt.Sprintf("handler returns %v", finish), func(t *testing.T) {
			e := newEnv(t)
			tok, arn := e.srv.NewStep()
			for range deliveries {
				e.srv.SendQueueMessage(callbacktest.StepMessage(tok, arn, nil, callbacktest.MessageStatusExecuting))
			}
			release := make(chan struct{})
			h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
				if !finish {
					<-ctx.Done()
					return nil, ctx.Err()
				}
				<-release
				return nil, nil
			}
			var res results
			r := start(t, worker.New(e.srv.SQSClient(), e.cb, h, e.fastOptions("w"), func(o *worker.Options) {
				o.Concurrency = deliveries
				o.ShutdownTimeout = shutdown
				o.CallTimeout = bound
				o.VisibilityTimeout = 1000 * time.Second // 10s in the fake: no delivery comes back meanwhile
				o.OnResult = res.add
			}))
			waitFor(t, 10*time.Second, "every delivery held", func() bool { return e.srv.QueueStats().InFlight == deliveries })
			time.Sleep(50 * time.Millisecond) // the duplicates join the running step
			for _, op := range []string{callbacktest.OpReceiveMessage, callbacktest.OpDeleteMessage, callbacktest.OpChangeMessageVisibility} {
				e.srv.FailRandom(1, callbacktest.Delay(time.Hour).ForOperation(op))
			}
			t0 := time.Now()
			if finish {
				close(release)
				waitFor(t, 10*time.Second, "the step's result", func() bool { return len(res.list()) == 1 })
			} else {
				r.stop()
			}
			// Per delivery, it would take deliveries*bound (2s).
			if d := time.Since(t0); d > shutdown+bound+time.Second {
				t.Errorf("%v for the hung calls of %d deliveries; want within %v", d, deliveries, shutdown+bound)
			}
			r.stop()
			if got := res.list(); len(got) != 1 || got[0].Deleted {
				t.Errorf("results %+v", got)
			}
		})
	}
}

// Result.Err carries the redacted text of the handler's error and panic,
// and errors.Is and errors.As still see what is beneath; a report refused
// as a conflict is Settled with an error matching callback.ErrConflict.
func TestResultErrRedacted(t *testing.T) {
	e := newEnv(t)
	wrapped, _ := e.srv.StartStep(map[string]any{"do": "error"})
	panicked, _ := e.srv.StartStep(map[string]any{"do": "panic"})
	done, _ := e.srv.StartStep(map[string]any{"do": "done"})
	if _, err := e.cb.Fail(context.Background(), callback.MustParseToken(done), callback.NewReason("earlier")); err != nil {
		t.Fatal(err)
	}
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		switch m.Arguments["do"] {
		case "error":
			return nil, fmt.Errorf("job for %s: %w", m.Token.Reveal(), &derefErr{msg: "disk of " + m.Token.Reveal() + " full"})
		case "panic":
			panic("boom with " + m.Token.Reveal())
		}
		return nil, nil
	}
	var res results
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, h, e.fastOptions("w"), func(o *worker.Options) { o.OnResult = res.add }))
	waitFor(t, 10*time.Second, "every message settled", func() bool { return e.queueDrained() && len(res.list()) == 3 })
	r.stop()
	for _, rr := range res.list() {
		raw := rr.Token.Reveal()
		if strings.Contains(rr.Err.Error(), raw) || strings.Contains(fmt.Sprintf("%v %+v", rr.Err, rr), raw) {
			t.Errorf("Result.Err shows the raw token: %v", rr.Err)
		}
		switch raw {
		case wrapped:
			var de *derefErr
			if rr.Outcome != worker.Failed || !errors.As(rr.Err, &de) || !strings.Contains(rr.Err.Error(), rr.Token.String()) {
				t.Errorf("handler error: %+v", rr)
			}
		case panicked:
			var pe *worker.PanicError
			if rr.Outcome != worker.Failed || !errors.As(rr.Err, &pe) || pe.Value != "boom with "+raw ||
				pe.Error() != "handler panicked: boom with "+rr.Token.String() {
				t.Errorf("panic: %+v", rr)
			}
		case done:
			if rr.Outcome != worker.Settled || !errors.Is(rr.Err, callback.ErrConflict) || !rr.Deleted {
				t.Errorf("settled: %+v", rr)
			}
		}
	}
	for _, tok := range []string{wrapped, panicked} {
		if st, _ := e.srv.Step(tok); st.Status != callbacktest.StatusFailed || strings.Contains(st.FailureReason, tok) {
			t.Errorf("step %+v", st)
		}
	}
}

// The log of a malformed message stays under 1 KB a delivery, whatever its
// size, and neither the log nor Result.Err shows a token found in its body.
func TestMalformedBounded(t *testing.T) {
	e := newEnv(t, func(o *callbacktest.Options) { o.Queue.MaxReceiveCount = 2 })
	const secret = "SeCrEt1234"
	e.srv.SendQueueMessage(`{"token":"` + secret + `","pipelineExecutionArn":"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x","status":"` + strings.Repeat("x", 200_000) + `"}`)
	e.srv.SendQueueMessage(`{"token":"` + secret + `","pipelineExecutionArn":"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x","status":"` + secret + `"}`)
	e.srv.SendQueueMessage(`{"token":"` + secret + `","pipelineExecutionArn":"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x","status":"` + strings.Repeat(secret+" ", 500) + `"}`)
	var res results
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w"), func(o *worker.Options) {
		o.Concurrency = 3
		o.VisibilityTimeout = 2 * time.Second
		o.OnResult = res.add
	}))
	waitFor(t, 10*time.Second, "the malformed messages moved aside", func() bool { return e.srv.QueueStats().DeadLettered == 3 })
	r.stop()
	deliveries := len(res.list())
	logged := e.log.String()
	// Each message is delivered twice before it is moved aside, unless a
	// receive's answer was lost on a loaded machine (the fake counts the
	// receive, the Worker never sees it): 3 to 6 deliveries.
	if deliveries < 3 || deliveries > 6 || len(logged) >= 1024*deliveries {
		t.Errorf("%d bytes of log for %d deliveries", len(logged), deliveries)
	}
	if strings.Contains(logged, secret) {
		t.Errorf("the log shows the token")
	}
	for _, rr := range res.list() {
		if rr.Outcome != worker.Malformed || strings.Contains(rr.Err.Error(), secret) || len(rr.Err.Error()) > 1024 {
			t.Errorf("result %v: %.200q", rr.Outcome, rr.Err)
		}
	}
}

// emptyAnswers wraps an SQS client; its first ReceiveMessage answers nil
// and no error, as a wrapper of the client might.
type emptyAnswers struct {
	*sqs.Client
	answered atomic.Bool
}

func (a *emptyAnswers) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if a.answered.CompareAndSwap(false, true) {
		return nil, nil
	}
	return a.Client.ReceiveMessage(ctx, in, optFns...)
}

// A ReceiveMessage that answers nothing at all (nil, nil) counts as an empty
// receive: the Worker goes on.
func TestNilReceiveAnswer(t *testing.T) {
	e := newEnv(t)
	e.srv.StartStep(map[string]any{"n": 1})
	api := &emptyAnswers{Client: e.srv.SQSClient()}
	r := start(t, worker.New(api, e.cb, echo, e.fastOptions("w")))
	waitFor(t, 10*time.Second, "the step completed and deleted", func() bool { return e.allCompleted() && e.queueDrained() })
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if !api.answered.Load() {
		t.Error("the wrapper was not called")
	}
}

// An OnResult that panics is logged and goes no further: the Worker goes on
// with the next message, and every step is completed once and deleted.
func TestOnResultPanics(t *testing.T) {
	e := newEnv(t)
	for i := range 3 {
		e.srv.StartStep(map[string]any{"n": i})
	}
	var calls atomic.Int32
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w"), func(o *worker.Options) {
		o.Concurrency = 1
		o.OnResult = func(worker.Result) {
			calls.Add(1)
			panic("observer bug")
		}
	}))
	waitFor(t, 10*time.Second, "every step completed and deleted", func() bool { return e.allCompleted() && e.queueDrained() })
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
	if n := calls.Load(); n != 3 {
		t.Errorf("OnResult called %d times, want 3", n)
	}
}

// A Worker whose callback client has no API (callback.New(nil)) leaves its
// messages with the client's error; it does not blame the handler's outputs.
func TestClientWithoutAPI(t *testing.T) {
	e := newEnv(t)
	e.srv.StartStep(map[string]any{"n": 1})
	var res results
	r := start(t, worker.New(e.srv.SQSClient(), callback.New(nil), echo, e.fastOptions("w"), func(o *worker.Options) {
		o.OnResult = res.add
	}))
	waitFor(t, 10*time.Second, "a result", func() bool { return len(res.list()) > 0 })
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	rr := res.list()[0]
	if rr.Outcome != worker.Left || !errors.Is(rr.Err, callback.ErrInvalid) || strings.Contains(rr.Err.Error(), "outputs were refused") {
		t.Errorf("result %+v; want Left with the client's ErrInvalid, not blaming the outputs", rr)
	}
}

// panicHandler is a slog.Handler whose every method panics.
type panicHandler struct{}

func (panicHandler) Enabled(context.Context, slog.Level) bool  { panic("Enabled") }
func (panicHandler) Handle(context.Context, slog.Record) error { panic("Handle") }
func (panicHandler) WithAttrs([]slog.Attr) slog.Handler        { panic("WithAttrs") }
func (panicHandler) WithGroup(string) slog.Handler             { panic("WithGroup") }

// A Logger whose handler panics, the Worker's or the callback client's,
// crashes nothing and changes no outcome: a step succeeds, a step already
// completed is settled, a panicking handler fails its step, a malformed
// message is left. Today's code crashed the process from the Worker's
// goroutine (and the client's log of a refused report made it Left).
func TestLoggerPanics(t *testing.T) {
	e := newEnv(t)
	bad := slog.New(panicHandler{})
	cb := callback.New(e.srv.Client(), func(o *callback.Options) {
		o.Retry = retry.Policy{MaxAttempts: 2, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}
		o.Logger = bad
	})
	handle := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		if m.Arguments["panic"] == true {
			panic("boom")
		}
		return echo(ctx, m)
	}
	want := map[string]worker.Outcome{"ok": worker.Succeeded, "done": worker.Settled, "panic": worker.Failed, "bad": worker.Malformed}

	ids := map[string]string{}
	tok, _ := e.srv.StartStep(map[string]any{"n": 1})
	ids[tok] = "ok"
	tok, _ = e.srv.StartStep(map[string]any{"panic": true})
	ids[tok] = "panic"
	tok, _ = e.srv.StartStep(map[string]any{"n": 2})
	if _, err := e.cb.Fail(context.Background(), callback.MustParseToken(tok), callback.Reason{}); err != nil {
		t.Fatal(err)
	}
	ids[tok] = "done"
	e.srv.SendQueueMessage("not json")
	// The Worker starts once "done" is completed: started before, it could
	// take that step first, and the test's Fail would meet a conflict.
	var res results
	r := start(t, worker.New(e.srv.SQSClient(), cb, handle, e.fastOptions("w"), func(o *worker.Options) {
		o.Logger = bad
		o.OnResult = res.add
	}))
	waitFor(t, 10*time.Second, "four results", func() bool { return len(res.list()) >= 4 })
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	for _, rr := range res.list() {
		name := ids[rr.Token.Reveal()]
		if rr.Token.IsZero() {
			name = "bad"
		}
		if rr.Outcome != want[name] {
			t.Errorf("Worker: %s: %v, want %v (%v)", name, rr.Outcome, want[name], rr.Err)
		}
	}

	var lres results
	fn := worker.LambdaHandler(cb, handle, func(o *worker.LambdaOptions) {
		o.Logger = bad
		o.OnResult = lres.add
	})
	okTok, okARN := e.srv.NewStep()
	panicTok, panicARN := e.srv.NewStep()
	doneTok, doneARN := e.srv.NewStep()
	if _, err := e.cb.Fail(context.Background(), callback.MustParseToken(doneTok), callback.Reason{}); err != nil {
		t.Fatal(err)
	}
	invoke(t, fn, 5*time.Second,
		record("ok", okTok, okARN, map[string]any{"n": 1}, callbacktest.MessageStatusExecuting),
		record("panic", panicTok, panicARN, map[string]any{"panic": true}, callbacktest.MessageStatusExecuting),
		record("done", doneTok, doneARN, nil, callbacktest.MessageStatusExecuting),
		rawRecord("bad", "not json"))
	got := byMessage(lres.list())
	for name, o := range want {
		if got[name].Outcome != o {
			t.Errorf("Lambda: %s: %v, want %v (%v)", name, got[name].Outcome, o, got[name].Err)
		}
	}
}
