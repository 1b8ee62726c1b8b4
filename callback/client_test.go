package callback_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/retry"
)

// fast is a policy for tests: the default's shape with millisecond waits.
var fast = retry.Policy{
	MaxAttempts:     4,
	InitialInterval: time.Millisecond,
	MaxInterval:     4 * time.Millisecond,
	AttemptTimeout:  2 * time.Second,
}

func newClient(t testing.TB, optFns ...func(*callback.Options)) (*callback.Client, *callbacktest.Server) {
	t.Helper()
	srv := callbacktest.NewServer()
	t.Cleanup(srv.Close)
	opts := append([]func(*callback.Options){func(o *callback.Options) { o.Retry = fast }}, optFns...)
	return callback.New(srv.Client(), opts...), srv
}

// call is Fail or Succeed, so every case runs through both operations.
type call struct {
	name string
	op   string
	do   func(ctx context.Context, c *callback.Client, tok callback.Token, optFns ...func(*callback.Options)) (callback.ExecutionARN, error)
	// status is what the fake records for a completed step.
	status string
}

var calls = []call{
	{"Fail", callback.OpFailure, func(ctx context.Context, c *callback.Client, tok callback.Token, optFns ...func(*callback.Options)) (callback.ExecutionARN, error) {
		return c.Fail(ctx, tok, callback.MustParseReason("disk full"), optFns...)
	}, "Failed"},
	{"Succeed", callback.OpSuccess, func(ctx context.Context, c *callback.Client, tok callback.Token, optFns ...func(*callback.Options)) (callback.ExecutionARN, error) {
		return c.Succeed(ctx, tok, []callback.Output{callback.MustNewOutput("model", "s3://b/k")}, optFns...)
	}, "Succeeded"},
}

// requestsFor returns the attempts the fake received for one token.
func requestsFor(srv *callbacktest.Server, raw string) []callbacktest.Request {
	var out []callbacktest.Request
	for _, r := range srv.Requests() {
		if r.CallbackToken == raw {
			out = append(out, r)
		}
	}
	return out
}

func TestFaultMatrix(t *testing.T) {
	cases := []struct {
		name     string
		fault    callbacktest.Fault
		n        int
		class    error // nil: success
		attempts int
	}{
		{"throttle once", callbacktest.Throttle, 1, nil, 2},
		{"throttle beyond policy", callbacktest.Throttle, 10, callback.ErrThrottled, 4},
		{"internal error once", callbacktest.InternalError, 1, nil, 2},
		{"internal error beyond policy", callbacktest.InternalError, 10, callback.ErrUnavailable, 4},
		{"unavailable once", callbacktest.Unavailable, 1, nil, 2},
		{"unavailable beyond policy", callbacktest.Unavailable, 10, callback.ErrUnavailable, 4},
		{"limit exceeded", callbacktest.LimitExceeded, 1, callback.ErrLimitExceeded, 1},
		{"reset before commit", callbacktest.ResetBeforeCommit, 1, nil, 2},
		{"reset beyond policy", callbacktest.ResetBeforeCommit, 10, callback.ErrUnavailable, 4},
		{"drop after commit", callbacktest.DropAfterCommit, 1, nil, 2},
		{"drop after commit twice", callbacktest.DropAfterCommit, 2, nil, 3},
		{"slow answer once", callbacktest.Delay(time.Second), 1, nil, 2},
		{"slow answers beyond policy", callbacktest.Delay(time.Second), 10, callback.ErrUnavailable, 4},
	}
	policy := fast
	policy.AttemptTimeout = 100 * time.Millisecond
	for _, c := range calls {
		for _, tc := range cases {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				client, srv := newClient(t, func(o *callback.Options) { o.Retry = policy })
				raw, arn := srv.NewStep()
				tok := callback.MustParseToken(raw)
				srv.FailNext(tc.n, tc.fault)

				got, err := c.do(context.Background(), client, tok)
				reqs := requestsFor(srv, raw)
				if len(reqs) != tc.attempts {
					t.Errorf("fake received %d attempts, want %d", len(reqs), tc.attempts)
				}
				for _, r := range reqs {
					if r.ClientRequestToken != reqs[0].ClientRequestToken || r.ClientRequestToken == "" {
						t.Errorf("ClientRequestToken changed between attempts: %q vs %q", r.ClientRequestToken, reqs[0].ClientRequestToken)
					}
					if r.Operation != c.op {
						t.Errorf("operation %q, want %q", r.Operation, c.op)
					}
				}
				step, _ := srv.Step(raw)
				if tc.class == nil {
					if err != nil {
						t.Fatalf("error: %v", err)
					}
					if got.String() != arn || !got.IsValid() {
						t.Errorf("ARN %q, want %q", got, arn)
					}
					if step.Completions != 1 || step.Status != c.status {
						t.Errorf("step: %d completions, status %q; want 1, %q", step.Completions, step.Status, c.status)
					}
					return
				}
				var e *callback.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v (%T) is not a *callback.Error", err, err)
				}
				checkOneClass(t, err, tc.class)
				if e.Attempts != tc.attempts || e.Op != c.op {
					t.Errorf("Error.Attempts %d Op %q; want %d %q", e.Attempts, e.Op, tc.attempts, c.op)
				}
				if !strings.Contains(err.Error(), c.op) || !strings.Contains(err.Error(), tc.class.Error()) {
					t.Errorf("message does not name the operation and class: %v", err)
				}
				if step.Completions != 0 {
					t.Errorf("step completed %d times on a failed call", step.Completions)
				}
			})
		}
	}
}

