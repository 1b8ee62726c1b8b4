package callbacktest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

func TestAnsweringFaults(t *testing.T) {
	for _, tc := range []struct {
		fault  callbacktest.Fault
		code   string
		status int
	}{
		{callbacktest.Throttle, "ThrottlingException", 400},
		{callbacktest.InternalError, "InternalFailure", 500},
		{callbacktest.Unavailable, "ServiceUnavailable", 503},
		{callbacktest.LimitExceeded, "ResourceLimitExceeded", 400},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			srv := newServer(t)
			tok, arn := srv.NewStep()
			srv.FailNext(1, tc.fault)
			_, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry)
			checkAPIError(t, srv, err, tc.code, tc.status)
			if tc.fault == callbacktest.LimitExceeded {
				var le *types.ResourceLimitExceeded
				if !errors.As(err, &le) {
					t.Errorf("err = %v, want *types.ResourceLimitExceeded", err)
				}
			}
			r := lastRequest(t, srv)
			if r.Fault != tc.fault || r.Completed || r.ErrorMessage == "" {
				t.Errorf("record = %+v", r)
			}
			if tc.fault == callbacktest.Throttle && r.ErrorMessage != "Rate exceeded" {
				t.Errorf("message = %q", r.ErrorMessage)
			}
			if st := mustStep(t, srv, tok); st.Status != callbacktest.StatusExecuting {
				t.Errorf("step = %+v", st)
			}
			// The fault is used up: the next request goes through.
			out, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry)
			if err != nil || aws.ToString(out.PipelineExecutionArn) != arn {
				t.Fatalf("after the fault: %v", err)
			}
		})
	}
}

func checkNoAnswer(t *testing.T, err error) {
	t.Helper()
	var se *smithyhttp.RequestSendError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *smithyhttp.RequestSendError", err)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		t.Errorf("HTTP status %d, want none", re.HTTPStatusCode())
	}
}

func TestResetBeforeCommit(t *testing.T) {
	srv := newServer(t)
	tok, _ := srv.NewStep()
	srv.FailNext(1, callbacktest.ResetBeforeCommit)
	_, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry)
	checkNoAnswer(t, err)
	if st := mustStep(t, srv, tok); st.Status != callbacktest.StatusExecuting || st.Completions != 0 {
		t.Errorf("step = %+v", st)
	}
	r := lastRequest(t, srv)
	if r.StatusCode != 0 || r.Fault != callbacktest.ResetBeforeCommit || r.Completed || r.CallbackToken != tok {
		t.Errorf("record = %+v", r)
	}
	// With the SDK's retries, the reset is retried and the call succeeds.
	srv.FailNext(1, callbacktest.ResetBeforeCommit)
	if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 3 || reqs[1].Attempt != 1 || reqs[2].Attempt != 2 || reqs[1].ClientRequestToken != reqs[2].ClientRequestToken {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestDropAfterCommit(t *testing.T) {
	srv := newServer(t)
	tok, arn := srv.NewStep()
	crt := "fedcba9876543210fedcba9876543210"
	in := func() *sagemaker.SendPipelineExecutionStepFailureInput {
		return &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), FailureReason: aws.String("oom"), ClientRequestToken: aws.String(crt)}
	}
	srv.FailNext(1, callbacktest.DropAfterCommit)
	_, err := sendFailure(t, srv, in(), noRetry)
	checkNoAnswer(t, err)
	st := mustStep(t, srv, tok)
	if st.Status != callbacktest.StatusFailed || st.Completions != 1 || st.FailureReason != "oom" {
		t.Errorf("step = %+v, want it completed despite the lost answer", st)
	}
	r := lastRequest(t, srv)
	if r.StatusCode != 0 || r.Fault != callbacktest.DropAfterCommit || !r.Completed || r.ExecutionARN != arn {
		t.Errorf("record = %+v", r)
	}
	// A retry with the same ClientRequestToken gets the first answer.
	out, err := sendFailure(t, srv, in(), noRetry)
	if err != nil || aws.ToString(out.PipelineExecutionArn) != arn {
		t.Fatalf("retry: %v", err)
	}
	if st := mustStep(t, srv, tok); st.Completions != 1 || st.Replays != 1 {
		t.Errorf("step = %+v", st)
	}
	// A retry with a fresh ClientRequestToken (a retry loop around the SDK
	// that lets the SDK fill the token) is a second completion.
	_, err = sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), FailureReason: aws.String("oom")}, noRetry)
	var ce *types.ConflictException
	if !errors.As(err, &ce) {
		t.Errorf("err = %v, want ConflictException", err)
	}
}

