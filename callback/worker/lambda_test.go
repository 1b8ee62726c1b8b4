package worker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
)

// record returns an SQS record, as Lambda's event source mapping sends it,
// with the body of a callback step's message.
func record(id, token, arn string, args map[string]any, status string) events.SQSMessage {
	return rawRecord(id, callbacktest.StepMessage(token, arn, args, status))
}

func rawRecord(id, body string) events.SQSMessage {
	return events.SQSMessage{
		MessageId:     id,
		ReceiptHandle: "rh-" + id,
		Body:          body,
		Attributes:    map[string]string{"ApproximateReceiveCount": "1"},
		EventSource:   "aws:sqs",
		AWSRegion:     "us-east-1",
	}
}

// listed returns the message ids of a response's BatchItemFailures, sorted.
func listed(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	slices.Sort(ids)
	return ids
}

// invoke calls fn as Lambda would, with a deadline timeout from now, and
// fails the test if it does not return by then.
func invoke(t *testing.T, fn func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), timeout time.Duration, recs ...events.SQSMessage) events.SQSEventResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := fn(ctx, events.SQSEvent{Records: recs})
	if err != nil {
		t.Fatalf("the function returned %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the function returned after its deadline")
	}
	return resp
}

// byMessage indexes results by MessageID.
func byMessage(rs []worker.Result) map[string]worker.Result {
	m := map[string]worker.Result{}
	for _, r := range rs {
		m[r.MessageID] = r
	}
	return m
}

// actions is a handler whose behaviour the argument "do" chooses, counting
// the runs of each token.
type actions struct {
	runs counter
}

func (a *actions) handle(ctx context.Context, m callback.Message) ([]callback.Output, error) {
	a.runs.inc(m.Token.Reveal())
	switch m.Arguments["do"] {
	case "succeed":
		return []callback.Output{callback.MustNewOutput("n", fmt.Sprint(m.Arguments["n"]))}, nil
	case "fail":
		return nil, fmt.Errorf("the job for %s failed: disk full", m.Token.Reveal())
	case "panic":
		panic("no model for " + m.Token.Reveal())
	case "slow": // long enough for a duplicate to be run alongside, were it run
		time.Sleep(20 * time.Millisecond)
		return []callback.Output{callback.MustNewOutput("n", "slow")}, nil
	}
	return nil, fmt.Errorf("unknown action %v", m.Arguments["do"])
}