// classes are the classes of failure, and the caller's context errors,
// which stand in for a class when the context ended before any answer.
var classes = []error{
	callback.ErrConflict, callback.ErrLimitExceeded, callback.ErrNotFound, callback.ErrInvalid,
	callback.ErrThrottled, callback.ErrAccessDenied, callback.ErrUnavailable, callback.ErrUnexpected,
	context.Canceled, context.DeadlineExceeded,
}

// checkOneClass checks that err matches want, the errors in also, and no
// other class.
func checkOneClass(t *testing.T, err, want error, also ...error) {
	t.Helper()
	for _, c := range classes {
		expect := c == want
		for _, a := range also {
			expect = expect || c == a
		}
		if got := errors.Is(err, c); got != expect {
			t.Errorf("errors.Is(err, %v) = %v; err = %v", c, got, err)
		}
	}
}

func TestNotFoundErrorChain(t *testing.T) {
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			client, srv := newClient(t)
			raw := "Unknown123"
			_, err := c.do(context.Background(), client, callback.MustParseToken(raw))
			checkOneClass(t, err, callback.ErrNotFound)
			var nf *types.ResourceNotFound
			var api smithy.APIError
			var resp *awshttp.ResponseError
			if !errors.As(err, &nf) || !errors.As(err, &api) || !errors.As(err, &resp) {
				t.Fatalf("the SDK's errors are not reachable: %v", err)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d attempts, want 1 (not retried)", len(reqs))
			}
			var e *callback.Error
			errors.As(err, &e)
			if resp.HTTPStatusCode() != 400 || resp.ServiceRequestID() != reqs[0].RequestID || e.RequestID != reqs[0].RequestID || e.RequestID == "" {
				t.Errorf("status %d, request id %q / %q, fake recorded %q", resp.HTTPStatusCode(), resp.ServiceRequestID(), e.RequestID, reqs[0].RequestID)
			}
			if !strings.Contains(err.Error(), e.RequestID) {
				t.Errorf("message lacks the request id: %v", err)
			}
			// The fake echoes the token in its message, as AWS does; the
			// facade's message must not.
			if strings.Contains(err.Error(), raw) {
				t.Errorf("message shows the token: %v", err)
			}
		})
	}
}

