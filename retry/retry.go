package retry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Reasons why Do stopped retrying, found in Error.Reason, and the mark of an
// attempt that ran out of its own time.
var (
	// ErrAttemptsExhausted is the Reason when Policy.MaxAttempts attempts
	// all failed with retryable errors.
	ErrAttemptsExhausted = errors.New("retry: attempts exhausted")

	// ErrElapsed is the Reason when the wait before the next attempt would
	// have ended past Policy.MaxElapsedTime.
	ErrElapsed = errors.New("retry: max elapsed time reached")

	// ErrAttemptTimeout is the context.Cause of an attempt's context once
	// Policy.AttemptTimeout has passed (its Err is then
	// context.DeadlineExceeded). When such an attempt fails while the
	// caller's context is live, Do wraps its error so that errors.Is(err,
	// ErrAttemptTimeout) holds; the error stays retryable.
	ErrAttemptTimeout = errors.New("retry: attempt timed out")
)

// Options are the optional settings of Do, set with functional options in
// the SDK's style:
//
//	retry.Do(ctx, p, op, func(o *retry.Options) { o.OnRetry = logWait })
type Options struct {
	// Retryable reports whether an attempt's error is worth another
	// attempt. Nil means the package's Retryable.
	Retryable func(error) bool

	// Timer runs the waits between attempts. Nil means a real time.Timer.
	// Tests inject a fake to make waits deterministic. If the Timer also has
	// a Now() time.Time method (a backoff.Clock), MaxElapsedTime is measured
	// on it rather than on the wall clock. A Timer serves one Do call at a
	// time; Do calls Stop once before it returns.
	Timer Timer

	// OnRetry, if not nil, is called before each wait, from the goroutine
	// that called Do, for logs and metrics.
	OnRetry func(Wait)
}

// Wait describes one wait between two attempts, as passed to Options.OnRetry.
type Wait struct {
	// Attempt is the attempt that just failed, counted from 1.
	Attempt int
	// Delay is how long Do is about to wait before the next attempt.
	Delay time.Duration
	// Err is the error of the attempt that just failed.
	Err error
}

// Timer is the clock Do waits on between attempts: backoff.Timer, so a
// backoff.Timer can be used as is.
type Timer interface {
	// Start arms the timer to fire once after d. Do calls it for every
	// wait, on the same Timer.
	Start(d time.Duration)
	// C returns the channel that receives when the timer fires.
	C() <-chan time.Time
	// Stop releases the timer.
	Stop()
}

// Error is the error Do returns when op did not succeed. It keeps the last
// attempt's error and the reason the loop stopped; errors.Is and errors.As
// see both.
type Error struct {
	// Attempts is the number of attempts made. It is 0 only when the
	// caller's context had already ended before the first attempt.
	Attempts int

	// Err is the last attempt's error, kept even when the caller's context
	// ended. If that attempt ran out of Policy.AttemptTimeout, Err matches
	// ErrAttemptTimeout. Err is nil only when Attempts is 0.
	Err error

	// Reason is why Do stopped retrying:
	//   - nil: Err is not retryable;
	//   - ErrAttemptsExhausted: Policy.MaxAttempts reached;
	//   - ErrElapsed: Policy.MaxElapsedTime reached;
	//   - the caller's ctx.Err() (context.Canceled or
	//     context.DeadlineExceeded) when ctx ended, during an attempt or
	//     during a wait. When the context carries a different cause
	//     (context.WithCancelCause and kin), Reason matches both ctx.Err()
	//     and context.Cause(ctx).
	Reason error
}

// Error describes the stop and the last attempt's error.
func (e *Error) Error() string {
	switch {
	case e.Attempts == 0:
		return fmt.Sprintf("retry: no attempt made: %v", e.Reason)
	case e.Reason == nil:
		return fmt.Sprintf("retry: attempt %d failed, not retryable: %v", e.Attempts, e.Err)
	}
	attempts := "attempts"
	if e.Attempts == 1 {
		attempts = "attempt"
	}
	reason := strings.TrimPrefix(e.Reason.Error(), "retry: ")
	return fmt.Sprintf("retry: stopped after %d %s (%s), last error: %v", e.Attempts, attempts, reason, e.Err)
}