// A batch with every kind of record: each is settled as the Worker would,
// only the malformed one is listed, and nothing shows a raw token.
func TestLambdaMixedBatch(t *testing.T) {
	e := newEnv(t)
	var a actions
	var res results
	fn := worker.LambdaHandler(e.cb, a.handle, func(o *worker.LambdaOptions) {
		o.Logger = e.logger("lambda")
		o.OnResult = res.add
	})
	okTok, okARN := e.srv.NewStep()
	failTok, failARN := e.srv.NewStep()
	panicTok, panicARN := e.srv.NewStep()
	doneTok, doneARN := e.srv.NewStep()
	if _, err := e.cb.Succeed(context.Background(), callback.MustParseToken(doneTok), nil); err != nil {
		t.Fatal(err)
	}
	stopTok, stopARN := e.srv.NewStep()
	dupTok, dupARN := e.srv.NewStep()
	unknown := "Unknown123"
	recs := []events.SQSMessage{
		record("ok", okTok, okARN, map[string]any{"do": "succeed", "n": 7}, callbacktest.MessageStatusExecuting),
		record("fail", failTok, failARN, map[string]any{"do": "fail"}, callbacktest.MessageStatusExecuting),
		record("panic", panicTok, panicARN, map[string]any{"do": "panic"}, callbacktest.MessageStatusExecuting),
		rawRecord("malformed", `{"token":"x","status":"Executing"}`),
		record("unknown", unknown, okARN, map[string]any{"do": "succeed", "n": 1}, callbacktest.MessageStatusExecuting),
		record("done", doneTok, doneARN, map[string]any{"do": "succeed", "n": 2}, callbacktest.MessageStatusExecuting),
		record("stop-exec", stopTok, stopARN, map[string]any{"do": "succeed", "n": 3}, callbacktest.MessageStatusExecuting),
		record("stop", stopTok, stopARN, nil, callbacktest.MessageStatusStopping),
		record("dup1", dupTok, dupARN, map[string]any{"do": "slow"}, callbacktest.MessageStatusExecuting),
		record("dup2", dupTok, dupARN, map[string]any{"do": "slow"}, callbacktest.MessageStatusExecuting),
	}
	resp := invoke(t, fn, 10*time.Second, recs...)

	if got := listed(resp); !slices.Equal(got, []string{"malformed"}) {
		t.Errorf("listed %v, want [malformed]", got)
	}
	check := func(tok, status, reason string, outputs ...callbacktest.Output) {
		t.Helper()
		st, _ := e.srv.Step(tok)
		if st.Status != status || st.Completions != 1 || st.Conflicts != 0 || st.FailureReason != reason || !slices.Equal(st.Outputs, outputs) {
			t.Errorf("step %s…: %+v; want %s %q %v, 1 completion, no conflict", tok[:2], st, status, reason, outputs)
		}
	}
	check(okTok, callbacktest.StatusSucceeded, "", callbacktest.Output{Name: "n", Value: "7"})
	red := func(tok string) string { return callback.MustParseToken(tok).String() }
	check(failTok, callbacktest.StatusFailed, "the job for "+red(failTok)+" failed: disk full")
	check(panicTok, callbacktest.StatusFailed, "handler panicked: no model for "+red(panicTok))
	check(stopTok, callbacktest.StatusFailed, worker.StoppingReason)
	check(dupTok, callbacktest.StatusSucceeded, "", callbacktest.Output{Name: "n", Value: "slow"})
	if st, _ := e.srv.Step(doneTok); st.Completions != 1 || st.Conflicts != 1 || len(st.Outputs) != 0 {
		t.Errorf("the completed step: %+v; want its first completion kept and one conflict", st)
	}
	if n := a.runs.get(stopTok); n != 0 {
		t.Errorf("the handler ran %d times for a step stopped in the same batch; want 0", n)
	}
	if n := a.runs.get(dupTok); n != 1 {
		t.Errorf("the handler ran %d times for a step delivered twice in the batch; want 1", n)
	}
	for _, r := range e.srv.Requests() {
		if r.CallbackToken == stopTok && r.Operation != callbacktest.OpFailure {
			t.Errorf("a %s was sent for the stopped step", r.Operation)
		}
	}

	got := byMessage(res.list())
	if len(got) != len(recs) {
		t.Fatalf("%d results, want %d", len(got), len(recs))
	}
	want := map[string]worker.Outcome{
		"ok": worker.Succeeded, "fail": worker.Failed, "panic": worker.Failed, "malformed": worker.Malformed,
		"unknown": worker.Settled, "done": worker.Settled, "stop-exec": worker.Failed, "stop": worker.Failed,
		"dup1": worker.Succeeded, "dup2": worker.Succeeded,
	}
	for id, o := range want {
		r := got[id]
		if r.Outcome != o {
			t.Errorf("%s: outcome %v (%v), want %v", id, r.Outcome, r.Err, o)
		}
		if r.Deleted != (o != worker.Malformed) || r.ReceiveCount != 1 {
			t.Errorf("%s: Deleted %v, ReceiveCount %d", id, r.Deleted, r.ReceiveCount)
		}
		if r.Err != nil && (strings.Contains(r.Err.Error(), failTok) || strings.Contains(r.Err.Error(), panicTok) || strings.Contains(r.Err.Error(), unknown)) {
			t.Errorf("%s: Result.Err shows a raw token: %v", id, r.Err)
		}
	}
	var pe *worker.PanicError
	if !errors.As(got["panic"].Err, &pe) {
		t.Errorf("panic: Err %v is not a *PanicError", got["panic"].Err)
	}
	if !errors.Is(got["stop-exec"].Err, worker.ErrStopping) || !errors.Is(got["stop"].Err, worker.ErrStopping) {
		t.Errorf("the stopped step's Errs: %v, %v; want ErrStopping", got["stop-exec"].Err, got["stop"].Err)
	}
	if !errors.Is(got["unknown"].Err, callback.ErrNotFound) || !errors.Is(got["done"].Err, callback.ErrConflict) {
		t.Errorf("Settled Errs: %v, %v; want ErrNotFound, ErrConflict", got["unknown"].Err, got["done"].Err)
	}
	if got["stop-exec"].Status != callback.StatusExecuting || got["stop"].Status != callback.StatusStopping {
		t.Errorf("statuses %q %q", got["stop-exec"].Status, got["stop"].Status)
	}
	if strings.Contains(e.log.String(), unknown) {
		t.Errorf("the unknown token was logged")
	}
}

