package callback

import (
	"context"
	"errors"
	"strconv"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"

	"github.com/stepcallback/sagemaker-callback/retry"
	"github.com/stepcallback/sagemaker-callback/validate"
)

// The classes of failure of a completion. Every error that Fail and Succeed
// return matches exactly one of them with errors.Is (or, when the caller's own
// context ended before the service answered, context.Canceled or
// context.DeadlineExceeded). errors.As still reaches the SDK's errors beneath:
// *types.ResourceNotFound, smithy.APIError, *awshttp.ResponseError.
var (
	// ErrConflict: the step was already completed by another request (a
	// different ClientRequestToken), or the ClientRequestToken was used with
	// other parameters. Do not retry: the step's outcome is settled.
	ErrConflict = errors.New("conflict")
	// ErrLimitExceeded: the service's ResourceLimitExceeded, a quota of the
	// account. Not retried; retrying later, or raising the quota, may help.
	ErrLimitExceeded = errors.New("resource limit exceeded")
	// ErrNotFound: the service's ResourceNotFound: no step waits for this
	// token (unknown, expired, or its execution is gone). Not retried.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request breaks the model's rules, found before anything
	// was sent (then also a *validate.Error) or by the service
	// (ValidationException). It is validate.ErrInvalid. Not retried.
	ErrInvalid = validate.ErrInvalid
	// ErrThrottled: the service throttled every attempt the retry policy
	// allowed (ThrottlingException and the like, or HTTP 429). Safe to call
	// again later with the same arguments: the request is idempotent.
	ErrThrottled = errors.New("throttled")
	// ErrAccessDenied: the credentials are missing, invalid, or not allowed to
	// call the operation (AccessDeniedException, HTTP 403 and the signature
	// errors). Not retried.
	ErrAccessDenied = errors.New("access denied")
	// ErrUnavailable: the service answered with a 5xx, the connection failed,
	// or an attempt timed out, on every attempt the policy allowed. The
	// completion may or may not have been recorded: call again with the same
	// arguments, which is safe because the request is idempotent.
	ErrUnavailable = errors.New("unavailable")
	// ErrUnexpected: an answer this package does not classify (an unknown
	// error code, or a response the SDK could not read). The completion may
	// or may not have been recorded; calling again with the same arguments
	// is safe.
	ErrUnexpected = errors.New("unexpected answer")
)

// Error is the error of a completion that failed. Its message names the
// operation, the class, the attempts made and the service's request ID, the
// service's code and message with any echo of the token replaced by the
// token's redacted form, and what the caller can do. It never holds the raw
// token.
type Error struct {
	Op        string // "SendPipelineExecutionStepFailure" or "SendPipelineExecutionStepSuccess"
	Class     error  // one of the Err* classes, or the caller's context error
	Attempts  int    // requests sent; 0 when the request was refused before sending
	RequestID string // the service's request ID of the last answer, or ""
	Code      string // the service's error code of the last answer, or ""

	msg string // the cause, redacted
	err error  // the cause: the chain from the retry loop and the SDK
}

// Error returns "callback: <Op>: <class> after N attempts (request id R): <cause>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("callback: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Class != nil {
		b.WriteString(e.Class.Error())
	}
	switch e.Attempts {
	case 0:
		b.WriteString(", nothing sent")
	case 1:
		b.WriteString(" after 1 attempt")
	default:
		b.WriteString(" after ")
		b.WriteString(strconv.Itoa(e.Attempts))
		b.WriteString(" attempts")
	}
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	if e.msg != "" {
		b.WriteString(": ")
		b.WriteString(e.msg)
	}
	if h := hint(e.Class); h != "" {
		b.WriteString(" (")
		b.WriteString(h)
		b.WriteString(")")
	}
	return b.String()
}

