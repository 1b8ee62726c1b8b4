package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
)

// echo is a handler that returns the argument "n" as the output "n".
func echo(_ context.Context, m callback.Message) ([]callback.Output, error) {
	return []callback.Output{callback.MustNewOutput("n", fmt.Sprint(m.Arguments["n"]))}, nil
}

func TestSucceed(t *testing.T) {
	e := newEnv(t)
	var res results
	w := worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w"), func(o *worker.Options) {
		o.Concurrency = 4
		o.OnResult = res.add
	})
	tokens := map[string]int{}
	for i := range 10 {
		tok, _ := e.srv.StartStep(map[string]any{"n": i})
		tokens[tok] = i
	}
	r := start(t, w)
	waitFor(t, 10*time.Second, "every step completed and deleted", func() bool { return e.allCompleted() && e.queueDrained() })
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
	for tok, i := range tokens {
		st, _ := e.srv.Step(tok)
		if len(st.Outputs) != 1 || st.Outputs[0] != (callbacktest.Output{Name: "n", Value: strconv.Itoa(i)}) {
			t.Errorf("outputs %v, want n=%d", st.Outputs, i)
		}
	}
	if n := res.count(worker.Succeeded); n != 10 {
		t.Errorf("%d Succeeded results, want 10", n)
	}
	for _, rr := range res.list() {
		if !rr.Deleted || rr.Token.IsZero() || rr.Status != callback.StatusExecuting || rr.ReceiveCount != 1 || !rr.ExecutionARN.IsValid() {
			t.Errorf("result %+v", rr)
		}
	}
}

// Two workers on one queue whose messages become visible again while the
// first delivery is still being handled (the heartbeat is off): both run the
// handler, yet each step is completed exactly once and every message ends
// deleted.
func TestTwoWorkersRedelivery(t *testing.T) {
	e := newEnv(t)
	var calls counter
	slowFirst := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		if calls.inc(m.Token.Reveal()) == 1 {
			time.Sleep(80 * time.Millisecond) // 8 SQS seconds: past the visibility timeout
		}
		return echo(ctx, m)
	}
	noHeartbeat := func(name string) func(*worker.Options) {
		return func(o *worker.Options) {
			e.fastOptions(name)(o)
			o.Concurrency = 4
			o.VisibilityTimeout = 2 * time.Second // 20ms in the fake
			o.Heartbeat = time.Second             // real seconds: long after the handler is done
		}
	}
	const steps = 20
	for i := range steps {
		e.srv.StartStep(map[string]any{"n": i})
	}
	r1 := start(t, worker.New(e.srv.SQSClient(), e.cb, slowFirst, noHeartbeat("w1")))
	r2 := start(t, worker.New(e.srv.SQSClient(), e.cb, slowFirst, noHeartbeat("w2")))
	waitFor(t, 20*time.Second, "every step completed and deleted", func() bool { return e.allCompleted() && e.queueDrained() })
	r1.stop()
	r2.stop()
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
	redelivered := 0
	for _, m := range e.srv.QueueMessages() {
		if m.ReceiveCount > 1 {
			redelivered++
		}
	}
	if redelivered == 0 || calls.total() <= steps {
		t.Errorf("no redelivery happened (%d handler calls for %d steps): the test tests nothing", calls.total(), steps)
	}
	t.Logf("%d handler calls for %d steps, %d messages redelivered, %d stale deletes", calls.total(), steps, redelivered, e.srv.QueueStats().StaleDeletes)
}

