package callback

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/middleware"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback/internal/errtext"
	"github.com/stepcallback/sagemaker-callback/callback/internal/names"
	"github.com/stepcallback/sagemaker-callback/callback/internal/safetel"
	"github.com/stepcallback/sagemaker-callback/callback/internal/typednil"
	"github.com/stepcallback/sagemaker-callback/retry"
	"github.com/stepcallback/sagemaker-callback/validate"
)

// The operations' names, as errors and logs give them.
const (
	OpFailure = names.OpFailure // "SendPipelineExecutionStepFailure"
	OpSuccess = names.OpSuccess // "SendPipelineExecutionStepSuccess"
)

// API is the part of *sagemaker.Client that Client calls. *sagemaker.Client
// satisfies it; so does any wrapper of it.
type API interface {
	// SendPipelineExecutionStepFailure is (*sagemaker.Client).SendPipelineExecutionStepFailure.
	SendPipelineExecutionStepFailure(ctx context.Context, params *sagemaker.SendPipelineExecutionStepFailureInput, optFns ...func(*sagemaker.Options)) (*sagemaker.SendPipelineExecutionStepFailureOutput, error)
	// SendPipelineExecutionStepSuccess is (*sagemaker.Client).SendPipelineExecutionStepSuccess.
	SendPipelineExecutionStepSuccess(ctx context.Context, params *sagemaker.SendPipelineExecutionStepSuccessInput, optFns ...func(*sagemaker.Options)) (*sagemaker.SendPipelineExecutionStepSuccessOutput, error)
}

// Options configure a Client. New reads them once; given to one call of
// Fail or Succeed, they change that call's settings, not the Client's.
type Options struct {
	// Retry is the retry policy: the only retry layer of a call (see the
	// package doc). The zero Policy is retry.DefaultPolicy().
	Retry retry.Policy

	// Logger, when not nil, gets each retry at Warn (attempt, delay, class)
	// and each failed call at Error. The token is logged redacted. A panic
	// of the API or of a telemetry provider is logged to it, or to
	// slog.Default() when it is nil. A panic of its handler is recovered
	// (the record is dropped): it changes no call's outcome.
	Logger *slog.Logger

	// RequestToken, when not zero, is sent as the ClientRequestToken of one
	// call instead of the one derived from the request: pass it in Fail's or
	// Succeed's optFns. A Client made by New with a RequestToken refuses
	// every call (ErrInvalid): one token for every call would tie unrelated
	// completions together.
	RequestToken RequestToken

	// ClientOptions are passed to every SDK call, as the SDK's own per-call
	// optFns (feature/s3/manager's name for them; the SDK's APIOptions,
	// inside sagemaker.Options, are middleware). The Client's own option,
	// which turns the SDK's retries off, runs after them: they cannot turn
	// those back on.
	ClientOptions []func(*sagemaker.Options)

	// RetryOptions are passed to retry.Do, for a test's timer or an OnRetry
	// hook (it runs besides the logging). The Client's classifier is set
	// after them: their Retryable is ignored.
	RetryOptions []func(*retry.Options)

	// TracerProvider, when not nil, gets a span per call (see the package
	// doc); give the SageMaker client the same provider, for its spans to
	// nest under the call's. Nil traces nothing, at no cost. New makes the
	// tracer; a call given another provider makes its own, for that call.
	TracerProvider tracing.TracerProvider

	// MeterProvider, when not nil, gets the metrics of each call (see the
	// package doc). Nil records nothing, at no cost. New makes the
	// instruments; a call given another provider makes its own, for that
	// call.
	MeterProvider metrics.MeterProvider
}

// Client completes callback steps: it checks the request, derives its
// ClientRequestToken, sends it through the SDK with retries per its policy,
// and classifies failures. A Client is safe for concurrent use.
type Client struct {
	api    API
	set    settings // Options as New resolved them
	misuse error    // why every call is refused, or nil
}