func TestConflictAndReplay(t *testing.T) {
	client, srv := newClient(t)
	raw, arn := srv.NewStep()
	tok := callback.MustParseToken(raw)
	ctx := context.Background()
	first, err := client.Fail(ctx, tok, callback.MustParseReason("disk full"))
	if err != nil {
		t.Fatal(err)
	}
	// A restarted worker repeats the same report: the derived token is the
	// same, the service answers as before, nothing is completed twice.
	again, err := callback.New(srv.Client(), func(o *callback.Options) { o.Retry = fast }).Fail(ctx, tok, callback.MustParseReason("disk full"))
	if err != nil || again != first || again.String() != arn {
		t.Fatalf("repeat: %v, %v (first %v)", again, err, first)
	}
	// A different reason is a different request: the step is already
	// completed, so it is a conflict, not retried.
	_, err = client.Fail(ctx, tok, callback.MustParseReason("out of memory"))
	checkOneClass(t, err, callback.ErrConflict)
	var ce *types.ConflictException
	if !errors.As(err, &ce) {
		t.Errorf("*types.ConflictException not reachable: %v", err)
	}
	// And a success after a failure, likewise.
	_, err = client.Succeed(ctx, tok, nil)
	checkOneClass(t, err, callback.ErrConflict)
	step, _ := srv.Step(raw)
	if step.Completions != 1 || step.Status != "Failed" || step.FailureReason != "disk full" {
		t.Errorf("step %+v", step)
	}
	if n := len(srv.Requests()); n != 4 {
		t.Errorf("%d requests, want 4 (none retried)", n)
	}
}

func TestRequestTokenOverride(t *testing.T) {
	client, srv := newClient(t)
	raw, _ := srv.NewStep()
	rt := callback.MustParseRequestToken("my-own-idempotency-token-0123456789")
	_, err := client.Fail(context.Background(), callback.MustParseToken(raw), callback.Reason{},
		func(o *callback.Options) { o.RequestToken = rt })
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests()[0].ClientRequestToken; got != rt.String() {
		t.Errorf("sent %q, want %q", got, rt)
	}
	// New refuses a RequestToken: one token for every call would tie
	// unrelated completions together. Every call says so; nothing is sent.
	c2 := callback.New(srv.Client(), func(o *callback.Options) { o.RequestToken = rt })
	raw2, _ := srv.NewStep()
	for _, c := range calls {
		_, err := c.do(context.Background(), c2, callback.MustParseToken(raw2))
		checkOneClass(t, err, callback.ErrInvalid)
		if err == nil || !strings.Contains(err.Error(), "RequestToken") {
			t.Errorf("%s: %v, want an error naming RequestToken", c.name, err)
		}
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1 (the misused Client sent nothing)", n)
	}
}

// TestOptionsCannotUndoGuarantees: an APIOption that sets a Retryer or
// RetryMaxAttempts does not turn the SDK's retries back on, and a
// RetryOptions' Retryable does not replace the Client's classifier.
func TestOptionsCannotUndoGuarantees(t *testing.T) {
	client, srv := newClient(t, func(o *callback.Options) {
		o.Retry.MaxAttempts = 2
		o.ClientOptions = append(o.ClientOptions, func(so *sagemaker.Options) {
			so.Retryer = awsretry.NewStandard(func(ro *awsretry.StandardOptions) { ro.MaxAttempts = 5 })
			so.RetryMaxAttempts = 5
		})
		o.RetryOptions = append(o.RetryOptions, func(ro *retry.Options) { ro.Retryable = func(error) bool { return true } })
	})
	raw, _ := srv.NewStep()
	srv.FailNext(100, callbacktest.Unavailable)
	_, err := client.Fail(context.Background(), callback.MustParseToken(raw), callback.Reason{})
	checkOneClass(t, err, callback.ErrUnavailable)
	reqs := requestsFor(srv, raw)
	if len(reqs) != 2 {
		t.Errorf("%d attempts reached the service, want the policy's 2", len(reqs))
	}
	for _, r := range reqs {
		if r.Attempt != 1 || r.MaxAttempts != 1 {
			t.Errorf("SDK attempt header %d/%d, want 1/1 (SDK retries off)", r.Attempt, r.MaxAttempts)
		}
	}
	// ResourceNotFound is not retried, whatever Retryable said.
	srv.ClearFaults()
	_, err = client.Fail(context.Background(), callback.MustParseToken("NoSuchStep"), callback.Reason{})
	checkOneClass(t, err, callback.ErrNotFound)
	if n := len(requestsFor(srv, "NoSuchStep")); n != 1 {
		t.Errorf("%d attempts for an unknown token, want 1", n)
	}
}

