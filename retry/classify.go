package retry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Retryable reports whether err is worth another attempt. It is Do's
// default classifier. It runs an ordered chain of checks, the first definite
// answer wins:
//
//  1. nil: false.
//  2. An attempt that ran out of Policy.AttemptTimeout (ErrAttemptTimeout):
//     true.
//  3. An error in the chain that declares RetryableError() bool: its
//     answer, true or false.
//  4. A cancelled request: an error that declares CanceledError() true
//     (the SDK's *smithy.CanceledError and *aws.RequestCanceledError, which
//     it returns when the context given to the call ended): false.
//  5. IsThrottle(err) || IsUnavailable(err). Neither matches a bare
//     context.Canceled or context.DeadlineExceeded, so the caller's own
//     context errors are not retryable.
//
// Everything else is not retryable, in particular every 4xx answer that is
// not a throttle: ResourceNotFound, ResourceLimitExceeded,
// ConflictException, ValidationException, AccessDeniedException.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrAttemptTimeout) {
		return true
	}
	var decl interface{ RetryableError() bool }
	if errors.As(err, &decl) {
		return decl.RetryableError()
	}
	if isCanceled(err) {
		return false
	}
	return IsThrottle(err) || IsUnavailable(err)
}

// IsThrottle reports whether err says the service throttled the request: an
// API error (smithy.APIError, anywhere in the chain) whose code is one of
// aws-sdk-go-v2's throttle codes (its retry.DefaultThrottleErrorCodes: Throttling, ThrottlingException,
// TooManyRequestsException, RequestLimitExceeded, LimitExceededException,
// SlowDown, ...), or an HTTP 429 response. The HTTP status of a throttle
// code does not matter: SageMaker sends ThrottlingException with 400. A 503
// ServiceUnavailable is not a throttle (see IsUnavailable).
func IsThrottle(err error) bool {
	if err == nil {
		return false
	}
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		if _, ok := awsretry.DefaultThrottleErrorCodes[coded.ErrorCode()]; ok {
			return true
		}
	}
	return httpStatus(err) == http.StatusTooManyRequests
}

// IsUnavailable reports whether err says the service or the way to it was
// unavailable, for a while:
//
//   - an HTTP 5xx response, whatever the error code (the SDK reports
//     InternalFailure at 500 with an unknown fault, so the fault is never
//     looked at);
//   - a transport failure: the SDK's *smithyhttp.RequestSendError (inside a
//     status-0 response error; the SDK makes one for any failed send while
//     the call's context is live) or any error declaring ConnectionError()
//     true; outside the SDK's wrapper, a *net.OpError, a DNS failure, a
//     net.Error that timed out, io.EOF, io.ErrUnexpectedEOF, a connection
//     reset, refused or aborted, a broken pipe;
//   - an attempt that ran out of Policy.AttemptTimeout (ErrAttemptTimeout).
//
// A DNS "no such host" is never unavailability: the name will not appear
// on retry. Nor are a cancelled request (an error declaring
// CanceledError() true) and a bare context.Canceled or
// context.DeadlineExceeded, even though the latter is a net.Error.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrAttemptTimeout) {
		return true
	}
	if code := httpStatus(err); code >= 500 && code <= 599 {
		return true
	}
	return isTransport(err)
}

// isTransport reports a failure to send the request or to read the
// response, after the checks of aws-sdk-go-v2's RetryableConnectionError.
func isTransport(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false // NXDOMAIN: the name will not appear on retry
	}
	if isCanceled(err) {
		return false
	}
	// The SDK wraps a failed send in *smithyhttp.RequestSendError only when
	// the call's context was still live (otherwise it returns
	// *smithy.CanceledError), so this holds even if the failure itself
	// matches context.DeadlineExceeded, as an http.Client.Timeout does.
	var conn interface{ ConnectionError() bool }
	if errors.As(err, &conn) && conn.ConnectionError() {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // a context error, and context.DeadlineExceeded is a net.Error
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed):
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true // a dial, read or write on a socket failed
	}
	if dnsErr != nil {
		return true // a DNS failure other than "no such host"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "connection refused") ||
		strings.Contains(msg, "use of closed network connection") ||
		strings.Contains(msg, "broken pipe")
}

// isCanceled reports an error that declares CanceledError() true: the SDK
// wraps the error of the call's ended context so.
func isCanceled(err error) bool {
	var canceled interface{ CanceledError() bool }
	return errors.As(err, &canceled) && canceled.CanceledError()
}

// httpStatus returns the HTTP status of the response err came from, or 0.
// A transport failure carries a response error with status 0.
func httpStatus(err error) (code int) {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		if re == nil || re.Response == nil || re.Response.Response == nil {
			return 0
		}
		return re.Response.StatusCode
	}
	var sc interface{ HTTPStatusCode() int }
	if errors.As(err, &sc) {
		// Another type with the SDK's method; it may hold a nil response.
		defer func() {
			if recover() != nil {
				code = 0
			}
		}()
		return sc.HTTPStatusCode()
	}
	return 0
}