// New returns a Client that calls api, typically a *sagemaker.Client:
//
//	client := callback.New(sagemaker.NewFromConfig(cfg))
//
// A Client without an API (nil, or a nil pointer), or given a
// RequestToken, answers every call with an error matching ErrInvalid.
func New(api API, optFns ...func(*Options)) *Client {
	c := &Client{api: api}
	if typednil.Is(api) {
		c.api = nil
	}
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	c.set = resolve(o, nil)
	if !o.RequestToken.IsZero() {
		c.misuse = errClientRequestToken
	}
	return c
}

var (
	errNoAPI              = errors.New("the Client has no API: make it with New and a *sagemaker.Client")
	errClientRequestToken = errors.New("the Client was made with a RequestToken, an option of one call: give it to Fail or Succeed")
)

// settings are the options of one call, with the Client's own options last,
// where the caller's cannot undo them, and the telemetry they record with.
type settings struct {
	Options
	sdk   []func(*sagemaker.Options) // ClientOptions, then noSDKRetries
	retry []func(*retry.Options)     // RetryOptions, then classifier
	tel   *telemetry
}

// resolve returns the settings of o. The telemetry is tel when o's
// providers are tel's, and made from o's otherwise.
func resolve(o Options, tel *telemetry) settings {
	o.Logger = safetel.Logger(o.Logger) // a handler that panics cannot fail a call
	if tel == nil || !tel.madeFrom(&o) {
		tel = newTelemetry(&o)
	}
	return settings{o, append(slices.Clip(o.ClientOptions), noSDKRetries), append(slices.Clip(o.RetryOptions), classifier), tel}
}

// noSDKRetries turns the SDK's retries off for one call (see the package doc).
func noSDKRetries(o *sagemaker.Options) {
	o.Retryer = aws.NopRetryer{}
	o.RetryMaxAttempts = 0
}

// classifier makes retry.Do use the Client's classifier, retryable.
func classifier(o *retry.Options) { o.Retryable = retryable }

// options returns the settings of one call: the Client's, then optFns
// applied to a copy of its Options.
func (c *Client) options(optFns []func(*Options)) *settings {
	if c != nil && len(optFns) == 0 {
		return &c.set
	}
	var (
		o   Options
		tel *telemetry
	)
	if c != nil {
		o, tel = c.set.Options, c.set.tel
	}
	o.ClientOptions = slices.Clip(o.ClientOptions)
	o.RetryOptions = slices.Clip(o.RetryOptions)
	for _, fn := range optFns {
		fn(&o)
	}
	s := resolve(o, tel)
	return &s
}

// Fail reports that the step of tok failed, for reason, and returns the
// pipeline execution's ARN. The zero Reason sends no FailureReason.
//
// Before anything is sent, a zero Token is refused with an error matching
// ErrInvalid. Otherwise the request goes out with a ClientRequestToken derived
// from the operation, the token and the reason (FailureRequestToken), the same
// on every attempt, and is retried per Options.Retry. A failure is an *Error
// matching one class (ErrConflict, ErrNotFound, ErrThrottled, ...).
func (c *Client) Fail(ctx context.Context, tok Token, reason Reason, optFns ...func(*Options)) (ExecutionARN, error) {
	o := c.options(optFns)
	// The strings the input points to, in one allocation.
	s := &struct{ raw, crt, reason string }{tok.Reveal(), o.RequestToken.s, reason.s}
	if s.crt == "" {
		s.crt = FailureRequestToken(tok, reason).s
	}
	in := &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: &s.raw, ClientRequestToken: &s.crt}
	if !reason.IsZero() {
		in.FailureReason = &s.reason
	}
	return c.do(ctx, OpFailure, tok, o, nil, func(ctx context.Context, sdk []func(*sagemaker.Options)) (*string, middleware.Metadata, error) {
		out, err := c.api.SendPipelineExecutionStepFailure(ctx, in, sdk...)
		if out == nil {
			return nil, middleware.Metadata{}, err
		}
		return out.PipelineExecutionArn, out.ResultMetadata, err
	})
}