// A report that fails through the whole retry policy lists its record; the
// policy's attempts are the only ones (no second retry layer). Delivered
// again, the record is settled.
func TestLambdaReportFailureListed(t *testing.T) {
	e := newEnv(t)
	var a actions
	var res results
	fn := worker.LambdaHandler(e.cb, a.handle, func(o *worker.LambdaOptions) {
		o.Logger = e.logger("lambda")
		o.OnResult = res.add
	})
	tok, arn := e.srv.NewStep()
	okTok, okARN := e.srv.NewStep()
	e.srv.FailNext(2, callbacktest.Unavailable.ForToken(tok)) // the env's policy makes 2 attempts
	recs := []events.SQSMessage{
		record("m1", tok, arn, map[string]any{"do": "succeed", "n": 1}, callbacktest.MessageStatusExecuting),
		record("m2", okTok, okARN, map[string]any{"do": "succeed", "n": 2}, callbacktest.MessageStatusExecuting),
	}
	resp := invoke(t, fn, 10*time.Second, recs...)
	if got := listed(resp); !slices.Equal(got, []string{"m1"}) {
		t.Fatalf("listed %v, want [m1]", got)
	}
	if st, _ := e.srv.Step(tok); st.Status != callbacktest.StatusExecuting {
		t.Errorf("step %+v; want it still executing", st)
	}
	n := 0
	for _, r := range e.srv.Requests() {
		if r.CallbackToken == tok {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d requests for the failing step; want exactly the policy's 2", n)
	}
	r := byMessage(res.list())["m1"]
	if r.Outcome != worker.Left || !errors.Is(r.Err, callback.ErrUnavailable) || r.Deleted {
		t.Errorf("result %+v; want Left, ErrUnavailable, not deleted", r)
	}

	// Redelivered (with the other record, which Lambda would have deleted,
	// delivered again too): both settled, each step completed once.
	resp = invoke(t, fn, 10*time.Second, recs...)
	if got := listed(resp); len(got) != 0 {
		t.Errorf("redelivery: listed %v, want none", got)
	}
	for _, tk := range []string{tok, okTok} {
		if st, _ := e.srv.Step(tk); st.Status != callbacktest.StatusSucceeded || st.Completions != 1 {
			t.Errorf("step %+v; want succeeded once", st)
		}
	}
	if st, _ := e.srv.Step(okTok); st.Replays != 1 {
		t.Errorf("the step reported twice: %d replays, want 1 (the same request again)", st.Replays)
	}
}

// Near the deadline, handlers still running are cancelled and their records
// listed, not failed; the function returns in time even when a handler
// ignores its context, and that handler's late outcome is never reported.
func TestLambdaDeadline(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	ignored := make(chan struct{}) // closed once the ignoring handler returned
	blocked := make(chan error, 1) // the blocking handler's context cause
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		switch m.Arguments["do"] {
		case "block":
			<-ctx.Done()
			blocked <- context.Cause(ctx)
			return nil, ctx.Err()
		case "ignore":
			defer close(ignored)
			<-release
			return []callback.Output{callback.MustNewOutput("n", "late")}, nil
		}
		return []callback.Output{callback.MustNewOutput("n", "quick")}, nil
	}
	var res results
	fn := worker.LambdaHandler(e.cb, h, func(o *worker.LambdaOptions) {
		o.DeadlineMargin = 200 * time.Millisecond
		o.Logger = e.logger("lambda")
		o.OnResult = res.add
	})
	quick, quickARN := e.srv.NewStep()
	block, blockARN := e.srv.NewStep()
	ignore, ignoreARN := e.srv.NewStep()
	start := time.Now()
	resp := invoke(t, fn, 600*time.Millisecond,
		record("quick", quick, quickARN, map[string]any{"do": "quick"}, callbacktest.MessageStatusExecuting),
		record("block", block, blockARN, map[string]any{"do": "block"}, callbacktest.MessageStatusExecuting),
		record("ignore", ignore, ignoreARN, map[string]any{"do": "ignore"}, callbacktest.MessageStatusExecuting),
	)
	elapsed := time.Since(start)
	if got := listed(resp); !slices.Equal(got, []string{"block", "ignore"}) {
		t.Errorf("listed %v, want [block ignore]", got)
	}
	if elapsed < 350*time.Millisecond {
		t.Errorf("returned after %v; the handlers should have had until 400ms", elapsed)
	}
	// The function does not wait for the handler to return: it may read its
	// context's cause just after.
	select {
	case c := <-blocked:
		if c != worker.ErrShutdown {
			t.Errorf("the handler's context cause is %v, want ErrShutdown", c)
		}
	case <-time.After(5 * time.Second):
		t.Error("the blocking handler's context did not end")
	}
	got := byMessage(res.list())
	for _, id := range []string{"block", "ignore"} {
		if r := got[id]; r.Outcome != worker.Left || !errors.Is(r.Err, worker.ErrShutdown) || r.Deleted {
			t.Errorf("%s: %+v; want Left, ErrShutdown", id, r)
		}
	}
	if got["quick"].Outcome != worker.Succeeded || len(got) != 3 {
		t.Errorf("results %+v", got)
	}

	close(release)
	<-ignored
	time.Sleep(20 * time.Millisecond) // were its outcome reported, it would be by now
	for _, tok := range []string{block, ignore} {
		if st, _ := e.srv.Step(tok); st.Status != callbacktest.StatusExecuting {
			t.Errorf("a step cut by the deadline was reported: %+v", st)
		}
	}
	if n := len(res.list()); n != 3 {
		t.Errorf("%d results after the late handler returned; want 3", n)
	}
}

