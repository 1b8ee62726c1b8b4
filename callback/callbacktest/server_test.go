package callbacktest_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

func TestServerURLAndClient(t *testing.T) {
	srv := newServer(t)
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %q, want http://127.0.0.1:PORT", srv.URL())
	}
	if c1, c2 := srv.Client(), srv.Client(); c1 != c2 {
		t.Error("Client() returns a new client on each call")
	}
	o := srv.Client().Options()
	if o.Region != "us-east-1" || aws.ToString(o.BaseEndpoint) != srv.URL() {
		t.Errorf("client region %q endpoint %q", o.Region, aws.ToString(o.BaseEndpoint))
	}
	creds, err := o.Credentials.Retrieve(ctxT(t))
	if err != nil || creds.AccessKeyID != "AKIDEXAMPLE" || creds.SecretAccessKey != "SECRETEXAMPLE" {
		t.Errorf("credentials = %+v, %v", creds, err)
	}
}

func TestNewServerRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:80", "nonsense"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewServer(Addr %q) did not panic", addr)
				}
			}()
			srv := callbacktest.NewServer(func(o *callbacktest.Options) { o.Addr = addr })
			srv.Close()
		}()
	}
	srv := newServer(t, func(o *callbacktest.Options) { o.Addr = "localhost:0" })
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") && !strings.HasPrefix(srv.URL(), "http://[::1]:") {
		t.Errorf("URL() = %q", srv.URL())
	}
}

func TestFailureCompletesStep(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	srv := newServer(t, func(o *callbacktest.Options) { o.Now = func() time.Time { return now } })
	token, arn := srv.NewStep()
	if len(token) != 10 || strings.Trim(token, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		t.Fatalf("NewStep token %q is not 10 ASCII letters and digits", token)
	}
	if !arnRE.MatchString(arn) {
		t.Fatalf("NewStep ARN %q does not have the expected form", arn)
	}
	st := mustStep(t, srv, token)
	if st.Status != callbacktest.StatusExecuting || st.ExecutionARN != arn || st.Completions != 0 || !st.Registered.Equal(now) {
		t.Fatalf("new step = %+v", st)
	}

	out, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{
		CallbackToken: aws.String(token),
		FailureReason: aws.String("disk full"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.PipelineExecutionArn) != arn {
		t.Errorf("PipelineExecutionArn = %q, want %q", aws.ToString(out.PipelineExecutionArn), arn)
	}
	st = mustStep(t, srv, token)
	if st.Status != callbacktest.StatusFailed || st.FailureReason != "disk full" || st.Completions != 1 || st.Outputs != nil || !st.Completed.Equal(now) {
		t.Errorf("step = %+v", st)
	}

	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests recorded, want 1", len(reqs))
	}
	r := reqs[0]
	reqID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	switch {
	case r.Operation != callbacktest.OpFailure,
		r.Target != "SageMaker.SendPipelineExecutionStepFailure",
		r.CallbackToken != token,
		aws.ToString(r.FailureReason) != "disk full",
		r.OutputParameters != nil,
		!uuidRE.MatchString(r.ClientRequestToken), // filled by the SDK
		r.Attempt != 1 || r.MaxAttempts != 3,
		r.InvocationID == "",
		r.RequestID != reqID || !uuidRE.MatchString(reqID),
		!r.Received.Equal(now),
		r.StatusCode != 200 || r.ErrorCode != "" || r.ErrorMessage != "",
		r.ExecutionARN != arn,
		r.Fault != callbacktest.Fault{},
		!r.Completed || r.Replayed:
		t.Errorf("request = %+v (SDK request id %q)", r, reqID)
	}
}

