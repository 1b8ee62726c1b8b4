// Package callback finishes Amazon SageMaker Pipelines callback steps: it
// reports a step's failure (SendPipelineExecutionStepFailure) or success
// (SendPipelineExecutionStepSuccess) so that an invalid request cannot be
// built, a retry is recognised as the same request, and each failure says
// which kind it is.
//
// # The call
//
// A callback step puts a message with a token on an SQS queue. A worker parses
// it, does the job and reports the outcome:
//
//	msg, err := callback.ParseMessage(body)          // token validated, arguments typed
//	...
//	arn, err := callback.Fail(ctx, msg.Token, callback.ReasonFromError(jobErr))
//	arn, err := callback.Succeed(ctx, msg.Token, []callback.Output{callback.MustNewOutput("model", uri)})
//
// The package-level Fail and Succeed use a Client built on first use from the
// standard AWS configuration chain (Default); SetDefault replaces it. Build
// your own with New around any *sagemaker.Client:
//
//	client := callback.New(sagemaker.NewFromConfig(cfg), func(o *callback.Options) {
//		o.Logger = slog.Default()
//	})
//
// # Values that are valid by construction
//
// Each request member has a type checked when it is made, against the rules
// of AWS's service model (see package validate): Token (CallbackToken: 10
// ASCII letters and digits), Reason (FailureReason: at most 256 code points,
// valid UTF-8), Output (an OutputParameter: name up to 256, value up to 1024),
// RequestToken (ClientRequestToken: 32 to 128). Their fields are unexported,
// so a non-zero value was always checked; each type's doc says what its zero
// value means. A Token never shows its value except through Reveal: fmt, slog,
// encoding/json and error messages see a fingerprint. ExecutionARN is the
// answer, parsed against the model's pattern; Message is the SQS body.
//
// # Idempotency
//
// Every request carries a ClientRequestToken, the model's idempotency token,
// derived from the operation, the token and the payload
// (FailureRequestToken, SuccessRequestToken): the same on every attempt and in
// every process, so a retry after a lost answer, or a report repeated by a
// restarted worker with the same reason, is the same request to the service.
// A report with a different payload is a different request. AWS does not
// document what the service answers to a repeat, nor to a second completion
// of a completed step; callbacktest chooses to replay the first answer to a
// repeat and to refuse a different report for a completed step with
// ConflictException (ErrConflict), the first report standing.
// Options.RequestToken, given to one call, overrides the derivation.
//
// # Retries: exactly one layer
//
// The SDK retries on its own: 3 attempts a call, drawn from a retry quota
// that its client shares among all calls and that a burst of failures drains,
// failing calls with "retry quota exceeded". A retry loop stacked on it makes
// 3 × N attempts. So Client turns the SDK's retries off for its calls
// (aws.NopRetryer, after any Options.ClientOptions, which cannot undo it) and
// retries with package retry alone, per Options.Retry (retry.DefaultPolicy
// when zero): throttling, 5xx answers, transport failures and attempts that
// time out are retried with exponential backoff and jitter; everything else
// stops at once.
//
// # Errors
//
// A failed call returns an *Error that matches exactly one class with
// errors.Is: ErrConflict, ErrLimitExceeded and ErrNotFound (the errors the API
// declares), ErrInvalid (a rule broken, found here before sending or by the
// service), ErrThrottled, ErrAccessDenied, ErrUnavailable (5xx, transport
// failures and timeouts that outlasted the policy) and ErrUnexpected; or, when
// the caller's context ended before any answer, context.Canceled or
// context.DeadlineExceeded. When the context ends during a wait between
// attempts, the error matches both the context's error and the class of the
// last answer. errors.As still reaches the SDK's errors beneath
// (*types.ResourceNotFound, smithy.APIError, *awshttp.ResponseError). The
// message names the operation, the class, the attempts and the request ID;
// it is bounded and never shows the raw token (see Error). One table tells
// each class's name in telemetry, whether the Client retries it, and what
// the caller can do: ClassOf reads it, for an error of this package or any
// error that matches a class (the example programs print it). A Succeed
// whose outputs were refused before sending also matches ErrInvalidOutputs.
// A panic of the API (or of a span the SDK finds in the context) is
// recovered and logged: the call fails with ErrUnexpected, the completion
// may or may not be recorded, and calling again is safe.
//
// # Traces and metrics
//
// Options.TracerProvider and Options.MeterProvider take smithy-go's
// interfaces, the SDK's own (connect OpenTelemetry with AWS's adapters,
// smithyoteltracing and smithyotelmetrics). Each Fail or Succeed call makes
// one span, "callback.Fail" or "callback.Succeed", ended when the call
// returns, with an error status on failure and the attributes
// callback.attempts (an int: the requests sent), callback.outcome ("ok", or
// the Name of the error's Class, such as "not_found" or "throttled", and
// "canceled" when the caller's context ended first), callback.operation,
// callback.token.fingerprint and aws.request_id where known. It records
// callback.report.duration (a Float64Histogram, in seconds) and
// callback.report.attempts (an Int64Histogram), both with the attributes
// operation (the AWS operation's name) and outcome. Calls refused before
// sending count too. Give the SageMaker client the same TracerProvider: its
// spans for each attempt then nest under the call's, which is on the context
// the SDK gets. No span name, attribute or event, and no metric attribute,
// shows the raw token, the SDK's spans under the call's included: the SDK's
// operation span records the service's error message, which may echo the
// token (callbacktest's do), so the Client redacts what the SDK's tracer
// records during its calls, whatever the API: a *sagemaker.Client or a
// wrapper of one, traced by a provider of its own or by one that
// ClientOptions set (TestTracingOutcomes, TestSDKSpansRedactedWithoutOurProvider,
// TestWrappedClientSpansRedacted). New makes the tracer and the instruments
// once (TestOneMeterPerClient). With neither provider, nothing is recorded
// and nothing allocated for it (TestNoProvidersNoAllocs).
//
// Telemetry cannot hurt a call: a provider that returns nil tracers, spans,
// meters or instruments acts as none, and a panic of a provider's method,
// called by the Client or by the SDK's middleware on a span the Client gave
// it, is recovered and logged (to Options.Logger, or slog.Default()): the
// call's outcome is what it would have been without it. The spans that a
// provider puts in the context stay its own, for a tracer that finds a
// parent there (tracing.GetSpan). The call's span ends on every path
// (TestMisbehavingProviders).
//
// # Steps that wait
//
// A callback step has no timeout of its own: it waits until its token is
// answered, or its execution reaches its own limit (28 days). Waiting lists
// the steps of a pipeline that wait, with their tokens, read from
// ListPipelineExecutions and ListPipelineExecutionSteps (WaitingAPI, which
// *sagemaker.Client satisfies; API is not widened for it):
//
//	steps, err := callback.Waiting(ctx, sagemaker.NewFromConfig(cfg), "my-pipeline")
//	for _, s := range steps {
//		if time.Since(s.Started) > 24*time.Hour {
//			_, err := client.Fail(ctx, s.Token, callback.MustParseReason("stuck for a day"))
//			// errors.Is(err, ErrConflict): completed meanwhile; its outcome stands
//		}
//	}
//
// The command examples/sweep does this for an operator, and reads a
// dead-letter queue too.
//
// # Testing
//
// Package callbacktest is a local SageMaker for these two calls that the real
// SDK client talks to over loopback HTTP; point a Client at it:
//
//	srv := callbacktest.NewServer()
//	defer srv.Close()
//	client := callback.New(srv.Client())
package callback