// Unwrap returns the last attempt's error and the reason, whichever are not
// nil, so that errors.Is(err, context.Canceled), errors.Is(err,
// ErrAttemptsExhausted) and errors.As to the service's error all work on
// the result of Do.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Err, e.Reason} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Do calls op until it succeeds, returns an error that is not retryable,
// the policy is used up, or ctx ends. It returns nil on success and a
// *Error otherwise. If ctx has already ended, op is not called.
//
// The package documentation tells how the loop is built on backoff. op may
// return backoff.Permanent(err) to stop it at once, as an error that is not
// retryable does. Each attempt's context ends after p.AttemptTimeout, so op
// must honour its context. When ctx ends, during an attempt or a wait, Do
// returns at once and keeps the last attempt's error in Err.
func Do(ctx context.Context, p Policy, op func(ctx context.Context) error, optFns ...func(*Options)) error {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Retryable == nil {
		o.Retryable = Retryable
	}
	if ctx.Err() != nil {
		return &Error{Reason: contextReason(ctx)}
	}
	p = p.resolve()

	var (
		attempts  int
		last      error
		permanent bool
	)
	try := func() error {
		attempts++
		last = attempt(ctx, p.AttemptTimeout, op)
		var stop *backoff.PermanentError
		if last != nil && ctx.Err() == nil && (errors.As(last, &stop) || !o.Retryable(last)) {
			permanent = true
			return backoff.Permanent(last)
		}
		return last
	}
	notify := func(err error, d time.Duration) {
		if o.OnRetry != nil {
			o.OnRetry(Wait{Attempt: attempts, Delay: d, Err: err})
		}
	}
	if backoff.RetryNotifyWithTimer(try, newBackOff(ctx, p, o.Timer), notify, o.Timer) == nil {
		return nil
	}
	e := &Error{Attempts: attempts, Err: last}
	switch {
	case permanent:
	case ctx.Err() != nil:
		e.Reason = contextReason(ctx)
	case p.MaxAttempts > 0 && attempts >= p.MaxAttempts:
		e.Reason = ErrAttemptsExhausted
	default:
		e.Reason = ErrElapsed
	}
	return e
}

// newBackOff returns the waits of p, which stop at p.MaxAttempts, at
// p.MaxElapsedTime (0, never, for none) or when ctx ends.
func newBackOff(ctx context.Context, p Policy, t Timer) backoff.BackOff {
	var b backoff.BackOff = &backoff.ExponentialBackOff{
		InitialInterval:     p.InitialInterval,
		RandomizationFactor: p.RandomizationFactor,
		Multiplier:          p.Multiplier,
		MaxInterval:         p.MaxInterval,
		MaxElapsedTime:      max(p.MaxElapsedTime, 0),
		Stop:                backoff.Stop,
		Clock:               clockOf(t),
	}
	if p.MaxAttempts > 0 {
		b = backoff.WithMaxRetries(b, uint64(p.MaxAttempts-1))
	}
	return backoff.WithContext(b, ctx)
}

func clockOf(t Timer) backoff.Clock {
	if c, ok := t.(backoff.Clock); ok {
		return c
	}
	return backoff.SystemClock
}

// attempt calls op once, under the per-attempt timeout d (none if d < 0).
func attempt(ctx context.Context, d time.Duration, op func(context.Context) error) error {
	if d < 0 {
		return op(ctx)
	}
	actx, cancel := context.WithTimeoutCause(ctx, d, ErrAttemptTimeout)
	defer cancel()
	err := op(actx)
	if err != nil && ctx.Err() == nil && context.Cause(actx) == ErrAttemptTimeout && !errors.Is(err, ErrAttemptTimeout) {
		err = &timeoutError{d: d, err: err}
	}
	return err
}

// timeoutError is the error of an attempt that ran out of its own time while
// the caller's context was live. It matches ErrAttemptTimeout and what the
// attempt's error matches, except the context errors: the attempt's deadline
// is not the caller's, and errors.Is(err, context.DeadlineExceeded) on Do's
// result asks about the caller's.
type timeoutError struct {
	d   time.Duration
	err error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("%v after %v: %v", ErrAttemptTimeout, e.d, e.err)
}

func (e *timeoutError) Is(target error) bool {
	switch target {
	case ErrAttemptTimeout:
		return true
	case context.DeadlineExceeded, context.Canceled:
		return false
	}
	return errors.Is(e.err, target)
}

func (e *timeoutError) As(target any) bool { return errors.As(e.err, target) }

// contextReason is Error.Reason for a caller's context that has ended:
// ctx.Err(), or ctx.Err() joined with a distinct cause.
func contextReason(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}