// With the heartbeat on, a handler that runs far longer than the visibility
// timeout keeps its message: no other worker receives it meanwhile.
func TestVisibilityExtension(t *testing.T) {
	// SQS seconds of 100ms: an extension has 250ms to land, which a loaded
	// machine running -race needs.
	e := newEnv(t, func(o *callbacktest.Options) { o.Queue.Second = 100 * time.Millisecond })
	var calls counter
	slow := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		calls.inc(m.Token.Reveal())
		time.Sleep(time.Second) // 10 SQS seconds; the visibility timeout is 3
		return echo(ctx, m)
	}
	opts := func(name string) func(*worker.Options) {
		return func(o *worker.Options) {
			e.fastOptions(name)(o)
			o.Concurrency = 2
			o.WaitTime = time.Second
			o.VisibilityTimeout = 3 * time.Second // 300ms in the fake
			o.Heartbeat = 50 * time.Millisecond
		}
	}
	for i := range 4 {
		e.srv.StartStep(map[string]any{"n": i})
	}
	r1 := start(t, worker.New(e.srv.SQSClient(), e.cb, slow, opts("w1")))
	r2 := start(t, worker.New(e.srv.SQSClient(), e.cb, slow, opts("w2")))
	waitFor(t, 20*time.Second, "every step completed and deleted", func() bool { return e.allCompleted() && e.queueDrained() })
	r1.stop()
	r2.stop()
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
	for _, m := range e.srv.QueueMessages() {
		if m.ReceiveCount != 1 {
			t.Errorf("a message was received %d times", m.ReceiveCount)
		}
	}
	if calls.total() != 4 {
		t.Errorf("%d handler calls, want 4", calls.total())
	}
	if n := e.srv.QueueStats().VisibilityChanges; n < 4*5 {
		t.Errorf("%d visibility extensions, want at least 20", n)
	}
}

// A worker shut down in the middle of a handler: once its grace runs out it
// cancels the handler, reports nothing, and hands the message back; another
// worker completes the step.
func TestShutdownMidHandler(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	var cause atomic.Value
	blocking := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		close(started)
		<-ctx.Done()
		cause.Store(context.Cause(ctx))
		return nil, ctx.Err()
	}
	var res1 results
	w1 := worker.New(e.srv.SQSClient(), e.cb, blocking, e.fastOptions("w1"), func(o *worker.Options) {
		o.ShutdownTimeout = 20 * time.Millisecond
		o.VisibilityTimeout = time.Hour // the message comes back only if handed back
		o.OnResult = res1.add
	})
	tok, _ := e.srv.StartStep(nil)
	r1 := start(t, w1)
	<-started
	t0 := time.Now()
	if err := r1.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("Run took %v to return", d)
	}
	if c, _ := cause.Load().(error); !errors.Is(c, worker.ErrShutdown) {
		t.Errorf("the handler's context ended with %v, want ErrShutdown", c)
	}
	if st, _ := e.srv.Step(tok); st.Status != callbacktest.StatusExecuting || st.Completions != 0 {
		t.Fatalf("the shut-down worker reported: %+v", st)
	}
	if got := res1.list(); len(got) != 1 || got[0].Outcome != worker.Left || !errors.Is(got[0].Err, worker.ErrShutdown) || got[0].Deleted {
		t.Fatalf("results %+v", got)
	}
	if st := e.srv.QueueStats(); st.Visible != 1 {
		t.Fatalf("the message was not handed back: %+v", st)
	}

	r2 := start(t, worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w2")))
	waitFor(t, 10*time.Second, "the step completed by the second worker", func() bool { return e.allCompleted() && e.queueDrained() })
	r2.stop()
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
	if m := e.srv.QueueMessages()[0]; m.ReceiveCount != 2 {
		t.Errorf("received %d times, want 2", m.ReceiveCount)
	}
}

// Within ShutdownTimeout, handlers in flight finish and are reported.
func TestShutdownGrace(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 3)
	slow := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		started <- struct{}{}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return echo(ctx, m)
	}
	for i := range 3 {
		e.srv.StartStep(map[string]any{"n": i})
	}
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, slow, e.fastOptions("w"), func(o *worker.Options) { o.Concurrency = 3 }))
	for range 3 {
		<-started
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	// Run returned only once the handlers were done and reported.
	if !e.allCompleted() || !e.queueDrained() {
		t.Fatalf("after Run: steps %+v, queue %+v", e.srv.Steps(), e.srv.QueueStats())
	}
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
}