// TestNilClient: a nil *Client, the zero Client and one made from a nil API
// answer every call with ErrInvalid, and nothing panics.
func TestNilClient(t *testing.T) {
	tok := callback.MustParseToken("AbCdE12345")
	var nilClient *callback.Client
	var nilSDK *sagemaker.Client
	for name, c := range map[string]*callback.Client{
		"nil *Client":    nilClient,
		"zero Client":    {},
		"New(nil)":       callback.New(nil),
		"New(nil SDK)":   callback.New(nilSDK),
		"New(nil, opts)": callback.New(nil, func(o *callback.Options) { o.Logger = slog.New(slog.DiscardHandler) }),
	} {
		for _, cl := range calls {
			_, err := cl.do(context.Background(), c, tok, func(o *callback.Options) { o.Retry.MaxAttempts = 1 })
			checkOneClass(t, err, callback.ErrInvalid)
			if err == nil || !strings.Contains(err.Error(), "no API") {
				t.Errorf("%s.%s: %v, want an error saying there is no API", name, cl.name, err)
			}
		}
	}
}

func TestInvalidNothingSent(t *testing.T) {
	client, srv := newClient(t)
	ctx := context.Background()
	var zero callback.Token
	_, err := client.Fail(ctx, zero, callback.Reason{})
	checkOneClass(t, err, callback.ErrInvalid)
	_, err = client.Succeed(ctx, zero, nil)
	checkOneClass(t, err, callback.ErrInvalid)
	raw, _ := srv.NewStep()
	outs := make([]callback.Output, 51)
	for i := range outs {
		outs[i] = callback.MustNewOutput("k", "v")
	}
	_, err = client.Succeed(ctx, callback.MustParseToken(raw), outs)
	checkOneClass(t, err, callback.ErrInvalid)
	if !strings.Contains(err.Error(), "OutputParameters") || !strings.Contains(err.Error(), "nothing sent") {
		t.Errorf("message: %v", err)
	}
	if !errors.Is(err, callback.ErrInvalidOutputs) {
		t.Errorf("51 outputs' error does not match ErrInvalidOutputs: %v", err)
	}
	// Only refused outputs match ErrInvalidOutputs: not a zero token, not
	// the service's ValidationException (TestServiceValidationIsInvalid).
	if _, err := client.Succeed(ctx, zero, nil); errors.Is(err, callback.ErrInvalidOutputs) {
		t.Errorf("a zero token's error matches ErrInvalidOutputs: %v", err)
	}
	// An Output that was never made (the zero Output) is refused, by index.
	holes := []callback.Output{callback.MustNewOutput("a", "b"), {}}
	_, err = client.Succeed(ctx, callback.MustParseToken(raw), holes)
	checkOneClass(t, err, callback.ErrInvalid)
	if !strings.Contains(err.Error(), "OutputParameters[1]") {
		t.Errorf("message does not name the item: %v", err)
	}
	if !errors.Is(err, callback.ErrInvalidOutputs) {
		t.Errorf("a zero Output's error does not match ErrInvalidOutputs: %v", err)
	}
	// A Client without an API refuses rather than panics.
	var none callback.Client
	_, err = none.Fail(ctx, callback.MustParseToken(raw), callback.Reason{})
	checkOneClass(t, err, callback.ErrInvalid)
	_, err = callback.New(nil).Succeed(ctx, callback.MustParseToken(raw), nil)
	checkOneClass(t, err, callback.ErrInvalid)
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for invalid input", n)
	}
	// 50 is the limit, and it goes through.
	if _, err := client.Succeed(ctx, callback.MustParseToken(raw), outs[:50]); err != nil {
		t.Errorf("50 outputs: %v", err)
	}
}

