package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
	"github.com/stepcallback/sagemaker-callback/retry"
)

// One function that LambdaHandler returned serves many invocations at once
// in one process, as aws-lambda-go (v1.51 and later) runs it on Lambda
// Managed Instances with AWS_LAMBDA_MAX_CONCURRENCY above 1: one handler, one
// callback client, one Logger, OnResult, TracerProvider and MeterProvider,
// shared by every invocation. Run with -race, the test shows that the
// invocations share nothing unguarded; and each step is completed exactly
// once, even a step delivered to two invocations running at the same time
// (SQS delivers at least once).
func TestLambdaConcurrentInvocations(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	rec := &recorder{} // telemetry_test.go: a TracerProvider and a MeterProvider, both
	opts := srv.Client().Options()
	opts.TracerProvider, opts.MeterProvider = rec, rec
	cb := callback.New(sagemaker.New(opts), func(o *callback.Options) {
		o.Retry = retry.Policy{MaxAttempts: 3, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}
		o.TracerProvider, o.MeterProvider = rec, rec
	})
	var log syncBuffer // helpers_test.go
	var (
		mu      sync.Mutex
		results = map[string]worker.Result{}
		runs    = map[string]int{}
	)
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		mu.Lock()
		runs[m.Token.Reveal()]++
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // long enough for the invocations to overlap
		if m.Arguments["do"] == "fail" {
			return nil, fmt.Errorf("the job for %s failed", m.Token.Reveal())
		}
		return []callback.Output{callback.MustNewOutput("n", fmt.Sprint(m.Arguments["n"]))}, nil
	}
	fn := worker.LambdaHandler(cb, h, func(o *worker.LambdaOptions) {
		o.Concurrency = 2
		o.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.OnResult = func(r worker.Result) {
			mu.Lock()
			results[r.MessageID] = r
			mu.Unlock()
		}
		o.TracerProvider, o.MeterProvider = rec, rec
	})

	// Eight invocations of five records each: a step that succeeds, one that
	// fails, a stop, a malformed body, and a step that the next invocation
	// gets too.
	const n = 8
	batches := make([][]events.SQSMessage, n)
	shared := make([]string, n)
	for i := range n {
		okTok, okARN := srv.NewStep()
		failTok, failARN := srv.NewStep()
		stopTok, stopARN := srv.NewStep()
		tok, arn := srv.NewStep()
		shared[i] = tok
		batches[i] = append(batches[i],
			record(fmt.Sprintf("ok-%d", i), okTok, okARN, map[string]any{"n": i}, callbacktest.MessageStatusExecuting),
			record(fmt.Sprintf("fail-%d", i), failTok, failARN, map[string]any{"do": "fail"}, callbacktest.MessageStatusExecuting),
			record(fmt.Sprintf("stop-%d", i), stopTok, stopARN, nil, callbacktest.MessageStatusStopping),
			rawRecord(fmt.Sprintf("junk-%d", i), "hello"),
			record(fmt.Sprintf("dup-%d-a", i), tok, arn, map[string]any{"n": 100 + i}, callbacktest.MessageStatusExecuting),
		)
		j := (i + 1) % n
		batches[j] = append(batches[j], record(fmt.Sprintf("dup-%d-b", i), tok, arn, map[string]any{"n": 100 + i}, callbacktest.MessageStatusExecuting))
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	resps := make([]events.SQSEventResponse, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			<-start
			resps[i], errs[i] = fn(ctx, events.SQSEvent{Records: batches[i]})
		}()
	}
	close(start)
	wg.Wait()

	for i := range n {
		if errs[i] != nil {
			t.Errorf("invocation %d: %v", i, errs[i])
		}
		if got, want := strings.Join(listed(resps[i]), ","), fmt.Sprintf("junk-%d", i); got != want {
			t.Errorf("invocation %d listed %s; want only %s", i, got, want)
		}
	}
	for _, st := range srv.Steps() {
		if st.Completions != 1 || st.Conflicts+st.Replays > 1 {
			t.Errorf("step %s…: %+v; want completed exactly once", st.Token[:2], st)
		}
	}
	for _, tok := range shared {
		// Delivered to two invocations at once: run by one or both, but
		// completed once; the other's report was refused as already
		// completed, or answered as the first.
		if st, _ := srv.Step(tok); st.Status != callbacktest.StatusSucceeded {
			t.Errorf("step delivered twice: %+v", st)
		}
		mu.Lock()
		if r := runs[tok]; r < 1 || r > 2 {
			t.Errorf("the step delivered to two invocations ran %d times", r)
		}
		mu.Unlock()
	}

	records := 0
	for _, b := range batches {
		records += len(b)
	}
	mu.Lock()
	if len(results) != records {
		t.Errorf("OnResult got %d results; want one per record, %d", len(results), records)
	}
	for id, r := range results {
		want := map[string]worker.Outcome{"ok": worker.Succeeded, "fail": worker.Failed, "stop": worker.Failed, "junk": worker.Malformed}[strings.Split(id, "-")[0]]
		if want != 0 && r.Outcome != want {
			t.Errorf("%s: outcome %v, want %v", id, r.Outcome, want)
		}
	}
	mu.Unlock()

	rec.mu.Lock()
	var msgSpans, open int
	for _, s := range rec.spans {
		if s.name == "callback.worker.message" {
			msgSpans++
		}
		if !s.ended {
			open++
		}
	}
	rec.mu.Unlock()
	if msgSpans != records || open != 0 {
		t.Errorf("%d message spans, %d spans not ended; want %d and 0", msgSpans, open, records)
	}
	var held float64
	for _, s := range rec.of("callback.worker.inflight") {
		held += s.value
	}
	if held != 0 {
		t.Errorf("callback.worker.inflight ends at %v, want 0", held)
	}
	if got := len(rec.of("callback.worker.messages")); got != records {
		t.Errorf("callback.worker.messages counted %d records, want %d", got, records)
	}
	logged := log.String()
	for _, st := range srv.Steps() {
		if strings.Contains(logged, st.Token) {
			t.Fatal("a raw token was logged")
		}
	}
}