func TestDropAfterCommitWithSDKRetries(t *testing.T) {
	srv := newServer(t)
	tok, arn := srv.NewStep()
	srv.FailNext(1, callbacktest.DropAfterCommit)
	// The SDK retries the lost answer with the ClientRequestToken it filled.
	out, err := sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tok)})
	if err != nil || aws.ToString(out.PipelineExecutionArn) != arn {
		t.Fatalf("call: %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || !reqs[0].Completed || !reqs[1].Replayed || reqs[0].ClientRequestToken != reqs[1].ClientRequestToken {
		t.Errorf("requests = %+v", reqs)
	}
	if st := mustStep(t, srv, tok); st.Completions != 1 {
		t.Errorf("step = %+v", st)
	}
}

// TestThrottleTwiceThenSuccess shows the SDK's default retries: three
// attempts of one call, with the same ClientRequestToken and invocation id.
// It waits for the SDK's throttle backoff (up to 2 s, then up to 4 s).
func TestThrottleTwiceThenSuccess(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tok, arn := srv.NewStep()
	srv.FailNext(2, callbacktest.Throttle)
	out, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)})
	if err != nil || aws.ToString(out.PipelineExecutionArn) != arn {
		t.Fatalf("call: %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d attempts recorded, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.Attempt != i+1 || r.MaxAttempts != 3 || r.ClientRequestToken != reqs[0].ClientRequestToken || r.InvocationID != reqs[0].InvocationID || r.InvocationID == "" {
			t.Errorf("attempt %d = %+v", i+1, r)
		}
	}
	if reqs[0].Fault != callbacktest.Throttle || reqs[1].Fault != callbacktest.Throttle || reqs[2].Fault != (callbacktest.Fault{}) || !reqs[2].Completed {
		t.Errorf("faults = %v, %v, %v", reqs[0].Fault, reqs[1].Fault, reqs[2].Fault)
	}
}

// TestFailNextCountsAttempts shows that FailNext counts HTTP attempts: three
// faults use up a call's three SDK attempts.
func TestFailNextCountsAttempts(t *testing.T) {
	srv := newServer(t)
	tok, _ := srv.NewStep()
	srv.FailNext(3, callbacktest.InternalError)
	_, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, func(o *sagemaker.Options) {
		o.RetryMaxAttempts = 3
	})
	checkAPIError(t, srv, err, "InternalFailure", 500)
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry); err != nil {
		t.Errorf("fourth attempt: %v", err)
	}
}

func TestFaultAim(t *testing.T) {
	srv := newServer(t)
	a, _ := srv.NewStep()
	b, _ := srv.NewStep()
	c, _ := srv.NewStep()
	srv.FailNext(1, callbacktest.Throttle.ForToken(b))
	srv.FailNext(1, callbacktest.Unavailable.ForOperation(callbacktest.OpSuccess))
	srv.FailNext(1, callbacktest.InternalError.ForOperation("SageMaker.SendPipelineExecutionStepFailure").ForToken(c))

	fail := func(tok string) error {
		_, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry)
		return err
	}
	succeed := func(tok string) error {
		_, err := sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tok)}, noRetry)
		return err
	}
	if err := fail(a); err != nil { // matches none
		t.Errorf("a: %v", err)
	}
	checkAPIError(t, srv, succeed(b), "ThrottlingException", 400) // first queued that matches
	checkAPIError(t, srv, succeed(b), "ServiceUnavailable", 503)
	if err := succeed(c); err != nil { // the third is for failures only
		t.Errorf("c: %v", err)
	}
	if err := succeed(b); err != nil {
		t.Errorf("b: %v", err)
	}
	srv.ClearFaults()
	reqs := srv.Requests()
	want := []callbacktest.Fault{{}, callbacktest.Throttle, callbacktest.Unavailable, {}, {}}
	for i, r := range reqs {
		if r.Fault != want[i] {
			t.Errorf("request %d met %v, want %v", i, r.Fault, want[i])
		}
	}
	if s := callbacktest.InternalError.ForOperation(callbacktest.OpFailure).ForToken(c).String(); s != "InternalError.ForOperation(SendPipelineExecutionStepFailure).ForToken("+c[:2]+"…)" {
		t.Errorf("String() = %q", s)
	}
	if s := callbacktest.Delay(1500 * time.Millisecond).String(); s != "Delay(1.5s)" {
		t.Errorf("String() = %q", s)
	}
	if s := (callbacktest.Fault{}).String(); s != "none" {
		t.Errorf("zero String() = %q", s)
	}
}

func TestClearFaults(t *testing.T) {
	srv := newServer(t)
	tok, _ := srv.NewStep()
	srv.FailNext(5, callbacktest.Throttle)
	srv.FailRandom(1, callbacktest.InternalError)
	srv.ClearFaults()
	if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry); err != nil {
		t.Fatal(err)
	}
}

