package retry_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stepcallback/sagemaker-callback/retry"
)

// declared is an error that declares whether it is retryable.
type declared struct {
	err       error
	retryable bool
}

func (d declared) Error() string        { return "declared: " + d.err.Error() }
func (d declared) Unwrap() error        { return d.err }
func (d declared) RetryableError() bool { return d.retryable }

// sendErr is a transport failure as the SDK reports it: a status-0 response
// error around *smithyhttp.RequestSendError.
func sendErr(inner error) error {
	return opErr(respErr(0, &smithyhttp.RequestSendError{Err: inner}))
}

func urlErr(inner error) error {
	return &url.Error{Op: "Post", URL: "https://api.sagemaker.us-east-1.amazonaws.com/", Err: inner}
}

// clientTimeoutErr returns the error a real http.Client gives when its own
// Timeout expires.
func clientTimeoutErr(t *testing.T) error {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	client := &http.Client{Timeout: 10 * time.Millisecond}
	defer client.CloseIdleConnections()
	resp, err := client.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("no timeout")
	}
	return err
}

// sdkRetries is the SDK's own default classifier chain.
func sdkRetries(err error) bool {
	return awsretry.IsErrorRetryables(awsretry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// TestClassifier checks Retryable, IsThrottle and IsUnavailable on errors
// built as the SDK builds them, and that Retryable retries whatever the SDK's
// DefaultRetryables retry, except the caller's own context errors.
func TestClassifier(t *testing.T) {
	type want struct{ retryable, throttle, unavailable bool }
	var (
		yesThrottle    = want{true, true, false}
		yesUnavailable = want{true, false, true}
		yes            = want{true, false, false}
		no             = want{false, false, false}
	)
	cases := []struct {
		name      string
		err       error
		want      want
		callerCtx bool // the caller's context error: the one exception to the SDK's answer
	}{
		{"nil", nil, no, false},
		{"plain error", errors.New("boom"), no, false},

		// Throttles, whatever the status.
		{"400 ThrottlingException", throttle(), yesThrottle, false},
		{"bare ThrottlingException", &smithy.GenericAPIError{Code: "ThrottlingException"}, yesThrottle, false},
		{"wrapped by fmt", fmt.Errorf("report step: %w", throttle()), yesThrottle, false},
		{"429 unknown code", apiErr(429, "TooManyRequests"), yesThrottle, false},
		{"429 no api error", opErr(respErr(429, &smithy.DeserializationError{Err: errors.New("invalid character '<'")})), yesThrottle, false},

		// The SDK's retryable codes.
		{"400 RequestTimeoutException", apiErr(400, "RequestTimeoutException"), yes, false},
		{"408 RequestTimeout", apiErr(408, "RequestTimeout"), yes, false},

		// Unavailable: any 5xx whatever the code; the SDK leaves the fault unknown.
		{"500 InternalFailure", apiErr(500, "InternalFailure"), yesUnavailable, false},
		{"500 InternalServerError", apiErr(500, "InternalServerError"), yesUnavailable, false},
		{"501 NotImplemented", apiErr(501, "NotImplemented"), yesUnavailable, false},
		{"502 non-JSON body", opErr(respErr(502, &smithy.DeserializationError{Err: errors.New("invalid character '<'")})), yesUnavailable, false},
		{"503 ServiceUnavailable", apiErr(503, "ServiceUnavailable"), yesUnavailable, false},
		{"504 no code", apiErr(504, ""), yesUnavailable, false},
		{"507 no code", apiErr(507, ""), yesUnavailable, false},
		{"599 no api error", opErr(respErr(599, &smithy.DeserializationError{Err: io.ErrUnexpectedEOF})), yesUnavailable, false},
		{"503 with a throttle code", apiErr(503, "SlowDown"), want{true, true, true}, false},

		// Transport failures.
		{"send: connection refused", sendErr(urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})), yesUnavailable, false},
		{"send: connection reset", sendErr(urlErr(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET})), yesUnavailable, false},
		{"send: EOF", sendErr(urlErr(io.EOF)), yesUnavailable, false},
		{"send: http.Client timeout", sendErr(clientTimeoutErr(t)), yesUnavailable, false},
		{"send: no such host", sendErr(urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}})), no, false},
		{"bare connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, yesUnavailable, false},
		{"bare DNS server failure", &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}, yesUnavailable, false},
		{"net.Error timeout", urlErr(&net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}), yesUnavailable, false},
		{"bare url.Error, bad certificate", urlErr(x509.UnknownAuthorityError{}), no, false},
		// A body cut after a 200: the SDK does not retry it, nor does Retryable.
		{"200 truncated body", opErr(respErr(200, &smithy.DeserializationError{Err: io.ErrUnexpectedEOF})), no, false},

		// Attempt timeouts, as Do wraps them.
		{"attempt timeout", fmt.Errorf("%w after 15s: %w", retry.ErrAttemptTimeout, opErr(&smithy.CanceledError{Err: context.DeadlineExceeded})), yesUnavailable, false},

		// Not retryable: modeled errors, other 4xx.
		{"ResourceNotFound", opErr(respErr(400, &types.ResourceNotFound{Message: aws.String("x")})), no, false},
		{"ResourceLimitExceeded", opErr(respErr(400, &types.ResourceLimitExceeded{})), no, false},
		{"ConflictException", opErr(respErr(400, &types.ConflictException{})), no, false},
		{"ValidationException", apiErr(400, "ValidationException"), no, false},
		{"AccessDeniedException", apiErr(403, "AccessDeniedException"), no, false},
		{"404", apiErr(404, "UnknownOperationException"), no, false},
		{"413", apiErr(413, ""), no, false},

		// The caller's context, bare or as the SDK reports it.
		{"context.Canceled", context.Canceled, no, true},
		{"context.DeadlineExceeded", context.DeadlineExceeded, no, true},
		{"wrapped DeadlineExceeded", fmt.Errorf("op: %w", context.DeadlineExceeded), no, true},
		{"SDK CanceledError", opErr(&smithy.CanceledError{Err: context.Canceled}), no, false},
		{"SDK CanceledError deadline", opErr(&smithy.CanceledError{Err: context.DeadlineExceeded}), no, false},
		{"aws.RequestCanceledError", &aws.RequestCanceledError{Err: context.Canceled}, no, false},

		// Declarations are honoured both ways by Retryable; IsThrottle and
		// IsUnavailable still describe the error underneath.
		{"declared false on a 503", declared{apiErr(503, "ServiceUnavailable"), false}, want{false, false, true}, false},
		{"declared false on a throttle", declared{throttle(), false}, want{false, true, false}, false},
		{"declared true on a 400", declared{apiErr(400, "ValidationException"), true}, yes, false},
	}
	for code := range awsretry.DefaultThrottleErrorCodes {
		cases = append(cases, struct {
			name      string
			err       error
			want      want
			callerCtx bool
		}{"400 " + code, apiErr(400, code), yesThrottle, false})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := want{retry.Retryable(tc.err), retry.IsThrottle(tc.err), retry.IsUnavailable(tc.err)}
			if got != tc.want {
				t.Errorf("(Retryable, IsThrottle, IsUnavailable) = %v, want %v for %v", got, tc.want, tc.err)
			}
			if sdkRetries(tc.err) && !got.retryable && !tc.callerCtx {
				t.Errorf("the SDK's DefaultRetryables retry %v; Retryable does not", tc.err)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// statusOnly declares HTTPStatusCode but is not an SDK type.
type statusOnly struct{ code int }

func (s statusOnly) Error() string       { return http.StatusText(s.code) }
func (s statusOnly) HTTPStatusCode() int { return s.code }

func TestClassifierNonSDKStatus(t *testing.T) {
	if !retry.IsUnavailable(statusOnly{503}) || !retry.IsThrottle(statusOnly{429}) || retry.Retryable(statusOnly{404}) {
		t.Error("HTTPStatusCode() of a non-SDK error is not used")
	}
}

// TestDoClassifiesRealSDKErrors checks Do with the default classifier
// against the chains above.
func TestDoClassifiesRealSDKErrors(t *testing.T) {
	for _, tc := range []struct {
		err   error
		calls int32
	}{
		{throttle(), 3},
		{apiErr(500, "InternalFailure"), 3},
		{sendErr(urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})), 3},
		{apiErr(400, "ValidationException"), 1},
		{opErr(respErr(400, &types.ConflictException{})), 1},
	} {
		op, calls := always(tc.err)
		_ = retry.Do(context.Background(), retry.Policy{MaxAttempts: 3}, op, withTimer(newFakeTimer(true)))
		if calls.Load() != tc.calls {
			t.Errorf("%v: %d calls, want %d", tc.err, calls.Load(), tc.calls)
		}
	}
}