// Shutdown at a random point loses nothing: each step is completed with its
// message deleted, or not completed with its message still on the queue; a
// second worker then completes the rest, each step exactly once.
func TestShutdownLosesNothing(t *testing.T) {
	e := newEnv(t)
	const steps = 60
	for i := range steps {
		e.srv.StartStep(map[string]any{"n": i})
	}
	var done atomic.Int32
	jittery := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		n, _ := strconv.Atoi(fmt.Sprint(m.Arguments["n"]))
		select {
		case <-time.After(time.Duration(n%7) * 3 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		done.Add(1)
		return echo(ctx, m)
	}
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, jittery, e.fastOptions("w1"), func(o *worker.Options) {
		o.Concurrency = 8
		o.ShutdownTimeout = 5 * time.Millisecond
	}))
	waitFor(t, 10*time.Second, "some steps done", func() bool { return done.Load() >= 15 })
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	bodies := map[string]callbacktest.QueueMessage{}
	for _, m := range e.srv.QueueMessages() {
		msg, err := callback.ParseMessage([]byte(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		bodies[msg.Token.Reveal()] = m
	}
	completed := 0
	for _, st := range e.srv.Steps() {
		m := bodies[st.Token]
		switch {
		case st.Status == callbacktest.StatusSucceeded && st.Completions == 1:
			completed++
			// Its message is deleted, or (its delete cut by the shutdown)
			// still on the queue, to be settled later.
		case st.Status == callbacktest.StatusExecuting:
			if m.State == callbacktest.MessageDeleted {
				t.Errorf("a step not completed lost its message")
			}
		default:
			t.Errorf("step %+v", st)
		}
	}
	t.Logf("%d of %d steps completed before the shutdown", completed, steps)

	r2 := start(t, worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w2"), func(o *worker.Options) { o.Concurrency = 8 }))
	waitFor(t, 20*time.Second, "the rest completed", func() bool { return e.allCompleted() && e.queueDrained() })
	r2.stop()
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
}

// A Stopping message cancels the running handler (cause ErrStopping) and the
// step is failed with StoppingReason; both messages are deleted.
func TestStopping(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	var cause atomic.Value
	blocking := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		close(started)
		<-ctx.Done()
		cause.Store(context.Cause(ctx))
		return nil, errors.New("interrupted")
	}
	var res results
	tok, arn := e.srv.StartStep(map[string]any{"n": 1})
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, blocking, e.fastOptions("w"), func(o *worker.Options) {
		o.Concurrency = 2
		o.OnResult = res.add
	}))
	<-started
	if !e.srv.StopExecution(arn) {
		t.Fatal("StopExecution = false")
	}
	waitFor(t, 10*time.Second, "the step failed and both messages deleted", func() bool { return e.allCompleted() && e.queueDrained() && len(res.list()) == 2 })
	r.stop()
	if c, _ := cause.Load().(error); !errors.Is(c, worker.ErrStopping) {
		t.Errorf("the handler's context ended with %v, want ErrStopping", c)
	}
	st, _ := e.srv.Step(tok)
	if st.Status != callbacktest.StatusFailed || st.FailureReason != worker.StoppingReason || st.Completions != 1 || st.Conflicts != 0 {
		t.Errorf("step %+v", st)
	}
	for _, rr := range res.list() {
		if rr.Outcome != worker.Failed || !errors.Is(rr.Err, worker.ErrStopping) || !rr.Deleted {
			t.Errorf("result %+v", rr)
		}
	}
}

// A Stopping message for a step this worker does not run: the worker fails
// the step itself and deletes the message. When the step's Executing message
// then comes to the same worker, its handler is not run.
func TestStoppingNotRunningHere(t *testing.T) {
	e := newEnv(t)
	tok, arn := e.srv.StartStep(nil)
	// Another consumer holds the Executing message for 5 SQS seconds.
	out, err := e.srv.SQSClient().ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.srv.QueueURL()), VisibilityTimeout: 5})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v, %v", out, err)
	}
	e.srv.StopExecution(arn)
	var calls atomic.Int32
	var res results
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		calls.Add(1)
		return nil, nil
	}
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, h, e.fastOptions("w"), func(o *worker.Options) { o.OnResult = res.add }))
	waitFor(t, 10*time.Second, "both messages handled", func() bool { return e.queueDrained() && len(res.list()) == 2 })
	r.stop()
	st, _ := e.srv.Step(tok)
	if st.Status != callbacktest.StatusFailed || st.FailureReason != worker.StoppingReason || st.Completions != 1 {
		t.Errorf("step %+v", st)
	}
	if calls.Load() != 0 {
		t.Errorf("the handler of a stopped step ran")
	}
	got := res.list()
	if got[0].Status != callback.StatusStopping || got[0].Outcome != worker.Failed || got[1].Status != callback.StatusExecuting || got[1].Outcome != worker.Failed {
		t.Errorf("results %+v", got)
	}
}