func TestFailRandomIsDeterministic(t *testing.T) {
	pattern := func(seed int64) string {
		srv := newServer(t, func(o *callbacktest.Options) { o.Seed = seed })
		srv.FailRandom(0.2, callbacktest.Throttle)
		srv.FailRandom(0.1, callbacktest.LimitExceeded.ForOperation(callbacktest.OpFailure))
		var b strings.Builder
		for range 200 {
			_, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("Unknown123")}, noRetry)
			var nf *types.ResourceNotFound
			var le *types.ResourceLimitExceeded
			switch {
			case errors.As(err, &nf):
				b.WriteByte('.')
			case errors.As(err, &le):
				b.WriteByte('L')
			default:
				b.WriteByte('T')
			}
		}
		srv.Close()
		return b.String()
	}
	p1, p2, p3 := pattern(7), pattern(7), pattern(8)
	if p1 != p2 {
		t.Errorf("same seed, other faults:\n%s\n%s", p1, p2)
	}
	if p1 == p3 {
		t.Errorf("other seed, same faults: %s", p1)
	}
	throttled, limited := strings.Count(p1, "T"), strings.Count(p1, "L")
	if throttled < 20 || throttled > 60 || limited < 5 || limited > 35 {
		t.Errorf("%d throttled, %d limited of 200; want about 40 and 16: %s", throttled, limited, p1)
	}
}

func TestFailRandomClampsProbability(t *testing.T) {
	srv := newServer(t)
	srv.FailRandom(-0.1, callbacktest.Throttle) // taken as 0: never
	tok, _ := srv.NewStep()
	if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry); err != nil {
		t.Fatalf("p < 0 faulted: %v", err)
	}
	srv.FailRandom(1.1, callbacktest.Throttle) // taken as 1: always
	tok, _ = srv.NewStep()
	if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry); err == nil {
		t.Fatal("p > 1 did not fault")
	}
}

func TestDelay(t *testing.T) {
	srv := newServer(t)
	tok, arn := srv.NewStep()
	srv.FailNext(1, callbacktest.Delay(100*time.Millisecond))
	start := time.Now()
	out, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry)
	if err != nil || aws.ToString(out.PipelineExecutionArn) != arn {
		t.Fatalf("delayed call: %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("answered after %v, want at least 100ms", d)
	}
	if r := lastRequest(t, srv); r.Fault != callbacktest.Delay(100*time.Millisecond) || r.StatusCode != 200 || !r.Completed {
		t.Errorf("record = %+v", r)
	}
}

func TestDelayCutByClient(t *testing.T) {
	recorded := make(chan callbacktest.Request, 1)
	srv := newServer(t, func(o *callbacktest.Options) { o.OnRequest = func(r callbacktest.Request) { recorded <- r } })
	tok, _ := srv.NewStep()
	srv.FailNext(1, callbacktest.Delay(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := srv.Client().SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry)
	if err == nil {
		t.Fatal("call succeeded")
	}
	select {
	case r := <-recorded:
		if r.StatusCode != 0 || r.Completed || r.Fault != callbacktest.Delay(time.Minute) {
			t.Errorf("record = %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the delay was not cut short when the client went away")
	}
	if st := mustStep(t, srv, tok); st.Status != callbacktest.StatusExecuting {
		t.Errorf("step = %+v, want it untouched", st)
	}
}

func TestDelayCutByClose(t *testing.T) {
	srv := callbacktest.NewServer()
	tok, _ := srv.NewStep()
	srv.FailNext(1, callbacktest.Delay(time.Minute))
	arrived := make(chan struct{})
	callbacktest.SetTestHook(srv, func(string) { close(arrived) })
	errc := make(chan error, 1)
	go func() {
		_, err := srv.Client().SendPipelineExecutionStepFailure(context.Background(), &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry)
		errc <- err
	}()
	<-arrived
	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with a delay in flight", d)
	}
	checkNoAnswer(t, <-errc)
	r := lastRequest(t, srv)
	if r.StatusCode != 0 || r.Completed || r.Fault != callbacktest.Delay(time.Minute) {
		t.Errorf("record = %+v", r)
	}
	if st := mustStep(t, srv, tok); st.Status != callbacktest.StatusExecuting {
		t.Errorf("step = %+v", st)
	}
}

func TestPanicAnswersInternalFailure(t *testing.T) {
	srv := newServer(t)
	tok, _ := srv.NewStep()
	callbacktest.SetTestHook(srv, func(op string) { panic(fmt.Sprint("boom in ", op)) })
	_, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry)
	checkAPIError(t, srv, err, "InternalFailure", 500)
	callbacktest.SetTestHook(srv, func(string) { panic(http.ErrAbortHandler) })
	_, err = sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry)
	checkNoAnswer(t, err)
	callbacktest.SetTestHook(srv, nil)
	if st := mustStep(t, srv, tok); st.Status != callbacktest.StatusExecuting {
		t.Errorf("step = %+v", st)
	}
	if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry); err != nil {
		t.Errorf("after the panics: %v", err)
	}
}