// tamper breaks the token on its way to the SDK, to get the service's own
// ValidationException.
type tamper struct{ *sagemaker.Client }

func (t tamper) SendPipelineExecutionStepFailure(ctx context.Context, in *sagemaker.SendPipelineExecutionStepFailureInput, optFns ...func(*sagemaker.Options)) (*sagemaker.SendPipelineExecutionStepFailureOutput, error) {
	bad := *in
	bad.CallbackToken = aws.String(*in.CallbackToken + "XY")
	return t.Client.SendPipelineExecutionStepFailure(ctx, &bad, optFns...)
}

func TestServiceValidationIsInvalid(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	raw, _ := srv.NewStep()
	client := callback.New(tamper{srv.Client()}, func(o *callback.Options) { o.Retry = fast })
	_, err := client.Fail(context.Background(), callback.MustParseToken(raw), callback.Reason{})
	checkOneClass(t, err, callback.ErrInvalid)
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" {
		t.Errorf("want the service's ValidationException: %v", err)
	}
	if errors.Is(err, callback.ErrInvalidOutputs) {
		t.Errorf("the service's ValidationException matches ErrInvalidOutputs: %v", err)
	}
	if strings.Contains(err.Error(), raw) {
		t.Errorf("message shows the token: %v", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestAccessDenied(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	raw, _ := srv.NewStep()
	anon := sagemaker.New(sagemaker.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  aws.AnonymousCredentials{},
	})
	_, err := callback.New(anon, func(o *callback.Options) { o.Retry = fast }).Fail(context.Background(), callback.MustParseToken(raw), callback.Reason{})
	checkOneClass(t, err, callback.ErrAccessDenied)
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestNoCredentials(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	raw, _ := srv.NewStep()
	calls := 0
	noCreds := sagemaker.New(sagemaker.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			calls++
			return aws.Credentials{}, errors.New("no EC2 IMDS role found")
		}),
	})
	_, err := callback.New(noCreds, func(o *callback.Options) { o.Retry = fast }).Fail(context.Background(), callback.MustParseToken(raw), callback.Reason{})
	checkOneClass(t, err, callback.ErrAccessDenied)
	var e *callback.Error
	if !errors.As(err, &e) || e.Attempts != 0 || !strings.Contains(err.Error(), "nothing sent") {
		t.Errorf("want 0 attempts and nothing sent: %v", err)
	}
	if calls != 1 || len(srv.Requests()) != 0 {
		t.Errorf("credentials asked %d times, %d requests; want 1, 0 (not retried, not sent)", calls, len(srv.Requests()))
	}
}

// nilOutput answers every call with neither an output nor an error, as a
// careless wrapper of the SDK might.
type nilOutput struct{ callback.API }

func (nilOutput) SendPipelineExecutionStepFailure(context.Context, *sagemaker.SendPipelineExecutionStepFailureInput, ...func(*sagemaker.Options)) (*sagemaker.SendPipelineExecutionStepFailureOutput, error) {
	return nil, nil
}

func TestNilOutputDoesNotPanic(t *testing.T) {
	arn, err := callback.New(nilOutput{}).Fail(context.Background(), callback.MustParseToken("AbCdE12345"), callback.Reason{})
	if err != nil || !arn.IsZero() {
		t.Errorf("got %v, %v; want the zero ARN and no error", arn, err)
	}
}