// hint says what the caller can do about an error of class c.
func hint(c error) string {
	switch c {
	case ErrThrottled:
		return "calling again later with the same arguments is safe"
	case ErrUnavailable, ErrUnexpected, context.Canceled, context.DeadlineExceeded:
		return "the completion may or may not be recorded; calling again with the same arguments is safe"
	case ErrConflict:
		return "the step was already completed; its first outcome stands"
	case ErrNotFound:
		return "no step waits for this token"
	}
	return ""
}

// Unwrap returns the class and the cause, so that errors.Is matches the class
// and errors.As reaches the SDK's errors.
func (e *Error) Unwrap() []error {
	if e.Class == nil {
		return []error{e.err}
	}
	return []error{e.Class, e.err}
}

// accessDeniedCodes are the codes of authentication and authorization errors
// that AWS JSON services send.
var accessDeniedCodes = map[string]bool{
	"AccessDeniedException":               true,
	"AccessDenied":                        true,
	"UnrecognizedClientException":         true,
	"InvalidClientTokenId":                true,
	"InvalidSignatureException":           true,
	"SignatureDoesNotMatch":               true,
	"IncompleteSignature":                 true,
	"IncompleteSignatureException":        true,
	"MissingAuthenticationToken":          true,
	"MissingAuthenticationTokenException": true,
	"ExpiredToken":                        true,
	"ExpiredTokenException":               true,
	"NotAuthorized":                       true,
}

// classify returns the class of err, an error from one attempt or from the
// retry loop. The order matters: the caller's context first, then the three
// errors the API declares, then the service's codes, then retry's view of
// throttling and availability.
func classify(ctx context.Context, err error) error {
	var (
		notFound *types.ResourceNotFound
		conflict *types.ConflictException
		limit    *types.ResourceLimitExceeded
		apiErr   smithy.APIError
		respErr  *awshttp.ResponseError
	)
	switch {
	case errors.As(err, &notFound):
		return ErrNotFound
	case errors.As(err, &conflict):
		return ErrConflict
	case errors.As(err, &limit):
		return ErrLimitExceeded
	case errors.Is(err, validate.ErrInvalid):
		return ErrInvalid
	}
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		switch {
		case code == "ValidationException":
			return ErrInvalid
		case accessDeniedCodes[code]:
			return ErrAccessDenied
		}
	}
	switch {
	case retry.IsThrottle(err):
		return ErrThrottled
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return ctx.Err()
	case retry.IsUnavailable(err):
		return ErrUnavailable
	case errors.As(err, &respErr) && respErr.HTTPStatusCode() == 403:
		return ErrAccessDenied
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// A context of the caller's own that is not ctx (it cannot be the
		// attempt's: retry marks those ErrAttemptTimeout).
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return ErrUnexpected
}

// newError builds the error of a failed call. last is the last attempt's
// error, err the whole chain (from retry.Do), raw the token to redact.
func newError(ctx context.Context, op string, err error, tok Token) *Error {
	e := &Error{Op: op, err: err}
	last := err
	var re *retry.Error
	if errors.As(err, &re) {
		e.Attempts = re.Attempts
		if re.Err != nil {
			last = re.Err
		}
	}
	e.Class = classify(ctx, last)
	if ctx.Err() != nil && e.Class != ctx.Err() && errors.Is(err, ctx.Err()) {
		// The caller's context ended during a wait: the class stays that of
		// the last answer, and the message says the call was cut short.
		e.msg = "stopped: " + ctx.Err().Error() + "; last error: "
	}
	var respErr *awshttp.ResponseError
	if errors.As(last, &respErr) {
		e.RequestID = respErr.ServiceRequestID()
	}
	var apiErr smithy.APIError
	if errors.As(last, &apiErr) {
		e.Code = apiErr.ErrorCode()
		e.msg += e.Code
		if m := apiErr.ErrorMessage(); m != "" {
			e.msg += ": " + m
		}
	} else {
		e.msg += last.Error()
	}
	if raw := tok.Reveal(); raw != "" {
		e.msg = strings.ReplaceAll(e.msg, raw, tok.String())
	}
	return e
}