func TestSuccessCompletesStep(t *testing.T) {
	srv := newServer(t)
	arn := srv.AddStep("AbCdE12345")
	if !arnRE.MatchString(arn) {
		t.Fatalf("AddStep ARN %q", arn)
	}
	out, err := sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{
		CallbackToken: aws.String("AbCdE12345"),
		OutputParameters: []types.OutputParameter{
			{Name: aws.String("accuracy"), Value: aws.String("0.93")},
			{Name: aws.String("model"), Value: aws.String("s3://bucket/model.tar.gz")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.PipelineExecutionArn) != arn {
		t.Errorf("PipelineExecutionArn = %q, want %q", aws.ToString(out.PipelineExecutionArn), arn)
	}
	want := []callbacktest.Output{{"accuracy", "0.93"}, {"model", "s3://bucket/model.tar.gz"}}
	st := mustStep(t, srv, "AbCdE12345")
	if st.Status != callbacktest.StatusSucceeded || st.Completions != 1 || st.FailureReason != "" || !equalOutputs(st.Outputs, want) {
		t.Errorf("step = %+v", st)
	}
	r := lastRequest(t, srv)
	if r.Operation != callbacktest.OpSuccess || !equalOutputs(r.OutputParameters, want) || r.FailureReason != nil {
		t.Errorf("request = %+v", r)
	}
}

func equalOutputs(a, b []callbacktest.Output) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEachStepHasItsOwnExecution(t *testing.T) {
	srv := newServer(t, func(o *callbacktest.Options) {
		o.Region = "eu-west-1"
		o.AccountID = "210987654321"
		o.Pipeline = "train-and-register"
	})
	seen := map[string]bool{}
	for range 50 {
		tok, arn := srv.NewStep()
		if !strings.HasPrefix(arn, "arn:aws:sagemaker:eu-west-1:210987654321:pipeline/train-and-register/execution/") {
			t.Fatalf("ARN %q", arn)
		}
		if seen[arn] || seen[tok] {
			t.Fatalf("ARN or token repeated: %q %q", arn, tok)
		}
		seen[arn], seen[tok] = true, true
	}
	steps := srv.Steps()
	if len(steps) != 50 {
		t.Fatalf("Steps() has %d steps", len(steps))
	}
	if cn := callbacktest.NewServer(func(o *callbacktest.Options) { o.Region = "cn-north-1" }); true {
		defer cn.Close()
		if arn := cn.AddStep("AbCdE12345"); !strings.HasPrefix(arn, "arn:aws-cn:sagemaker:cn-north-1:") {
			t.Errorf("China ARN %q", arn)
		}
	}
}

func TestAddStepTwiceAndInvalid(t *testing.T) {
	srv := newServer(t)
	arn := srv.AddStep("AbCdE12345")
	if again := srv.AddStep("AbCdE12345"); again != arn {
		t.Errorf("second AddStep returned %q, want the first ARN %q", again, arn)
	}
	// An invalid token registers (no panic) but can never be completed: the
	// request is refused by validation first.
	srv.AddStep("short")
	_, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("short")}, noRetry)
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" {
		t.Errorf("err = %v, want ValidationException", err)
	}
	if st, _ := srv.Step("short"); st.Completions != 0 {
		t.Errorf("invalid step completed: %+v", st)
	}
}

func TestUnknownToken(t *testing.T) {
	srv := newServer(t)
	_, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("Unknown123")})
	var nf *types.ResourceNotFound
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want *types.ResourceNotFound", err)
	}
	if !strings.Contains(nf.ErrorMessage(), "'Unknown123'") {
		t.Errorf("message %q does not echo the token", nf.ErrorMessage())
	}
	checkAPIError(t, srv, err, "ResourceNotFound", 400)
	if r := lastRequest(t, srv); r.ErrorMessage != nf.ErrorMessage() || r.Completed {
		t.Errorf("request = %+v", r)
	}
}

func TestSecondCompletionConflicts(t *testing.T) {
	srv := newServer(t)
	tok, arn := srv.NewStep()
	if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), FailureReason: aws.String("first")}); err != nil {
		t.Fatal(err)
	}
	// Another ClientRequestToken (the SDK makes a new one per call): a second
	// completion, refused whether it fails or succeeds the step.
	_, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), FailureReason: aws.String("first")})
	var ce *types.ConflictException
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *types.ConflictException", err)
	}
	checkAPIError(t, srv, err, "ConflictException", 400)
	if !strings.Contains(ce.ErrorMessage(), "'"+tok+"'") {
		t.Errorf("message %q does not echo the token", ce.ErrorMessage())
	}
	_, err = sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tok)})
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *types.ConflictException", err)
	}
	st := mustStep(t, srv, tok)
	if st.Status != callbacktest.StatusFailed || st.FailureReason != "first" || st.Completions != 1 || st.Conflicts != 2 || st.ExecutionARN != arn {
		t.Errorf("step = %+v", st)
	}
}