// With a margin larger than the time left, the handlers get half of it.
func TestLambdaShortDeadline(t *testing.T) {
	e := newEnv(t)
	tok, arn := e.srv.NewStep()
	fn := worker.LambdaHandler(e.cb, func(ctx context.Context, _ callback.Message) ([]callback.Output, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}, func(o *worker.LambdaOptions) { o.DeadlineMargin = time.Hour })
	start := time.Now()
	resp := invoke(t, fn, 300*time.Millisecond, record("m", tok, arn, nil, callbacktest.MessageStatusExecuting))
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("the handler was cut after %v; want about half of the 300ms left", d)
	}
	if got := listed(resp); !slices.Equal(got, []string{"m"}) {
		t.Errorf("listed %v", got)
	}
}

// By default the whole batch runs at once: ten handlers that each wait for
// all ten to have started all finish.
func TestLambdaConcurrencyDefault(t *testing.T) {
	e := newEnv(t)
	var started sync.WaitGroup
	started.Add(10)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		started.Done()
		select {
		case <-all:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	fn := worker.LambdaHandler(e.cb, h)
	var recs []events.SQSMessage
	for i := range 10 {
		tok, arn := e.srv.NewStep()
		recs = append(recs, record(fmt.Sprint(i), tok, arn, nil, callbacktest.MessageStatusExecuting))
	}
	resp := invoke(t, fn, 10*time.Second, recs...)
	if got := listed(resp); len(got) != 0 {
		t.Errorf("listed %v; the handlers did not all run at once", got)
	}
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
}

// Concurrency bounds the handlers at once, and the stops go first.
func TestLambdaConcurrencyBound(t *testing.T) {
	e := newEnv(t)
	var now, peak atomic.Int32
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		n := now.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		now.Add(-1)
		return nil, nil
	}
	fn := worker.LambdaHandler(e.cb, h, func(o *worker.LambdaOptions) { o.Concurrency = 2 })
	var recs []events.SQSMessage
	for i := range 8 {
		tok, arn := e.srv.NewStep()
		recs = append(recs, record(fmt.Sprint(i), tok, arn, nil, callbacktest.MessageStatusExecuting))
	}
	stopTok, stopARN := e.srv.NewStep()
	recs = append(recs, record("stop", stopTok, stopARN, nil, callbacktest.MessageStatusStopping))
	resp := invoke(t, fn, 10*time.Second, recs...)
	if got := listed(resp); len(got) != 0 {
		t.Errorf("listed %v", got)
	}
	if p := peak.Load(); p > 2 {
		t.Errorf("%d handlers ran at once; Concurrency is 2", p)
	}
	if reqs := e.srv.Requests(); len(reqs) == 0 || reqs[0].CallbackToken != stopTok {
		t.Errorf("the stop was not reported first")
	}
	if st, _ := e.srv.Step(stopTok); st.Status != callbacktest.StatusFailed || st.FailureReason != worker.StoppingReason {
		t.Errorf("stopped step %+v", st)
	}
}

// myErr is an error type whose Error method fails on a nil pointer.
type myErr struct{ msg string }

func (e *myErr) Error() string { return e.msg }

