package retry

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
)

// retryables is Retryable's chain: the SDK's DefaultRetryables, between
// what it leaves out on purpose and this package wants.
var retryables = awsretry.IsErrorRetryables(append(append(
	[]awsretry.IsErrorRetryable{awsretry.IsErrorRetryableFunc(attemptTimedOut), awsretry.IsErrorRetryableFunc(callerContext)},
	awsretry.DefaultRetryables...),
	awsretry.IsErrorRetryableFunc(serverError)))

// unavailables is IsUnavailable's chain.
var unavailables = awsretry.IsErrorRetryables{
	awsretry.IsErrorRetryableFunc(attemptTimedOut),
	awsretry.NoRetryCanceledError{},
	awsretry.IsErrorRetryableFunc(callerContext),
	awsretry.IsErrorRetryableFunc(serverError),
	awsretry.RetryableConnectionError{},
}

var throttles = awsretry.IsErrorThrottles(awsretry.DefaultThrottles)

// Retryable reports whether err is worth another attempt. It is Do's
// default classifier: an ordered chain of checks in the manner of
// aws-sdk-go-v2's aws/retry, where the first definite answer wins:
//
//  1. an attempt that ran out of Policy.AttemptTimeout (ErrAttemptTimeout):
//     true;
//  2. the caller's own context.Canceled or context.DeadlineExceeded, outside
//     a transport failure: false;
//  3. the SDK's awsretry.DefaultRetryables: a cancelled request is not
//     retried; an error declaring RetryableError() bool is taken at its
//     word; connection errors, HTTP 500, 502, 503 and 504, an unmodeled
//     429, RequestTimeoutException and the throttle codes are retried;
//  4. any other HTTP 5xx, whatever the code: true.
//
// Everything else is not retryable, in particular every 4xx answer that is
// not a throttle: ResourceNotFound, ResourceLimitExceeded,
// ConflictException, ValidationException, AccessDeniedException.
func Retryable(err error) bool {
	return err != nil && retryables.IsErrorRetryable(err) == aws.TrueTernary
}

// IsThrottle reports whether err says the service throttled the request, by
// the SDK's awsretry.DefaultThrottles: one of its throttle codes
// (ThrottlingException, TooManyRequestsException, SlowDown, ...) whatever
// the HTTP status, or an unmodeled HTTP 429.
func IsThrottle(err error) bool {
	return err != nil && throttles.IsErrorThrottle(err) == aws.TrueTernary
}

// IsUnavailable reports whether err says the service or the way to it was
// unavailable for a while: an HTTP 5xx answer, whatever the code; a
// transport failure, by the SDK's awsretry.RetryableConnectionError (a DNS
// "no such host" is not one); an attempt that ran out of
// Policy.AttemptTimeout. A cancelled request and the caller's own context
// errors are not.
func IsUnavailable(err error) bool {
	return err != nil && unavailables.IsErrorRetryable(err) == aws.TrueTernary
}

func attemptTimedOut(err error) aws.Ternary {
	if errors.Is(err, ErrAttemptTimeout) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

// callerContext refuses a context error, which the SDK's connection check
// would take for a timeout, unless it is inside a transport failure (an
// http.Client.Timeout matches context.DeadlineExceeded too).
func callerContext(err error) aws.Ternary {
	var conn interface{ ConnectionError() bool }
	if (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) &&
		!(errors.As(err, &conn) && conn.ConnectionError()) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// serverError retries any HTTP 5xx answer, where the SDK retries only 500,
// 502, 503 and 504.
func serverError(err error) aws.Ternary {
	var resp interface{ HTTPStatusCode() int }
	if errors.As(err, &resp) && resp.HTTPStatusCode() >= 500 && resp.HTTPStatusCode() <= 599 {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}