func TestSameClientRequestTokenReplays(t *testing.T) {
	srv := newServer(t)
	tok, arn := srv.NewStep()
	crt := "0123456789abcdef0123456789abcdef"
	in := func() *sagemaker.SendPipelineExecutionStepSuccessInput {
		return &sagemaker.SendPipelineExecutionStepSuccessInput{
			CallbackToken:      aws.String(tok),
			ClientRequestToken: aws.String(crt),
			OutputParameters:   []types.OutputParameter{{Name: aws.String("k"), Value: aws.String("v")}},
		}
	}
	for i := range 3 {
		out, err := sendSuccess(t, srv, in())
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if aws.ToString(out.PipelineExecutionArn) != arn {
			t.Errorf("call %d: ARN %q, want %q", i, aws.ToString(out.PipelineExecutionArn), arn)
		}
	}
	st := mustStep(t, srv, tok)
	if st.Completions != 1 || st.Replays != 2 || st.Conflicts != 0 {
		t.Errorf("step = %+v", st)
	}
	reqs := srv.Requests()
	if len(reqs) != 3 || !reqs[0].Completed || reqs[0].Replayed || reqs[1].Completed || !reqs[1].Replayed || !reqs[2].Replayed {
		t.Errorf("requests = %+v", reqs)
	}
	if reqs[1].ClientRequestToken != crt || reqs[1].ExecutionARN != arn || reqs[1].StatusCode != 200 {
		t.Errorf("replayed request = %+v", reqs[1])
	}
}

func TestSameClientRequestTokenOtherParameters(t *testing.T) {
	srv := newServer(t)
	tok, _ := srv.NewStep()
	other, _ := srv.NewStep()
	crt := "0123456789abcdef0123456789abcdef"
	if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), FailureReason: aws.String("a"), ClientRequestToken: aws.String(crt)}); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"other reason": func() error {
			_, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), FailureReason: aws.String("b"), ClientRequestToken: aws.String(crt)})
			return err
		},
		"no reason": func() error {
			_, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), ClientRequestToken: aws.String(crt)})
			return err
		},
		"other operation": func() error {
			_, err := sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tok), ClientRequestToken: aws.String(crt)})
			return err
		},
		"other token": func() error {
			_, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(other), FailureReason: aws.String("a"), ClientRequestToken: aws.String(crt)})
			return err
		},
	} {
		err := call()
		var ce *types.ConflictException
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want *types.ConflictException", name, err)
			continue
		}
		checkAPIError(t, srv, err, "ConflictException", 400)
	}
	if st := mustStep(t, srv, tok); st.Status != callbacktest.StatusFailed || st.FailureReason != "a" || st.Completions != 1 {
		t.Errorf("step = %+v", st)
	}
	if st := mustStep(t, srv, other); st.Status != callbacktest.StatusExecuting || st.Completions != 0 {
		t.Errorf("other step = %+v", st)
	}
}

func TestNoClientRequestToken(t *testing.T) {
	srv := newServer(t)
	tok, arn := srv.NewStep()
	out, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noClientRequestToken)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.PipelineExecutionArn) != arn {
		t.Errorf("ARN %q", aws.ToString(out.PipelineExecutionArn))
	}
	if r := lastRequest(t, srv); r.ClientRequestToken != "" || !r.Completed {
		t.Errorf("request = %+v", r)
	}
	// Without idempotency, the same request again is a second completion.
	_, err = sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noClientRequestToken)
	var ce *types.ConflictException
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *types.ConflictException", err)
	}
	if st := mustStep(t, srv, tok); st.Completions != 1 || st.Conflicts != 1 || st.FailureReason != "" {
		t.Errorf("step = %+v", st)
	}
}