func TestOneRetryLayer(t *testing.T) {
	// srv.Client() has the SDK's default retryer (3 attempts). Through
	// Client, the policy's attempts are the only ones: 3, not 3 × 3.
	client, srv := newClient(t, func(o *callback.Options) { o.Retry.MaxAttempts = 3 })
	raw, _ := srv.NewStep()
	srv.FailNext(100, callbacktest.Throttle)
	_, err := client.Fail(context.Background(), callback.MustParseToken(raw), callback.Reason{})
	checkOneClass(t, err, callback.ErrThrottled)
	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d attempts reached the service, want 3", len(reqs))
	}
	for _, r := range reqs {
		if r.Attempt != 1 || r.MaxAttempts != 1 {
			t.Errorf("SDK attempt header %d/%d, want 1/1 (SDK retries off)", r.Attempt, r.MaxAttempts)
		}
	}
}

func TestCancelDuringWait(t *testing.T) {
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var canceledAt time.Time
			client, srv := newClient(t, func(o *callback.Options) {
				o.Retry = retry.Policy{MaxAttempts: 5, InitialInterval: time.Minute, AttemptTimeout: time.Second}
				o.RetryOptions = []func(*retry.Options){func(ro *retry.Options) {
					ro.OnRetry = func(retry.Wait) {
						go func() {
							time.Sleep(20 * time.Millisecond)
							canceledAt = time.Now()
							cancel()
						}()
					}
				}}
			})
			raw, _ := srv.NewStep()
			srv.FailNext(10, callbacktest.Throttle)
			_, err := c.do(ctx, client, callback.MustParseToken(raw))
			returned := time.Now()
			if d := returned.Sub(canceledAt); canceledAt.IsZero() || d > 50*time.Millisecond {
				t.Errorf("returned %v after the cancel, want within milliseconds", d)
			}
			checkOneClass(t, err, callback.ErrThrottled, context.Canceled)
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" {
				t.Errorf("the last service error is lost: %v", err)
			}
		})
	}
}

