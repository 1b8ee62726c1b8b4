package callback

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/stepcallback/sagemaker-callback/callback/internal/names"
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

// Options configure a Client, and one call when given to Fail or Succeed.
type Options struct {
	// Retry is the retry policy: the only retry layer of a call, since
	// Client turns the SDK's own retries off. The zero Policy is
	// retry.DefaultPolicy().
	Retry retry.Policy

	// Logger, when not nil, gets each retry at Warn (attempt, delay, class)
	// and each failed call at Error. The token is logged redacted.
	Logger *slog.Logger

	// RequestToken, when not zero, is sent as the ClientRequestToken instead
	// of the one derived from the request. It is meant for one call (pass it
	// in Fail's or Succeed's optFns); New ignores it.
	RequestToken RequestToken

	// APIOptions are passed to every SDK call, after the option that turns
	// the SDK's retries off (so one of them could turn them back on; don't).
	APIOptions []func(*sagemaker.Options)

	// RetryOptions are passed to retry.Do, for a test's timer or a metrics
	// hook (retry.Options.OnRetry runs besides the logging).
	RetryOptions []func(*retry.Options)
}

// Client completes callback steps: it checks the request, derives its
// ClientRequestToken, sends it through the SDK with retries per its policy,
// and classifies failures. A Client is safe for concurrent use.
type Client struct {
	api   API
	opts  Options
	sdk   []func(*sagemaker.Options) // noSDKRetries, then opts.APIOptions
	ropts []func(*retry.Options)     // retryableOption, then opts.RetryOptions
}

// New returns a Client that calls api, typically a *sagemaker.Client:
//
//	client := callback.New(sagemaker.NewFromConfig(cfg))
func New(api API, optFns ...func(*Options)) *Client {
	c := &Client{api: api}
	for _, fn := range optFns {
		fn(&c.opts)
	}
	c.opts.RequestToken = RequestToken{}
	c.sdk = sdkOptions(c.opts.APIOptions)
	c.ropts = retryOptions(c.opts.RetryOptions)
	return c
}

// noSDKRetries turns the SDK's retries off for one call: the retry policy
// of this package is the only retry layer, so attempts are the policy's (not
// the SDK's 3 times the policy's) and the SDK's retry quota, shared by every
// call of a client, cannot run dry and fail calls under a burst of errors.
func noSDKRetries(o *sagemaker.Options) { o.Retryer = aws.NopRetryer{} }

func sdkOptions(extra []func(*sagemaker.Options)) []func(*sagemaker.Options) {
	return append([]func(*sagemaker.Options){noSDKRetries}, extra...)
}

// retryableOption makes retry.Do use Client's classifier. It comes first, so
// that Options.RetryOptions can replace it.
func retryableOption(ro *retry.Options) { ro.Retryable = retryable }

func retryOptions(extra []func(*retry.Options)) []func(*retry.Options) {
	return append([]func(*retry.Options){retryableOption}, extra...)
}

// callOptions are the options of one call, resolved.
type callOptions struct {
	Options
	sdk   []func(*sagemaker.Options)
	ropts []func(*retry.Options)
}

// options returns the options of one call.
func (c *Client) options(optFns []func(*Options)) callOptions {
	if len(optFns) == 0 {
		return callOptions{c.opts, c.sdk, c.ropts}
	}
	o := c.opts
	o.APIOptions = slices.Clip(o.APIOptions)
	o.RetryOptions = slices.Clip(o.RetryOptions)
	for _, fn := range optFns {
		fn(&o)
	}
	return callOptions{o, sdkOptions(o.APIOptions), retryOptions(o.RetryOptions)}
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
	if err := c.check(ctx, OpFailure, tok, &o.Options); err != nil {
		return ExecutionARN{}, err
	}
	raw := tok.Reveal()
	crt := o.RequestToken.s
	if crt == "" {
		crt = FailureRequestToken(tok, reason).s
	}
	in := &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: &raw, ClientRequestToken: &crt}
	if !reason.IsZero() {
		in.FailureReason = &reason.s
	}
	return c.do(ctx, OpFailure, tok, &o, func(ctx context.Context) (*string, error) {
		out, err := c.api.SendPipelineExecutionStepFailure(ctx, in, o.sdk...)
		if out == nil {
			return nil, err
		}
		return out.PipelineExecutionArn, err
	})
}