// Handler outcomes that must not crash the function: a typed-nil error
// whose Error panics, runtime.Goexit, and too many outputs, each a failure
// that says what happened.
func TestLambdaHandlerOddities(t *testing.T) {
	e := newEnv(t)
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		switch m.Arguments["do"] {
		case "typed-nil":
			var err *myErr
			return nil, err
		case "goexit":
			runtime.Goexit()
		case "outputs":
			outs := make([]callback.Output, callback.MaxOutputs+1)
			for i := range outs {
				outs[i] = callback.MustNewOutput(fmt.Sprint(i), "v")
			}
			return outs, nil
		}
		return nil, nil
	}
	var res results
	fn := worker.LambdaHandler(e.cb, h, func(o *worker.LambdaOptions) { o.OnResult = res.add; o.Logger = e.logger("lambda") })
	reasons := map[string]string{
		"typed-nil": "handler returned a nil *worker_test.myErr as its error",
		"goexit":    "handler called runtime.Goexit instead of returning",
		"outputs":   "worker: the handler's outputs were refused",
	}
	var recs []events.SQSMessage
	toks := map[string]string{}
	for do := range reasons {
		tok, arn := e.srv.NewStep()
		toks[do] = tok
		recs = append(recs, record(do, tok, arn, map[string]any{"do": do}, callbacktest.MessageStatusExecuting))
	}
	resp := invoke(t, fn, 10*time.Second, recs...)
	if got := listed(resp); len(got) != 0 {
		t.Errorf("listed %v", got)
	}
	for do, want := range reasons {
		st, _ := e.srv.Step(toks[do])
		if st.Status != callbacktest.StatusFailed || !strings.HasPrefix(st.FailureReason, want) {
			t.Errorf("%s: step %s %q; want failed with %q", do, st.Status, st.FailureReason, want)
		}
	}
	for _, r := range res.list() {
		if r.Outcome != worker.Failed || r.Err == nil {
			t.Errorf("%s: %v %v", r.MessageID, r.Outcome, r.Err)
		}
	}
}

func TestLambdaNoClientOrHandler(t *testing.T) {
	e := newEnv(t)
	for _, fn := range []func(context.Context, events.SQSEvent) (events.SQSEventResponse, error){
		worker.LambdaHandler(nil, echo),
		worker.LambdaHandler(e.cb, nil),
	} {
		if _, err := fn(context.Background(), events.SQSEvent{Records: []events.SQSMessage{rawRecord("m", "{}")}}); err == nil {
			t.Errorf("no error")
		}
	}
	resp, err := worker.LambdaHandler(e.cb, echo)(context.Background(), events.SQSEvent{})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Errorf("empty batch: %v, %v", resp, err)
	}
}

// A batch of ten whose reports each take 200ms returns in about one
// report's time, not ten: the steps are reported concurrently. (Serially it
// would take at least 2s; the bound of 1.5s leaves room for a loaded
// machine under -race.)
func TestLambdaDelayedReportsConcurrent(t *testing.T) {
	e := newEnv(t)
	e.srv.FailRandom(1, callbacktest.Delay(200*time.Millisecond))
	fn := worker.LambdaHandler(e.cb, echo)
	var recs []events.SQSMessage
	for i := range 10 {
		tok, arn := e.srv.NewStep()
		recs = append(recs, record(fmt.Sprint(i), tok, arn, map[string]any{"n": i}, callbacktest.MessageStatusExecuting))
	}
	start := time.Now()
	resp := invoke(t, fn, 10*time.Second, recs...)
	d := time.Since(start)
	if got := listed(resp); len(got) != 0 {
		t.Fatalf("listed %v", got)
	}
	e.checkExactlyOnce(callbacktest.StatusSucceeded)
	if d >= 1500*time.Millisecond {
		t.Errorf("the batch took %v; ten 200ms reports at once should take about 200ms (serially: 2s)", d)
	}
}

