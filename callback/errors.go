package callback

import (
	"context"
	"errors"
	"strconv"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"

	"github.com/stepcallback/sagemaker-callback/callback/internal/errtext"
	"github.com/stepcallback/sagemaker-callback/retry"
	"github.com/stepcallback/sagemaker-callback/validate"
)

// The classes of failure of a completion. Every error that Fail and Succeed
// return matches exactly one of them with errors.Is (or, when the caller's own
// context ended before the service answered, context.Canceled or
// context.DeadlineExceeded). errors.As still reaches the SDK's errors beneath:
// *types.ResourceNotFound, smithy.APIError, *awshttp.ResponseError.
var (
	// ErrConflict: the service's ConflictException. AWS does not document
	// when it sends it for these calls; callbacktest sends it for a second
	// completion of a completed step and for a ClientRequestToken reused with
	// other parameters. Not retried.
	ErrConflict = errors.New("conflict")
	// ErrLimitExceeded: the service's ResourceLimitExceeded, a quota of the
	// account. Not retried; retrying later, or raising the quota, may help.
	ErrLimitExceeded = errors.New("resource limit exceeded")
	// ErrNotFound: the service's ResourceNotFound: no step waits for this
	// token. Not retried.
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
	// errors), or the AWS configuration that provides them could not be
	// loaded. Not retried.
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

// Class is one class of failure of a completion, as one table tells it for
// errors, telemetry and command-line text alike.
type Class struct {
	// Err is what errors.Is matches: one of the Err* classes, or
	// context.Canceled or context.DeadlineExceeded.
	Err error
	// Name is the outcome's name in spans and metrics (see the package
	// doc): "not_found", "throttled", ...
	Name string
	// Retryable tells whether a Client retries an answer of this class,
	// per Options.Retry: an error of a retryable class means the policy's
	// attempts ran out.
	Retryable bool
	// Hint says what the caller can do, as Error's message ends with it.
	Hint string
}

// maybeRecorded is the hint of the classes after which the service may or
// may not have recorded the completion.
const maybeRecorded = "the completion may or may not be recorded; calling again with the same arguments is safe"

// classes is the table of the classes, in the order ClassOf tries them.
var classes = []Class{
	{ErrNotFound, "not_found", false, "no step waits for this token: it is unknown, expired, or its execution is gone"},
	{ErrConflict, "conflict", false, "the step was already completed; its first outcome stands"},
	{ErrThrottled, "throttled", true, "calling again later with the same arguments is safe"},
	{ErrUnavailable, "unavailable", true, maybeRecorded},
	{ErrAccessDenied, "access_denied", false, "check the credentials and the IAM policy (sagemaker:SendPipelineExecutionStep*)"},
	{ErrLimitExceeded, "limit_exceeded", false, "an account quota was reached; calling again later, or raising the quota, may help"},
	{ErrInvalid, "invalid", false, "the request breaks the API's rules: calling again with the same arguments fails the same way"},
	{ErrUnexpected, "unexpected", false, maybeRecorded},
	{context.DeadlineExceeded, "canceled", false, maybeRecorded},
	{context.Canceled, "canceled", false, maybeRecorded},
}

// ClassOf returns the class of err and true: for an *Error, the class of
// its Class field; otherwise the first class that errors.Is matches. It
// returns the zero Class and false when none matches.
func ClassOf(err error) (Class, bool) {
	var e *Error
	if errors.As(err, &e) && e.Class != nil {
		if c, ok := classOf(e.Class); ok {
			return c, true
		}
	}
	for _, c := range classes {
		if errors.Is(err, c.Err) {
			return c, true
		}
	}
	return Class{}, false
}

// classOf returns the row of the class class (==, not errors.Is).
func classOf(class error) (Class, bool) {
	for _, c := range classes {
		if c.Err == class {
			return c, true
		}
	}
	return Class{}, false
}

// ErrInvalidOutputs matches the error of a Succeed whose outputs were
// refused before anything was sent (a zero Output, or more than 50): no
// retry makes them valid. Such an error's class is ErrInvalid, which it
// matches too.
var ErrInvalidOutputs = errors.New("invalid outputs")

// refusedOutputs is the cause of such an error: its text is err's, and
// errors.Is matches ErrInvalidOutputs and what err matches.
type refusedOutputs struct{ err error }

func (r refusedOutputs) Error() string   { return r.err.Error() }
func (r refusedOutputs) Unwrap() []error { return []error{ErrInvalidOutputs, r.err} }

// Error is the error of a completion that failed. Its message names the
// operation, the class, the attempts made and the service's request ID, the
// service's code and message, and what the caller can do. It never shows the
// raw token, which the service's message may echo (callbacktest's do), and
// the service's text in it is cut to a bound. The errors beneath it, which
// errors.As reaches (the SDK's, and smithy.APIError's ErrorMessage), are the
// SDK's own and may echo the token: log this error, not those.
type Error struct {
	Op        string // "SendPipelineExecutionStepFailure" or "SendPipelineExecutionStepSuccess"
	Class     error  // one of the Err* classes, or the caller's context error
	Attempts  int    // requests sent; 0 when nothing was sent (refused here, or the SDK failed before sending)
	RequestID string // the service's request ID of the last answer (at most 128 bytes), or ""
	Code      string // the service's error code of the last answer (at most 128 bytes), or ""

	msg string // the cause, redacted
	err error  // the cause: the chain from the retry loop and the SDK
}

// Error returns "callback: <Op>: <class> after N attempts (request id R): <cause>".
func (e *Error) Error() string {
	s := "callback: " + e.Op + ": "
	if e.Class != nil {
		s += e.Class.Error()
	}
	switch e.Attempts {
	case 0:
		s += ", nothing sent"
	case 1:
		s += " after 1 attempt"
	default:
		s += " after " + strconv.Itoa(e.Attempts) + " attempts"
	}
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	if e.msg != "" {
		s += ": " + e.msg
	}
	if h := e.hint(); h != "" {
		s += " (" + h + ")"
	}
	return s
}

// nothingRecorded is the hint of an error after which nothing was sent,
// unless its class says more (ErrAccessDenied, ErrInvalid).
const nothingRecorded = "nothing was recorded; calling again with the same arguments is safe"

// hint says what the caller can do about e: its class's Hint, or, when
// nothing was sent and the class is not one found before sending,
// nothingRecorded.
func (e *Error) hint() string {
	c, _ := classOf(e.Class)
	if e.Attempts == 0 && c.Err != ErrAccessDenied && c.Err != ErrInvalid {
		return nothingRecorded
	}
	return c.Hint
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
// retry loop, and whether the attempt reached the network. The order matters:
// the three errors the API declares, then the service's codes, then
// throttling, the caller's context, failures before sending, and retry's view
// of availability. A panic of the API is unexpected, and may have been sent.
func classify(ctx context.Context, err error) (class error, sent bool) {
	var (
		panicked *apiPanic
		notFound *types.ResourceNotFound
		conflict *types.ConflictException
		limit    *types.ResourceLimitExceeded
		apiErr   smithy.APIError
		respErr  *awshttp.ResponseError
	)
	switch {
	case errors.As(err, &panicked):
		return ErrUnexpected, true // it may have been sent
	case errors.As(err, &notFound):
		return ErrNotFound, true
	case errors.As(err, &conflict):
		return ErrConflict, true
	case errors.As(err, &limit):
		return ErrLimitExceeded, true
	case errors.Is(err, validate.ErrInvalid):
		return ErrInvalid, reached(err)
	}
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		switch {
		case code == "ValidationException":
			return ErrInvalid, true
		case accessDeniedCodes[code]:
			return ErrAccessDenied, true
		}
	}
	switch {
	case retry.IsThrottle(err):
		return ErrThrottled, true
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return ctx.Err(), true // it may have been sent
	case !reached(err):
		// The SDK failed before sending: credentials, region, endpoint,
		// signing. It wraps a failure to get credentials as "get identity:"
		// and gives it no type of its own.
		if strings.Contains(errtext.Of(err), "get identity") {
			return ErrAccessDenied, false
		}
		return ErrUnexpected, false
	case retry.IsUnavailable(err):
		return ErrUnavailable, true
	case errors.As(err, &respErr) && respErr.HTTPStatusCode() == 403:
		return ErrAccessDenied, true
	}
	return ErrUnexpected, true
}

// reached reports whether an attempt's error shows that the request reached
// the network: the SDK puts an *awshttp.ResponseError (status 0 for a
// transport failure) around every error after sending, and nothing around
// the errors of the steps before; an attempt cut by its timeout counts too.
func reached(err error) bool {
	var respErr *awshttp.ResponseError
	return errors.As(err, &respErr) || errors.Is(err, retry.ErrAttemptTimeout)
}

// retryable is the retry policy's classifier for Client: retry's, except
// for failures before sending (a missing credential found again and again
// through IMDS is not worth the waits).
func retryable(err error) bool {
	return retry.Retryable(err) && reached(err)
}

// newError builds the error of a failed call from err, the whole chain
// (from retry.Do), whose last attempt's error gives the class, the request
// ID and the service's code and message; tok is the token to redact.
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
	var sent bool
	e.Class, sent = classify(ctx, last)
	if !sent && e.Attempts > 0 {
		// The last attempt never left: it is not counted. The ones before
		// it, if any, were sent (a failure before sending is not retried).
		e.Attempts--
	}
	if ctx.Err() != nil && e.Class != ctx.Err() && errors.Is(err, ctx.Err()) {
		// The caller's context ended during a wait: the class stays that of
		// the last answer, and the message says the call was cut short.
		e.msg = "stopped: " + ctx.Err().Error() + "; last error: "
	}
	var respErr *awshttp.ResponseError
	if errors.As(last, &respErr) {
		e.RequestID = quote(respErr.ServiceRequestID(), tok, 128)
	}
	var apiErr smithy.APIError
	if errors.As(last, &apiErr) {
		e.Code = quote(apiErr.ErrorCode(), tok, 128)
		e.msg += e.Code
		if m := apiErr.ErrorMessage(); m != "" {
			e.msg += ": " + m
		}
	} else {
		e.msg += errtext.Of(last)
	}
	e.msg = quote(e.msg, tok, 1024)
	return e
}

// quote returns s, text from the service or the SDK, with the raw token
// replaced by its redacted form and cut to at most max bytes: an Error never
// shows the token nor carries unbounded text (TestErrorBoundsServiceText).
func quote(s string, tok Token, max int) string {
	s = tok.Redact(s)
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + " …[" + strconv.Itoa(len(s)-max) + " bytes cut]"
}
