// Package retry is the library's one retry layer: it calls an operation until
// it succeeds, fails for good, runs out of its Policy, or its context ends.
//
// # The loop
//
// Do takes a context, a Policy and the operation:
//
//	err := retry.Do(ctx, retry.Policy{}, func(ctx context.Context) error {
//		_, err := client.SendPipelineExecutionStepSuccess(ctx, in, func(o *sagemaker.Options) {
//			o.Retryer = aws.NopRetryer{} // this package retries; the SDK must not
//		})
//		return err
//	})
//
// The loop is github.com/cenkalti/backoff/v4's RetryNotifyWithTimer, stopped
// by its WithMaxRetries, WithContext, ExponentialBackOff.MaxElapsedTime and
// Permanent. Each attempt runs under context.WithTimeoutCause, so an attempt
// that runs out of time sees context.DeadlineExceeded with cause
// ErrAttemptTimeout. On failure Do returns a *Error holding the number of
// attempts, the last attempt's error (Err, kept even when the context ended)
// and why the loop stopped (Reason); errors.Is and errors.As see both.
//
// # The policy
//
// A zero field of Policy takes its default, so Policy{} is DefaultPolicy():
// 6 attempts in all, waits starting at 250ms and doubling up to 10s, ±50%
// jitter, no new attempt after 2 minutes, and 15s per attempt, since the
// SDK's HTTP client sets no read timeout. A negative MaxAttempts,
// MaxElapsedTime, AttemptTimeout or RandomizationFactor means none; there is
// no hidden cap.
//
// # The classifier
//
// Retryable is aws-sdk-go-v2's awsretry.DefaultRetryables chain, extended
// with what the SDK leaves out and this package wants: an attempt that timed
// out, and any HTTP 5xx. The caller's own context errors are never retried.
// IsThrottle and IsUnavailable tell the two kinds of passing failure apart.
//
// Retries stacked on the SDK's would multiply, so callers of Do turn the
// SDK's off for the call with aws.NopRetryer, as above.
package retry