func TestPanic(t *testing.T) {
	e := newEnv(t)
	bad, _ := e.srv.StartStep(map[string]any{"n": 0})
	for i := 1; i < 5; i++ {
		e.srv.StartStep(map[string]any{"n": i})
	}
	var res results
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		if m.Token.Reveal() == bad {
			panic("boom with " + m.Token.Reveal())
		}
		return echo(ctx, m)
	}
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, h, e.fastOptions("w"), func(o *worker.Options) { o.OnResult = res.add }))
	waitFor(t, 10*time.Second, "every step completed", func() bool { return e.allCompleted() && e.queueDrained() })
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	for _, st := range e.srv.Steps() {
		switch {
		case st.Token == bad:
			if st.Status != callbacktest.StatusFailed || !strings.HasPrefix(st.FailureReason, "handler panicked: boom with Token(sha256:") {
				t.Errorf("panicked step %+v", st)
			}
		case st.Status != callbacktest.StatusSucceeded:
			t.Errorf("step %+v", st)
		}
	}
	var pe *worker.PanicError
	for _, rr := range res.list() {
		if rr.Token.Reveal() == bad && (rr.Outcome != worker.Failed || !errors.As(rr.Err, &pe)) {
			t.Errorf("result %+v", rr)
		}
	}
	if !strings.Contains(e.log.String(), "handler panicked") && !strings.Contains(e.log.String(), "the handler panicked") {
		t.Error("the panic was not logged")
	}
}

func TestHandlerError(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.srv.StartStep(nil)
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		return nil, fmt.Errorf("training job for %s: %w", m.Token.Reveal(), errors.New("ResourceLimitExceeded"))
	}
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, h, e.fastOptions("w")))
	waitFor(t, 10*time.Second, "the step failed", func() bool { return e.allCompleted() && e.queueDrained() })
	r.stop()
	st, _ := e.srv.Step(tok)
	if st.Status != callbacktest.StatusFailed || strings.Contains(st.FailureReason, tok) || !strings.HasSuffix(st.FailureReason, ": ResourceLimitExceeded") {
		t.Errorf("step %+v", st)
	}
}

// More than 50 outputs, or a zero Output, cannot be reported: the step is
// failed with why.
func TestOutputsRefused(t *testing.T) {
	e := newEnv(t)
	many, _ := e.srv.StartStep(nil)
	zero, _ := e.srv.StartStep(map[string]any{"zero": true})
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		if m.Arguments["zero"] == true {
			return []callback.Output{{}}, nil
		}
		outs := make([]callback.Output, 51)
		for i := range outs {
			outs[i] = callback.MustNewOutput("o"+strconv.Itoa(i), "v")
		}
		return outs, nil
	}
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, h, e.fastOptions("w")))
	waitFor(t, 10*time.Second, "the steps failed", func() bool { return e.allCompleted() && e.queueDrained() })
	r.stop()
	for _, tok := range []string{many, zero} {
		st, _ := e.srv.Step(tok)
		if st.Status != callbacktest.StatusFailed || !strings.Contains(st.FailureReason, "outputs were refused") {
			t.Errorf("step %+v", st)
		}
	}
}

// A malformed message is not handled, not deleted, not extended: it comes
// back after each visibility timeout until the redrive policy moves it
// aside. The log says so without the token.
func TestMalformed(t *testing.T) {
	e := newEnv(t, func(o *callbacktest.Options) { o.Queue.MaxReceiveCount = 3 })
	const secret = "SeCrEt1234"
	ids := []string{
		e.srv.SendQueueMessage("not json at all"),
		e.srv.SendQueueMessage(`{"token":"` + secret + `","pipelineExecutionArn":"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x","status":"Bogus"}`),
		e.srv.SendQueueMessage(`{"token":"` + secret + `x","status":"Executing"}`),
	}
	var calls atomic.Int32
	var res results
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		calls.Add(1)
		return nil, nil
	}
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, h, e.fastOptions("w"), func(o *worker.Options) {
		o.Concurrency = 3
		o.VisibilityTimeout = 2 * time.Second // 20ms in the fake
		o.OnResult = res.add
	}))
	waitFor(t, 10*time.Second, "the malformed messages moved aside", func() bool { return e.srv.QueueStats().DeadLettered == 3 })
	r.stop()
	if calls.Load() != 0 {
		t.Error("the handler ran for a malformed message")
	}
	st := e.srv.QueueStats()
	if st.Deleted != 0 || st.VisibilityChanges != 0 || st.Receives != 9 {
		t.Errorf("queue %+v: want no delete, no extension, 3 receives of each", st)
	}
	if n := res.count(worker.Malformed); n != 9 {
		t.Errorf("%d Malformed results, want 9", n)
	}
	for _, rr := range res.list() {
		if rr.Deleted || !rr.Token.IsZero() || rr.Err == nil {
			t.Errorf("result %+v", rr)
		}
	}
	logged := e.log.String()
	if strings.Contains(logged, secret) || strings.Contains(logged, "not json at all") {
		t.Errorf("the log shows a token or a body:\n%s", logged)
	}
	for _, id := range ids {
		if !strings.Contains(logged, id) {
			t.Errorf("the log does not name message %s", id)
		}
	}
}

