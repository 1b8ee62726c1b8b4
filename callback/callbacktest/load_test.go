package callbacktest_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// TestLoad completes loadCalls steps (10,000; 2,000 under -race) through the
// real SDK client from 64 goroutines, and checks that every step was completed
// exactly once.
func TestLoad(t *testing.T) {
	srv := newServer(t)
	tokens := make([]string, loadCalls)
	for i := range tokens {
		tokens[i], _ = srv.NewStep()
	}
	start := time.Now()
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(tokens) {
					return
				}
				var err error
				if i%2 == 0 {
					_, err = srv.Client().SendPipelineExecutionStepFailure(context.Background(), &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tokens[i]), FailureReason: aws.String("r")})
				} else {
					_, err = srv.Client().SendPipelineExecutionStepSuccess(context.Background(), &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tokens[i])})
				}
				if err != nil {
					failed.Add(1)
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d calls in %v (%.0f calls/s)", loadCalls, elapsed, float64(loadCalls)/elapsed.Seconds())
	if failed.Load() > 0 {
		t.Fatalf("%d calls failed", failed.Load())
	}
	if n := len(srv.Requests()); n != loadCalls {
		t.Errorf("%d requests recorded, want %d", n, loadCalls)
	}
	for _, st := range srv.Steps() {
		if st.Completions != 1 || st.Status == callbacktest.StatusExecuting {
			t.Fatalf("step %+v", st)
		}
	}
}

// TestLoadWithRandomFaults runs calls through throttles (20 %) and lost
// answers (5 %), retried by the SDK with a quick backoff and no retry quota,
// and checks the outcome the library above must reach: every step completed
// exactly once, every lost answer replayed from its ClientRequestToken.
func TestLoadWithRandomFaults(t *testing.T) {
	srv := newServer(t, func(o *callbacktest.Options) { o.Seed = 42 })
	srv.FailRandom(0.20, callbacktest.Throttle)
	srv.FailRandom(0.05, callbacktest.DropAfterCommit)
	calls := loadCalls / 5
	tokens := make([]string, calls)
	for i := range tokens {
		tokens[i], _ = srv.NewStep()
	}
	retryer := func(o *sagemaker.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 10
			so.RateLimiter = ratelimit.None
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(tokens) {
					return
				}
				_, err := srv.Client().SendPipelineExecutionStepFailure(context.Background(), &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tokens[i])}, retryer)
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var throttled, dropped, replayed int
	for _, r := range srv.Requests() {
		switch {
		case r.Fault == callbacktest.Throttle:
			throttled++
		case r.Fault == callbacktest.DropAfterCommit:
			dropped++
		}
		if r.Replayed {
			replayed++
		}
	}
	n := len(srv.Requests())
	t.Logf("%d calls: %d attempts, %d throttled, %d answers lost, %d replayed", calls, n, throttled, dropped, replayed)
	if throttled < n/10 || dropped == 0 || replayed == 0 {
		t.Errorf("faults not met as asked: %d throttled, %d dropped of %d", throttled, dropped, n)
	}
	for _, st := range srv.Steps() {
		if st.Completions != 1 || st.Conflicts != 0 {
			t.Fatalf("step %+v", st)
		}
	}
}

// BenchmarkCall measures one SendPipelineExecutionStepFailure through the real
// SDK client against the fake: a full round trip (signing, HTTP over loopback,
// decoding, validation, the idempotency record) answered 200 by replaying the
// first completion's answer.
func BenchmarkCall(b *testing.B) {
	srv := newServer(b)
	tok, _ := srv.NewStep()
	in := &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), ClientRequestToken: aws.String("0123456789abcdef0123456789abcdef")}
	if _, err := srv.Client().SendPipelineExecutionStepFailure(context.Background(), in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := srv.Client().SendPipelineExecutionStepFailure(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}
