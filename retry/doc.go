// Package retry is the library's one retry layer: a small loop that calls an
// operation until it succeeds, fails for good, runs out of its Policy, or
// its context ends.
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
// On failure Do returns a *Error holding the number of attempts, the last
// attempt's error (Err) and why the loop stopped (Reason: nil for an error
// that is not retryable, ErrAttemptsExhausted, ErrElapsed, or the caller's
// context error). errors.Is and errors.As see both, so
// errors.Is(err, context.Canceled) and errors.As(err, &notFound) work on the
// same value.
//
// # The policy
//
// A zero field of Policy takes its default, so Policy{} is DefaultPolicy():
// 6 attempts in all (DefaultMaxAttempts), waits starting at 250ms and
// doubling up to 10s, ±50% jitter, no new attempt after 2 minutes
// (DefaultMaxElapsedTime), and 15s per attempt (DefaultAttemptTimeout), since
// the SDK's HTTP client sets no read timeout. A negative MaxAttempts,
// MaxElapsedTime, AttemptTimeout or RandomizationFactor means none: no
// attempt limit, no elapsed-time limit, no per-attempt timeout, no jitter.
//
// An attempt that runs out of its AttemptTimeout while the caller's context
// is live is retried, and its error matches ErrAttemptTimeout.
//
// # The classifier
//
// Retryable decides what is worth another attempt, as an ordered chain of
// small checks in the manner of aws-sdk-go-v2's aws/retry: an attempt
// timeout is retried; an error that declares RetryableError() bool is
// taken at its word; a cancelled request is not retried; then throttles
// (IsThrottle: the SDK's throttle codes, whatever the HTTP status, and HTTP
// 429) and unavailability (IsUnavailable: any HTTP 5xx, whatever the code
// or fault, and transport failures) are retried. Everything else is not:
// ResourceNotFound, ResourceLimitExceeded, ConflictException,
// ValidationException, AccessDeniedException, and the caller's own
// context.Canceled and context.DeadlineExceeded.
//
// # Why not backoff.Retry
//
// The intervals come from github.com/cenkalti/backoff/v4's
// ExponentialBackOff, but the loop is this package's own, to close the gaps
// of backoff v4's Retry:
//
//   - no hidden cap: MaxElapsedTime is always the Policy's (backoff's
//     NewExponentialBackOff stops after 15 minutes unless told otherwise);
//   - the context is watched during each wait, and Do returns as soon as it
//     ends, not when the wait is over;
//   - on a cancelled context the last attempt's error is kept in
//     Error.Err, next to the context's error, instead of being replaced by
//     it;
//   - errors are classified (Retryable) rather than retried until marked
//     permanent;
//   - a wait that would end past MaxElapsedTime is not started.
//
// # The only retry layer
//
// Retries stacked on retries multiply: the SDK's 3 attempts under 6 of these
// make 18 requests, and the SDK's shared retry quota can fail calls with
// "retry quota exceeded" under a burst. Callers that use Do should turn the
// SDK's retries off for the call, with
// func(o *sagemaker.Options) { o.Retryer = aws.NopRetryer{} }.
//
// Do is cheap when the first attempt succeeds: besides the per-attempt
// context (3 allocations) and, when options are given, the Options (1), it
// allocates nothing; the backoff state and the timer are made on the first
// failure (TestDoAllocs). The per-attempt timeouts of all calls share one
// timer, armed only when a deadline comes before the one it waits for, so a
// successful attempt arms no timer of its own (TestFailOverhead in package
// callback measured a timer per attempt at a few per cent of a 130 µs call).
package retry