func TestInspectionReturnsCopies(t *testing.T) {
	srv := newServer(t)
	tok, _ := srv.NewStep()
	if _, err := sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{
		CallbackToken:    aws.String(tok),
		OutputParameters: []types.OutputParameter{{Name: aws.String("k"), Value: aws.String("v")}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok), FailureReason: aws.String("r")}); err == nil {
		t.Fatal("second completion succeeded")
	}
	st := mustStep(t, srv, tok)
	st.Outputs[0].Value = "changed"
	st.Status = "changed"
	steps := srv.Steps()
	steps[0].Outputs[0].Name = "changed"
	reqs := srv.Requests()
	reqs[0].OutputParameters[0].Value = "changed"
	*reqs[1].FailureReason = "changed"
	reqs[0].CallbackToken = "changed"

	st = mustStep(t, srv, tok)
	if st.Status != callbacktest.StatusSucceeded || !equalOutputs(st.Outputs, []callbacktest.Output{{"k", "v"}}) {
		t.Errorf("step changed through a copy: %+v", st)
	}
	reqs = srv.Requests()
	if reqs[0].CallbackToken != tok || reqs[0].OutputParameters[0].Value != "v" || *reqs[1].FailureReason != "r" {
		t.Errorf("requests changed through a copy: %+v", reqs)
	}
}

func TestRateLimit(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := newServer(t, func(o *callbacktest.Options) {
		o.RateLimit = 2
		o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	tok, _ := srv.NewStep()
	call := func() error {
		_, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry)
		return err
	}
	// A bucket of 2: the first two pass (a completion, then a conflict), the
	// third is throttled.
	if err := call(); err != nil {
		t.Fatal(err)
	}
	var ce *types.ConflictException
	if err := call(); !errors.As(err, &ce) {
		t.Fatalf("err = %v, want ConflictException", err)
	}
	err := call()
	checkAPIError(t, srv, err, "ThrottlingException", 400)
	if r := lastRequest(t, srv); r.ErrorMessage != "Rate exceeded" || r.Fault != (callbacktest.Fault{}) {
		t.Errorf("throttled request = %+v", r)
	}
	// Half a second later, one more request is allowed.
	mu.Lock()
	now = now.Add(500 * time.Millisecond)
	mu.Unlock()
	if err := call(); !errors.As(err, &ce) {
		t.Fatalf("after refill: err = %v, want ConflictException", err)
	}
	checkAPIError(t, srv, call(), "ThrottlingException", 400)
	if st := mustStep(t, srv, tok); st.Completions != 1 || st.Conflicts != 2 {
		t.Errorf("step = %+v", st)
	}
}

func TestOnRequest(t *testing.T) {
	var got []callbacktest.Request
	done := make(chan struct{}, 10)
	srv := newServer(t, func(o *callbacktest.Options) {
		o.OnRequest = func(r callbacktest.Request) {
			got = append(got, r) // requests below are sequential
			done <- struct{}{}
		}
	})
	tok, _ := srv.NewStep()
	if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}); err != nil {
		t.Fatal(err)
	}
	<-done
	if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("Unknown123")}); err == nil {
		t.Fatal("unknown token succeeded")
	}
	<-done
	reqs := srv.Requests()
	if len(got) != 2 || got[0].RequestID != reqs[0].RequestID || got[1].ErrorCode != "ResourceNotFound" {
		t.Errorf("OnRequest got %+v", got)
	}
}

func TestCloseTwiceAndCallsAfterClose(t *testing.T) {
	srv := callbacktest.NewServer()
	tok, _ := srv.NewStep()
	srv.Close()
	srv.Close()
	_, err := srv.Client().SendPipelineExecutionStepFailure(ctxT(t), &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tok)}, noRetry)
	if err == nil {
		t.Fatal("call after Close succeeded")
	}
	if st, _ := srv.Step(tok); st.Status != callbacktest.StatusExecuting {
		t.Errorf("step = %+v", st)
	}
}