// BenchmarkLambdaBatch10Delay50ms measures a batch of ten records whose
// reports each take 50ms at the fake: about one report's time.
func BenchmarkLambdaBatch10Delay50ms(b *testing.B) {
	for _, conc := range []int{0, 1} {
		name := "concurrent"
		if conc == 1 {
			name = "serial"
		}
		b.Run(name, func(b *testing.B) {
			srv := callbacktest.NewServer()
			defer srv.Close()
			srv.FailRandom(1, callbacktest.Delay(50*time.Millisecond))
			fn := worker.LambdaHandler(callback.New(srv.Client()), echo, func(o *worker.LambdaOptions) {
				o.Concurrency = conc
				o.Logger = slog.New(slog.DiscardHandler)
			})
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				recs := make([]events.SQSMessage, 10)
				for i := range recs {
					tok, arn := srv.NewStep()
					recs[i] = record(fmt.Sprint(i), tok, arn, map[string]any{"n": i}, callbacktest.MessageStatusExecuting)
				}
				b.StartTimer()
				resp, err := fn(context.Background(), events.SQSEvent{Records: recs})
				if err != nil || len(resp.BatchItemFailures) != 0 {
					b.Fatalf("%v %v", resp, err)
				}
			}
		})
	}
}

// A report under way when the handlers are cut has half the margin more to
// finish; one still waiting then is cut too, and its record listed.
func TestLambdaReportWindow(t *testing.T) {
	e := newEnv(t)
	slow, slowARN := e.srv.NewStep() // handler until 500ms, report 400ms: done by 1.2s
	hung, hungARN := e.srv.NewStep() // report answered after 5s: past 1.2s
	e.srv.FailNext(1, callbacktest.Delay(400*time.Millisecond).ForToken(slow))
	e.srv.FailNext(1, callbacktest.Delay(5*time.Second).ForToken(hung))
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		if m.Token.Reveal() == slow {
			time.Sleep(500 * time.Millisecond)
		}
		return nil, nil
	}
	var res results
	fn := worker.LambdaHandler(e.cb, h, func(o *worker.LambdaOptions) {
		o.DeadlineMargin = 800 * time.Millisecond // handlers cut at 800ms, reports at 1.2s
		o.OnResult = res.add
		o.Logger = e.logger("lambda")
	})
	resp := invoke(t, fn, 1600*time.Millisecond,
		record("slow", slow, slowARN, nil, callbacktest.MessageStatusExecuting),
		record("hung", hung, hungARN, nil, callbacktest.MessageStatusExecuting),
	)
	if got := listed(resp); !slices.Equal(got, []string{"hung"}) {
		t.Errorf("listed %v, want [hung]", got)
	}
	if st, _ := e.srv.Step(slow); st.Status != callbacktest.StatusSucceeded {
		t.Errorf("the report under way at the handlers' cut: %+v; want it completed", st)
	}
	if st, _ := e.srv.Step(hung); st.Status != callbacktest.StatusExecuting {
		t.Errorf("the report cut short: %+v; want the step still executing", st)
	}
	if r := byMessage(res.list())["hung"]; r.Outcome != worker.Left || !errors.Is(r.Err, worker.ErrShutdown) {
		t.Errorf("hung: %v %v; want Left, ErrShutdown", r.Outcome, r.Err)
	}
}

// A stop is remembered across invocations of one function, as a Worker
// remembers it across receives: the Executing record of a step whose
// Stopping record came in an earlier batch is not run, and is settled by a
// failure with StoppingReason (the stop's report, answered again).
func TestLambdaStopRememberedAcrossBatches(t *testing.T) {
	e := newEnv(t)
	var runs atomic.Int32
	var res results
	fn := worker.LambdaHandler(e.cb, func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		runs.Add(1)
		return echo(ctx, m)
	}, func(o *worker.LambdaOptions) { o.OnResult = res.add })
	tok, arn := e.srv.NewStep()
	if got := listed(invoke(t, fn, 10*time.Second, record("stop", tok, arn, nil, callbacktest.MessageStatusStopping))); len(got) != 0 {
		t.Fatalf("the stop: listed %v", got)
	}
	if got := listed(invoke(t, fn, 10*time.Second, record("exec", tok, arn, map[string]any{"n": 1}, callbacktest.MessageStatusExecuting))); len(got) != 0 {
		t.Fatalf("the later Executing record: listed %v", got)
	}
	if n := runs.Load(); n != 0 {
		t.Errorf("the handler ran %d times for a step stopped in an earlier batch; want 0", n)
	}
	if st, _ := e.srv.Step(tok); st.Status != callbacktest.StatusFailed || st.FailureReason != worker.StoppingReason || st.Completions != 1 {
		t.Errorf("step %+v; want Failed with StoppingReason, one completion", st)
	}
	got := byMessage(res.list())
	if r := got["exec"]; !r.Deleted || !errors.Is(r.Err, worker.ErrStopping) {
		t.Errorf("the Executing record: %+v; want deleted, Err ErrStopping", r)
	}
}