// Succeed reports that the step of tok succeeded, with outputs as its output
// parameters, and returns the pipeline execution's ARN.
//
// Before anything is sent, a zero Token or more than 50 outputs are refused
// with an error matching ErrInvalid. Otherwise it behaves as Fail, with a
// ClientRequestToken derived by SuccessRequestToken.
func (c *Client) Succeed(ctx context.Context, tok Token, outputs []Output, optFns ...func(*Options)) (ExecutionARN, error) {
	o := c.options(optFns)
	if err := c.check(ctx, OpSuccess, tok, &o.Options); err != nil {
		return ExecutionARN{}, err
	}
	if err := validate.OutputParameters.CheckCount(len(outputs)); err != nil {
		return ExecutionARN{}, c.refuse(ctx, OpSuccess, tok, &o.Options, err)
	}
	for i := range outputs {
		if !outputs[i].ok {
			err := &validate.Error{Field: "OutputParameters[" + strconv.Itoa(i) + "]", Rule: validate.RuleRequired, Len: -1}
			return ExecutionARN{}, c.refuse(ctx, OpSuccess, tok, &o.Options, err)
		}
	}
	raw := tok.Reveal()
	crt := o.RequestToken.s
	if crt == "" {
		crt = SuccessRequestToken(tok, outputs).s
	}
	in := &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: &raw, ClientRequestToken: &crt}
	if len(outputs) > 0 {
		params := make([]types.OutputParameter, len(outputs))
		for i := range outputs {
			params[i] = types.OutputParameter{Name: &outputs[i].name, Value: &outputs[i].value}
		}
		in.OutputParameters = params
	}
	return c.do(ctx, OpSuccess, tok, &o, func(ctx context.Context) (*string, error) {
		out, err := c.api.SendPipelineExecutionStepSuccess(ctx, in, o.sdk...)
		if out == nil {
			return nil, err
		}
		return out.PipelineExecutionArn, err
	})
}

// className names the class of an attempt's error, for logs.
func className(ctx context.Context, err error) string {
	c, _ := classify(ctx, err)
	return c.Error()
}

func arnOf(p *string) ExecutionARN {
	if p == nil {
		return ExecutionARN{}
	}
	return executionARN(*p)
}

// errNoAPI is the cause of a call on a Client without an API.
var errNoAPI = errors.New("callback: Client has no API: make it with New and a *sagemaker.Client")

// check refuses a call that cannot be sent: no API, or the zero Token.
func (c *Client) check(ctx context.Context, op string, tok Token, o *Options) error {
	switch {
	case c == nil || c.api == nil:
		return &Error{Op: op, Class: ErrInvalid, msg: errNoAPI.Error(), err: errNoAPI}
	case tok.IsZero():
		err := &validate.Error{Field: validate.CallbackToken.String(), Rule: validate.RuleRequired, Len: -1, Secret: true}
		return c.refuse(ctx, op, tok, o, err)
	}
	return nil
}

// refuse returns, and logs, the error of a request refused before sending.
func (c *Client) refuse(ctx context.Context, op string, tok Token, o *Options, cause error) *Error {
	e := &Error{Op: op, Class: ErrInvalid, msg: cause.Error(), err: cause}
	c.logFailure(ctx, o, tok, e)
	return e
}

// logFailure logs a failed call at Error, when there is a logger.
func (c *Client) logFailure(ctx context.Context, o *Options, tok Token, e *Error) {
	if o.Logger == nil {
		return
	}
	o.Logger.LogAttrs(ctx, slog.LevelError, "callback: failed",
		slog.String("op", e.Op),
		slog.Any("token", tok),
		slog.String("class", e.Class.Error()),
		slog.Int("attempts", e.Attempts),
		slog.String("request_id", e.RequestID),
		slog.String("error", e.Error()))
}

// do runs send under the retry policy, logs, and turns a failure into an
// *Error. send returns the answer's PipelineExecutionArn (nil when the answer
// had none).
func (c *Client) do(ctx context.Context, op string, tok Token, o *callOptions, send func(context.Context) (*string, error)) (ExecutionARN, error) {
	ropts := o.ropts
	if o.Logger != nil {
		log := o.Logger
		ropts = append(slices.Clip(ropts), func(ro *retry.Options) {
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
		})
	}
	var arn *string
	err := retry.Do(ctx, o.Retry, func(ctx context.Context) error {
		a, err := send(ctx)
		if err == nil {
			arn = a
		}
		return err
	}, ropts...)
	if err != nil {
		e := newError(ctx, op, err, tok)
		c.logFailure(ctx, &o.Options, tok, e)
		return ExecutionARN{}, e
	}
	return arnOf(arn), nil
}
