package worker_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
)

// The load of the 1,000-step test and benchmarks.
const (
	loadSteps       = 1000
	loadConcurrency = 16
)

// trivial is the handler of the load runs: no work, no outputs.
func trivial(context.Context, callback.Message) ([]callback.Output, error) { return nil, nil }

// runWorker starts a Worker on srv's queue with 16 slots, waits until it has
// settled n messages, stops it and returns how long that took.
func runWorker(tb testing.TB, srv *callbacktest.Server, cb *callback.Client, h worker.Handler, n int) time.Duration {
	tb.Helper()
	var settled atomic.Int64
	all := make(chan struct{})
	w := worker.New(srv.SQSClient(), cb, h, func(o *worker.Options) {
		o.QueueURL = srv.QueueURL()
		o.Concurrency = loadConcurrency
		o.Logger = slog.New(slog.DiscardHandler)
		o.OnResult = func(r worker.Result) {
			if r.Deleted && settled.Add(1) == int64(n) {
				close(all)
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	t0 := time.Now()
	go func() { done <- w.Run(ctx) }()
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		tb.Fatal("the worker did not settle every message in 5 minutes")
	}
	cancel()
	if err := <-done; err != nil {
		tb.Fatalf("Run = %v", err)
	}
	return time.Since(t0)
}

// runDirect does what a hand-written loop without the Worker does, with the
// same calls: 16 goroutines each receive up to batch messages, parse each,
// report its success and delete it, until n messages are deleted.
func runDirect(tb testing.TB, srv *callbacktest.Server, cb *callback.Client, n int, batch int32) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var left atomic.Int64
	left.Store(int64(n))
	api := srv.SQSClient()
	url := aws.String(srv.QueueURL())
	var wg sync.WaitGroup
	for range loadConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: batch, WaitTimeSeconds: 20, VisibilityTimeout: 30})
				if err != nil {
					if ctx.Err() == nil {
						tb.Error(err)
					}
					return
				}
				for _, m := range out.Messages {
					msg, err := callback.ParseMessage([]byte(aws.ToString(m.Body)))
					if err != nil {
						tb.Error(err)
						return
					}
					if _, err := cb.Succeed(ctx, msg.Token, nil); err != nil {
						tb.Error(err)
						return
					}
					if _, err := api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle}); err != nil {
						tb.Error(err)
						return
					}
					if left.Add(-1) == 0 {
						cancel() // ends the long polls of the others
					}
				}
			}
		}()
	}
	wg.Wait()
}

// runSucceedOnly makes n Succeed calls from 16 goroutines: the SageMaker
// half of the load alone, with no SQS call.
func runSucceedOnly(tb testing.TB, cb *callback.Client, toks []callback.Token) {
	tb.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range loadConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(toks)) {
					return
				}
				if _, err := cb.Succeed(context.Background(), toks[i], nil); err != nil {
					tb.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestThousandSteps puts 1,000 steps through one Worker with 16 handlers in
// flight: every step is completed exactly once, every message deleted, and
// the handler runs once per step.
func TestThousandSteps(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	for range loadSteps {
		srv.StartStep(map[string]any{"k": "v"})
	}
	var calls counter
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		calls.inc(m.Token.Reveal())
		return []callback.Output{callback.MustNewOutput("k", m.Arguments["k"].(string))}, nil
	}
	d := runWorker(t, srv, callback.New(srv.Client()), h, loadSteps)
	for _, st := range srv.Steps() {
		if st.Status != callbacktest.StatusSucceeded || st.Completions != 1 || st.Replays != 0 || st.Conflicts != 0 || len(st.Outputs) != 1 {
			t.Fatalf("step %s…: %+v", st.Token[:2], st)
		}
		if n := calls.get(st.Token); n != 1 {
			t.Fatalf("handler ran %d times for one step", n)
		}
	}
	qs := srv.QueueStats()
	if qs.Deleted != loadSteps || qs.Visible+qs.InFlight != 0 || qs.Receives != loadSteps || qs.StaleDeletes != 0 {
		t.Errorf("queue %+v", qs)
	}
	if n := len(srv.Requests()); n != loadSteps {
		t.Errorf("%d SageMaker requests, want %d", n, loadSteps)
	}
	t.Logf("1,000 steps in %v: %d ReceiveMessage calls (%d empty), %d DeleteMessage, %d ChangeMessageVisibility",
		d.Round(time.Millisecond), qs.ReceiveCalls, qs.EmptyReceives, qs.DeleteCalls, qs.VisibilityChanges)
}