// A report that fails with a retryable class once the policy is spent
// leaves the message; it comes back and the step is completed then.
func TestReportRetryableLeaves(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.srv.StartStep(map[string]any{"n": 7})
	e.srv.FailNext(2, callbacktest.Throttle.ForOperation(callbacktest.OpSuccess)) // the policy's 2 attempts
	var res results
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w"), func(o *worker.Options) {
		o.VisibilityTimeout = 2 * time.Second // 20ms in the fake
		o.OnResult = res.add
	}))
	waitFor(t, 10*time.Second, "the step completed", func() bool { return e.allCompleted() && e.queueDrained() })
	r.stop()
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
	got := res.list()
	if len(got) != 2 || got[0].Outcome != worker.Left || !errors.Is(got[0].Err, callback.ErrThrottled) || got[0].Deleted ||
		got[1].Outcome != worker.Succeeded || got[1].ReceiveCount != 2 {
		t.Errorf("results %+v", got)
	}
	if st, _ := e.srv.Step(tok); st.Outputs[0].Value != "7" {
		t.Errorf("step %+v", st)
	}
}

// A delete that fails after the step was completed: the message comes back,
// the report is answered as already done, and the message is deleted then.
func TestDeleteFails(t *testing.T) {
	e := newEnv(t)
	e.srv.StartStep(map[string]any{"n": 1})
	e.srv.FailNext(3, callbacktest.Unavailable.ForOperation(callbacktest.OpDeleteMessage)) // the SDK's 3 attempts
	var res results
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w"), func(o *worker.Options) {
		o.VisibilityTimeout = 2 * time.Second
		o.OnResult = res.add
	}))
	waitFor(t, 10*time.Second, "the message deleted", func() bool { return e.allCompleted() && e.queueDrained() })
	r.stop()
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
	got := res.list()
	if len(got) != 2 || got[0].Outcome != worker.Succeeded || got[0].Deleted || got[1].Outcome != worker.Succeeded || !got[1].Deleted {
		t.Errorf("results %+v", got)
	}
	// The second report, with the same outputs, is a replay.
	if st := e.srv.Steps()[0]; st.Replays != 1 {
		t.Errorf("step %+v", st)
	}
}

// Two messages for one step delivered while its handler runs: the handler
// runs once and both messages are deleted.
func TestDuplicateDelivery(t *testing.T) {
	e := newEnv(t)
	tok, arn := e.srv.NewStep()
	body := callbacktest.StepMessage(tok, arn, nil, callbacktest.MessageStatusExecuting)
	e.srv.SendQueueMessage(body)
	e.srv.SendQueueMessage(body)
	var calls atomic.Int32
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		calls.Add(1)
		time.Sleep(100 * time.Millisecond)
		return nil, nil
	}
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, h, e.fastOptions("w"), func(o *worker.Options) { o.Concurrency = 2 }))
	waitFor(t, 10*time.Second, "both messages deleted", func() bool { return e.allCompleted() && e.queueDrained() })
	r.stop()
	if calls.Load() != 1 {
		t.Errorf("%d handler calls, want 1", calls.Load())
	}
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
}