// Succeed reports that the step of tok succeeded, with outputs as its output
// parameters, and returns the pipeline execution's ARN.
//
// Before anything is sent, a zero Token, a zero Output or more than 50
// outputs are refused with an error matching ErrInvalid. Otherwise it behaves
// as Fail, with a ClientRequestToken derived by SuccessRequestToken.
func (c *Client) Succeed(ctx context.Context, tok Token, outputs []Output, optFns ...func(*Options)) (ExecutionARN, error) {
	o := c.options(optFns)
	refused := validate.OutputParameters.CheckCount(len(outputs))
	s := &struct{ raw, crt string }{tok.Reveal(), o.RequestToken.s} // in one allocation
	if s.crt == "" && refused == nil {
		s.crt = SuccessRequestToken(tok, outputs).s
	}
	in := &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: &s.raw, ClientRequestToken: &s.crt}
	if len(outputs) > 0 && refused == nil {
		in.OutputParameters = make([]types.OutputParameter, len(outputs))
		for i := range outputs {
			if !outputs[i].ok {
				refused = &validate.Error{Field: "OutputParameters[" + strconv.Itoa(i) + "]", Rule: validate.RuleRequired, Len: -1}
				break
			}
			in.OutputParameters[i] = types.OutputParameter{Name: &outputs[i].name, Value: &outputs[i].value}
		}
	}
	if refused != nil {
		refused = refusedOutputs{refused}
	}
	return c.do(ctx, OpSuccess, tok, o, refused, func(ctx context.Context, sdk []func(*sagemaker.Options)) (*string, middleware.Metadata, error) {
		out, err := c.api.SendPipelineExecutionStepSuccess(ctx, in, sdk...)
		if out == nil {
			return nil, middleware.Metadata{}, err
		}
		return out.PipelineExecutionArn, out.ResultMetadata, err
	})
}

// refusal returns why a call cannot be sent, or nil: no API, a misused
// Client, the zero Token, or refused, the caller's own finding.
func (c *Client) refusal(tok Token, refused error) error {
	switch {
	case c == nil || c.api == nil:
		return errNoAPI
	case c.misuse != nil:
		return c.misuse
	case tok.IsZero():
		return &validate.Error{Field: validate.CallbackToken.String(), Rule: validate.RuleRequired, Len: -1, Secret: true}
	}
	return refused
}

// do sends the request under the retry policy, unless it is refused, logs,
// traces, and turns a failure into an *Error. send returns the answer's
// PipelineExecutionArn (nil when the answer had none) and metadata.
func (c *Client) do(ctx context.Context, op string, tok Token, o *settings, refused error, send sender) (ExecutionARN, error) {
	if !o.tel.on() {
		r := c.call(ctx, op, tok, o, refused, send)
		return r.arn, errOrNil(r.err)
	}
	began := time.Now()
	ctx, span := o.tel.start(ctx, op, tok)
	var r result
	returned := false
	defer func() {
		out := unexpected.Name // the API called runtime.Goexit
		if returned {
			out = outcome(ctx, r.err)
		}
		o.tel.end(ctx, span, began, op, r.sent, out, r.requestID)
	}()
	r = c.call(ctx, op, tok, o, refused, send)
	returned = true
	return r.arn, errOrNil(r.err)
}

// sender sends one request with the SDK's optFns.
type sender func(context.Context, []func(*sagemaker.Options)) (*string, middleware.Metadata, error)

// result is how a call ended: the answer's ARN, the requests sent, the last
// request id, and the error.
type result struct {
	arn       ExecutionARN
	sent      int
	requestID string
	err       *Error
}

// errOrNil returns e as an error, or nil.
func errOrNil(e *Error) error {
	if e == nil {
		return nil
	}
	return e
}