// benchIteration runs one iteration of a load benchmark against a fresh
// server with n started steps, made and closed off the clock, so that no
// iteration meets what an earlier one left (a long poll cut short, say). It
// adds the server's SQS counts to calls.
func benchIteration(b *testing.B, n int, calls *callbacktest.QueueStats, run func(*callbacktest.Server, *callback.Client, []callback.Token)) {
	b.Helper()
	b.StopTimer()
	srv := callbacktest.NewServer()
	toks := make([]callback.Token, n)
	for i := range toks {
		raw, _ := srv.StartStep(nil)
		toks[i] = callback.MustParseToken(raw)
	}
	cb := callback.New(srv.Client())
	b.StartTimer()
	run(srv, cb, toks)
	b.StopTimer()
	qs := srv.QueueStats()
	calls.ReceiveCalls += qs.ReceiveCalls
	calls.DeleteCalls += qs.DeleteCalls
	calls.VisibilityChanges += qs.VisibilityChanges
	srv.Close()
	b.StartTimer()
}

// reportCalls reports the SQS calls per step of a load benchmark.
func reportCalls(b *testing.B, calls *callbacktest.QueueStats) {
	steps := float64(b.N * loadSteps)
	b.ReportMetric(float64(calls.ReceiveCalls)/steps, "receives/step")
	b.ReportMetric(float64(calls.DeleteCalls+calls.VisibilityChanges)/steps, "deletes+extends/step")
}

// BenchmarkWorker1000 puts 1,000 steps through one Worker with 16 handlers in
// flight and a trivial handler: per step, its share of a ReceiveMessage, a
// SendPipelineExecutionStepSuccess and a DeleteMessage, plus the Worker's
// own work (slots, leases, results).
func BenchmarkWorker1000(b *testing.B) {
	b.ReportAllocs()
	var calls callbacktest.QueueStats
	for range b.N {
		benchIteration(b, loadSteps, &calls, func(srv *callbacktest.Server, cb *callback.Client, _ []callback.Token) {
			runWorker(b, srv, cb, trivial, loadSteps)
		})
	}
	reportCalls(b, &calls)
}

// BenchmarkDirect1000 makes the same kinds of calls as BenchmarkWorker1000
// without the Worker: 16 goroutines each receive up to 10 messages, parse
// them, and report and delete each one in turn. It makes fewer
// ReceiveMessage calls than the Worker (one per 10 steps) because each
// goroutine holds up to 10 messages invisible while it works on one: 160 held
// for 16 worked on, which the Worker never does.
func BenchmarkDirect1000(b *testing.B) {
	b.ReportAllocs()
	var calls callbacktest.QueueStats
	for range b.N {
		benchIteration(b, loadSteps, &calls, func(srv *callbacktest.Server, cb *callback.Client, _ []callback.Token) {
			runDirect(b, srv, cb, loadSteps, 10)
		})
	}
	reportCalls(b, &calls)
}

// BenchmarkDirectOneAtATime1000 is BenchmarkDirect1000 under the Worker's
// rule, never to hold a message it is not working on: each goroutine receives
// one message at a time.
func BenchmarkDirectOneAtATime1000(b *testing.B) {
	b.ReportAllocs()
	var calls callbacktest.QueueStats
	for range b.N {
		benchIteration(b, loadSteps, &calls, func(srv *callbacktest.Server, cb *callback.Client, _ []callback.Token) {
			runDirect(b, srv, cb, loadSteps, 1)
		})
	}
	reportCalls(b, &calls)
}

// BenchmarkSucceed1000 makes only the 1,000 Succeed calls, from 16
// goroutines: the SageMaker half of the load, without any SQS call.
func BenchmarkSucceed1000(b *testing.B) {
	b.ReportAllocs()
	var calls callbacktest.QueueStats
	for range b.N {
		benchIteration(b, loadSteps, &calls, func(_ *callbacktest.Server, cb *callback.Client, toks []callback.Token) {
			runSucceedOnly(b, cb, toks)
		})
	}
}