// The worker never has more messages than slots: with 3 slots and blocked
// handlers, 3 messages are in flight and the rest stay visible.
func TestConcurrencyBound(t *testing.T) {
	e := newEnv(t)
	for i := range 10 {
		e.srv.StartStep(map[string]any{"n": i})
	}
	release := make(chan struct{})
	var now, most atomic.Int32
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		n := now.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		now.Add(-1)
		return echo(ctx, m)
	}
	r := start(t, worker.New(e.srv.SQSClient(), e.cb, h, e.fastOptions("w"), func(o *worker.Options) { o.Concurrency = 3 }))
	waitFor(t, 10*time.Second, "3 handlers running", func() bool { return now.Load() == 3 })
	time.Sleep(50 * time.Millisecond)
	if st := e.srv.QueueStats(); st.InFlight != 3 || st.Visible != 7 {
		t.Errorf("queue %+v: want 3 in flight, 7 visible", st)
	}
	close(release)
	waitFor(t, 10*time.Second, "every step completed", func() bool { return e.allCompleted() && e.queueDrained() })
	r.stop()
	if most.Load() != 3 {
		t.Errorf("at most %d handlers at once, want 3", most.Load())
	}
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
}

func TestRunErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := worker.New(e.srv.SQSClient(), e.cb, echo).Run(ctx); err == nil || !strings.Contains(err.Error(), "QueueURL") {
		t.Errorf("no QueueURL: %v", err)
	}
	if err := worker.New(e.srv.SQSClient(), e.cb, nil, e.fastOptions("w")).Run(ctx); err == nil {
		t.Error("no handler: no error")
	}
	for _, api := range []worker.SQSAPI{nil, (*sqs.Client)(nil)} { // a nil *sqs.Client is no client either
		if err := worker.New(api, e.cb, echo, e.fastOptions("w")).Run(ctx); err == nil || !strings.Contains(err.Error(), "no SQS client") {
			t.Errorf("SQS client %#v: %v", api, err)
		}
	}
	if err := worker.New(e.srv.SQSClient(), (*callback.Client)(nil), echo, e.fastOptions("w")).Run(ctx); err == nil {
		t.Error("no callback client: no error")
	}
	w := worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w"), func(o *worker.Options) { o.QueueURL = e.srv.URL() + "/123456789012/nope" })
	err := w.Run(ctx)
	var noQueue *types.QueueDoesNotExist
	if !errors.As(err, &noQueue) {
		t.Errorf("unknown queue: %v", err)
	}

	// A second Run while one runs.
	w = worker.New(e.srv.SQSClient(), e.cb, echo, e.fastOptions("w"))
	r := start(t, w)
	time.Sleep(20 * time.Millisecond)
	if err := w.Run(ctx); err == nil {
		t.Error("a second Run: no error")
	}
	r.stop()
}

func TestOptionsDefaults(t *testing.T) {
	o := worker.New(nil, nil, nil).Options()
	if o.Concurrency != 1 || o.WaitTime != 20*time.Second || o.VisibilityTimeout != 30*time.Second || o.Heartbeat != 10*time.Second ||
		o.ShutdownTimeout != 30*time.Second || o.CallTimeout != 5*time.Second {
		t.Errorf("defaults %+v", o)
	}
	o = worker.New(nil, nil, nil, func(o *worker.Options) {
		o.WaitTime = -1
		o.VisibilityTimeout = 1500 * time.Millisecond
	}).Options()
	if o.WaitTime != 0 || o.VisibilityTimeout != 1500*time.Millisecond || o.Heartbeat != 500*time.Millisecond {
		t.Errorf("options %+v", o)
	}
}

// Run does not wait at shutdown for a handler that ignores its context: once
// ShutdownTimeout has passed, it abandons the handler, reports nothing and
// hands the message back, as the README and the package documentation say.
func TestShutdownAbandonsHandlerIgnoringContext(t *testing.T) {
	e := newEnv(t)
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	ignoring := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		close(started)
		<-release // ignores its context
		return nil, nil
	}
	w := worker.New(e.srv.SQSClient(), e.cb, ignoring, e.fastOptions("w1"), func(o *worker.Options) {
		o.ShutdownTimeout = 20 * time.Millisecond
		o.VisibilityTimeout = time.Hour // the message comes back only if handed back
	})
	tok, _ := e.srv.StartStep(nil)
	r := start(t, w)
	<-started
	t0 := time.Now()
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("Run took %v to return, with its handler still running", d)
	}
	if st, _ := e.srv.Step(tok); st.Status != callbacktest.StatusExecuting || st.Completions != 0 {
		t.Errorf("the shut-down worker reported: %+v", st)
	}
	if st := e.srv.QueueStats(); st.Visible != 1 {
		t.Errorf("the message was not handed back: %+v", st)
	}
}