// call is do without the span and the metrics.
func (c *Client) call(ctx context.Context, op string, tok Token, o *settings, refused error, send sender) result {
	if cause := c.refusal(tok, refused); cause != nil {
		e := &Error{Op: op, Class: ErrInvalid, msg: cause.Error(), err: cause}
		logFailure(ctx, o.Logger, tok, e)
		return result{err: e}
	}
	ropts := o.retry
	if o.Logger != nil {
		ropts = append(slices.Clip(ropts), func(ro *retry.Options) { logRetries(ctx, o.Logger, op, tok, ro) })
	}
	// The SDK may trace, whatever the API: its spans are made safe and
	// redacted (see guardSDKSpans).
	sdk := append(slices.Clip(o.sdk), guardSDKSpans(tok, o.Logger))
	var r result
	var arn *string
	err := retry.Do(ctx, o.Retry, func(ctx context.Context) error {
		r.sent++
		a, md, err := sendSafely(ctx, op, tok, o.Logger, send, sdk)
		if err == nil {
			arn = a
			r.requestID, _ = awsmiddleware.GetRequestIDMetadata(md)
		}
		return err
	}, ropts...)
	if err != nil {
		e := newError(ctx, op, err, tok)
		logFailure(ctx, o.Logger, tok, e)
		return result{sent: e.Attempts, requestID: e.RequestID, err: e}
	}
	if arn != nil {
		r.arn = executionARN(*arn)
	}
	return r
}

// sendSafely calls send, and turns a panic (of the API, or of a span the SDK
// found in the context) into an error of class ErrUnexpected, logged: the
// request may have been recorded (see apiPanic).
func sendSafely(ctx context.Context, op string, tok Token, log *slog.Logger, send sender, sdk []func(*sagemaker.Options)) (arn *string, md middleware.Metadata, err error) {
	defer func() {
		if v := recover(); v != nil {
			p := &apiPanic{text: tok.Redact(errtext.Value(v))}
			err = p
			logPanic(ctx, log, op, tok, p.text)
		}
	}()
	return send(ctx, sdk)
}

// apiPanic is the error of an attempt whose API panicked. The request may or
// may not have reached the service: classify counts it as sent.
type apiPanic struct {
	text string // the panic's text, redacted
}

func (p *apiPanic) Error() string { return "the API panicked: " + p.text }

// logPanic logs a panic of the API at Error, to log or slog.Default(); a
// Logger that panics in turn is ignored.
func logPanic(ctx context.Context, log *slog.Logger, op string, tok Token, text string) {
	if log == nil {
		log = slog.Default()
	}
	defer func() { _ = recover() }()
	log.LogAttrs(ctx, slog.LevelError, "callback: the API panicked; the call fails, the completion may or may not be recorded",
		slog.String("op", op), slog.Any("token", tok), slog.String("panic", text))
}

// logRetries makes ro log each retry at Warn, besides its OnRetry.
func logRetries(ctx context.Context, log *slog.Logger, op string, tok Token, ro *retry.Options) {
	next := ro.OnRetry
	ro.OnRetry = func(w retry.Wait) {
		log.LogAttrs(ctx, slog.LevelWarn, "callback: retrying",
			slog.String("op", op),
			slog.Any("token", tok),
			slog.Int("attempt", w.Attempt),
			slog.Duration("delay", w.Delay),
			slog.String("class", className(ctx, w.Err)))
		if next != nil {
			next(w)
		}
	}
}

// className names the class of an attempt's error, for logs.
func className(ctx context.Context, err error) string {
	c, _ := classify(ctx, err)
	return c.Error()
}

// logFailure logs a failed call at Error, when there is a logger.
func logFailure(ctx context.Context, log *slog.Logger, tok Token, e *Error) {
	if log == nil {
		return
	}
	log.LogAttrs(ctx, slog.LevelError, "callback: failed",
		slog.String("op", e.Op),
		slog.Any("token", tok),
		slog.String("class", e.Class.Error()),
		slog.Int("attempts", e.Attempts),
		slog.String("request_id", e.RequestID),
		slog.String("error", e.Error()))
}