func TestCanceledBeforeAnswer(t *testing.T) {
	client, srv := newClient(t)
	raw, _ := srv.NewStep()
	srv.FailNext(1, callbacktest.Delay(10*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := client.Fail(ctx, callback.MustParseToken(raw), callback.Reason{})
	checkOneClass(t, err, context.DeadlineExceeded)
}

func TestLogging(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(lockedWriter{&buf, &mu}, nil))
	client, srv := newClient(t, func(o *callback.Options) { o.Logger = log; o.Retry.MaxAttempts = 3 })
	raw, _ := srv.NewStep()
	srv.FailNext(5, callbacktest.Throttle)
	_, err := client.Fail(context.Background(), callback.MustParseToken(raw), callback.Reason{})
	if err == nil {
		t.Fatal("no error")
	}
	out := buf.String()
	if strings.Contains(out, raw) {
		t.Errorf("log shows the token: %s", out)
	}
	if n := strings.Count(out, `"level":"WARN"`); n != 2 {
		t.Errorf("%d warnings, want 2 (one per retry):\n%s", n, out)
	}
	if n := strings.Count(out, `"level":"ERROR"`); n != 1 {
		t.Errorf("%d errors, want 1:\n%s", n, out)
	}
	for _, want := range []string{`"attempt":1`, `"delay":`, `"class":"throttled"`, callback.MustParseToken(raw).Fingerprint()} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestDefaultClient(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	old := callback.SetDefault(callback.New(srv.Client()))
	defer callback.SetDefault(old)
	raw, arn := srv.NewStep()
	got, err := callback.Fail(context.Background(), callback.MustParseToken(raw), callback.MustParseReason("boom"))
	if err != nil || got.String() != arn {
		t.Fatalf("callback.Fail: %v, %v", got, err)
	}
	raw2, _ := srv.NewStep()
	if _, err := callback.Succeed(context.Background(), callback.MustParseToken(raw2), nil); err != nil {
		t.Fatal(err)
	}
	// The package-level functions take a call's options, as the methods do.
	rt := callback.MustParseRequestToken("package-level-request-token-0123456789")
	raw3, _ := srv.NewStep()
	if _, err := callback.Fail(context.Background(), callback.MustParseToken(raw3), callback.Reason{},
		func(o *callback.Options) { o.RequestToken = rt }); err != nil {
		t.Fatal(err)
	}
	raw4, _ := srv.NewStep()
	rt2 := callback.MustParseRequestToken("package-level-request-token-9876543210")
	if _, err := callback.Succeed(context.Background(), callback.MustParseToken(raw4), nil,
		func(o *callback.Options) { o.RequestToken = rt2 }); err != nil {
		t.Fatal(err)
	}
	if r := requestsFor(srv, raw3); len(r) != 1 || r[0].ClientRequestToken != rt.String() {
		t.Errorf("package-level Fail's options were not applied: %+v", r)
	}
	if r := requestsFor(srv, raw4); len(r) != 1 || r[0].ClientRequestToken != rt2.String() {
		t.Errorf("package-level Succeed's options were not applied: %+v", r)
	}
}

func TestDefaultClientLoadFailsThenRetries(t *testing.T) {
	old := callback.SetDefault(nil)
	defer callback.SetDefault(old)
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_PROFILE", "no-such-profile")
	_, err := callback.Fail(context.Background(), callback.MustParseToken("AbCdE12345"), callback.Reason{})
	if err == nil || !strings.Contains(err.Error(), "AWS configuration") {
		t.Fatalf("want a configuration error, got %v", err)
	}
	checkOneClass(t, err, callback.ErrAccessDenied)
	// The next call tries again: with the profile fixed, the client is built.
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "us-east-1")
	c, err := callback.Default(context.Background())
	if err != nil || c == nil {
		t.Fatalf("Default after fixing the configuration: %v", err)
	}
	if again, _ := callback.Default(context.Background()); again != c {
		t.Error("Default built a second client")
	}
}

func TestLoad(t *testing.T) {
	const steps, workers = 1000, 32
	policy := retry.Policy{MaxAttempts: 12, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, AttemptTimeout: 5 * time.Second}
	srv := callbacktest.NewServer(func(o *callbacktest.Options) { o.Seed = 1 })
	defer srv.Close()
	client := callback.New(srv.Client(), func(o *callback.Options) { o.Retry = policy })
	tokens := make([]string, steps)
	for i := range tokens {
		tokens[i], _ = srv.NewStep()
	}
	srv.FailRandom(0.20, callbacktest.Throttle)
	srv.FailRandom(0.05, callbacktest.DropAfterCommit)

	work := make(chan int)
	errs := make(chan error, steps)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				tok := callback.MustParseToken(tokens[i])
				var err error
				if i%2 == 0 {
					_, err = client.Fail(context.Background(), tok, callback.MustParseReason("step failed"))
				} else {
					_, err = client.Succeed(context.Background(), tok, []callback.Output{callback.MustNewOutput("i", "v")})
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 0; i < steps; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call failed: %v", err)
	}
	perToken := map[string]int{}
	faults := 0
	for _, r := range srv.Requests() {
		perToken[r.CallbackToken]++
		if r.StatusCode != 200 {
			faults++
		}
	}
	for i, raw := range tokens {
		step, ok := srv.Step(raw)
		if !ok || step.Completions != 1 {
			t.Errorf("step %d: %d completions", i, step.Completions)
		}
		if n := perToken[raw]; n < 1 || n > policy.MaxAttempts {
			t.Errorf("step %d: %d attempts, policy allows %d", i, n, policy.MaxAttempts)
		}
	}
	if faults < steps/10 {
		t.Errorf("only %d faulted attempts: the fault injection did not bite", faults)
	}
	t.Logf("%d requests for %d steps, %d faulted", len(srv.Requests()), steps, faults)
}
