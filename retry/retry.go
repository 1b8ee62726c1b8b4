package retry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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

	// ErrAttemptTimeout marks the error of an attempt that ran past
	// Policy.AttemptTimeout while the caller's context was still live. Do
	// wraps the attempt's error so that errors.Is(err, ErrAttemptTimeout)
	// holds and the original error stays reachable; such an error is
	// retryable. It is also the context.Cause of the attempt's context once
	// the attempt deadline has passed.
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

	// Timer runs the waits between attempts. Nil means a real time.Timer,
	// made at the first wait. Tests inject a fake to make waits
	// deterministic. For each wait Do calls Start, then receives from C or
	// gives up when ctx ends; it calls Stop once before it returns if it
	// waited at all. A Timer must serve one Do call at a time.
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

// Timer is the clock Do waits on between attempts. It has the shape of
// backoff.Timer, so a backoff.Timer can be used as is.
type Timer interface {
	// Start arms the timer to fire once after d. Do calls it for every
	// wait, on the same Timer.
	Start(d time.Duration)
	// C returns the channel that receives when the timer fires.
	C() <-chan time.Time
	// Stop releases the timer; Do calls it once it no longer waits.
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
	var b strings.Builder
	b.WriteString("retry: ")
	switch {
	case e.Attempts == 0:
		b.WriteString("no attempt made: ")
		b.WriteString(errString(e.Reason))
		return b.String()
	case e.Reason == nil:
		b.WriteString("attempt ")
		b.WriteString(strconv.Itoa(e.Attempts))
		b.WriteString(" failed, not retryable: ")
	default:
		b.WriteString("stopped after ")
		b.WriteString(strconv.Itoa(e.Attempts))
		if e.Attempts == 1 {
			b.WriteString(" attempt (")
		} else {
			b.WriteString(" attempts (")
		}
		b.WriteString(strings.TrimPrefix(e.Reason.Error(), "retry: "))
		b.WriteString("), last error: ")
	}
	b.WriteString(errString(e.Err))
	return b.String()
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// Unwrap returns the last attempt's error and the reason, whichever are not
// nil, so that errors.Is(err, context.Canceled), errors.Is(err,
// ErrAttemptsExhausted) and errors.As to the service's error all work on
// the result of Do.
func (e *Error) Unwrap() []error {
	switch {
	case e.Err == nil && e.Reason == nil:
		return nil
	case e.Err == nil:
		return []error{e.Reason}
	case e.Reason == nil:
		return []error{e.Err}
	}
	return []error{e.Err, e.Reason}
}

// Do calls op until it succeeds, returns an error that is not retryable,
// the policy is used up, or ctx ends. It returns nil on success and a
// *Error otherwise.
//
// Each attempt gets a child of ctx that ends after p.AttemptTimeout, so op
// must honour its context. An attempt that fails after its own deadline,
// while ctx is still live, has its error wrapped to match ErrAttemptTimeout
// and is retried. When ctx itself ends, during an attempt or during a wait,
// Do returns at once without another attempt; the *Error keeps the last
// attempt's error in Err and ctx's error in Reason. If ctx has already
// ended when Do is called, op is not called.
//
// Between attempts Do waits for an interval computed by
// backoff.ExponentialBackOff from p. If the wait would end past
// p.MaxElapsedTime, Do stops with ErrElapsed instead of waiting. Elapsed
// time is the wall-clock time since Do started, or the sum of the requested
// waits if that is larger (which is what makes an injected fake Timer
// count).
//
// The first attempt costs no allocation beyond the per-attempt context
// (TestDoAllocs: 3 allocations with an AttemptTimeout, none without);
// the backoff state and the timer are made on the first failure. Do is safe
// for concurrent use.
func Do(ctx context.Context, p Policy, op func(ctx context.Context) error, optFns ...func(*Options)) error {
	p = p.resolve()
	var o Options
	if len(optFns) > 0 {
		po := new(Options)
		for _, fn := range optFns {
			fn(po)
		}
		o = *po
	}
	retryable := o.Retryable
	if retryable == nil {
		retryable = Retryable
	}
	if ctx.Err() != nil {
		return &Error{Reason: contextReason(ctx)}
	}

	var (
		start  = time.Now()
		bo     *backoff.ExponentialBackOff // made on the first failure
		timer  Timer                       // made on the first wait
		waited time.Duration               // sum of the requested waits
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()

	for attempt := 1; ; attempt++ {
		err := runAttempt(ctx, p.AttemptTimeout, op)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return &Error{Attempts: attempt, Err: err, Reason: contextReason(ctx)}
		}
		if !retryable(err) {
			return &Error{Attempts: attempt, Err: err}
		}
		if p.MaxAttempts > 0 && attempt >= p.MaxAttempts {
			return &Error{Attempts: attempt, Err: err, Reason: ErrAttemptsExhausted}
		}

		if bo == nil {
			bo = newBackOff(p)
		}
		delay := bo.NextBackOff()
		if p.MaxElapsedTime > 0 {
			elapsed := time.Since(start)
			if elapsed < waited {
				elapsed = waited
			}
			if elapsed+delay > p.MaxElapsedTime {
				return &Error{Attempts: attempt, Err: err, Reason: ErrElapsed}
			}
		}

		if o.OnRetry != nil {
			o.OnRetry(Wait{Attempt: attempt, Delay: delay, Err: err})
		}
		if timer == nil {
			timer = o.Timer
			if timer == nil {
				timer = new(realTimer)
			}
		}
		timer.Start(delay)
		select {
		case <-ctx.Done():
			return &Error{Attempts: attempt, Err: err, Reason: contextReason(ctx)}
		case <-timer.C():
		}
		waited += delay
	}
}

// runAttempt calls op once, under the per-attempt timeout d (none if d < 0).
func runAttempt(ctx context.Context, d time.Duration, op func(context.Context) error) error {
	if d < 0 {
		return op(ctx)
	}
	actx := attempts.start(ctx, d)
	defer attempts.release(actx)
	err := op(actx)
	if err != nil && actx.Err() != nil && ctx.Err() == nil && !errors.Is(err, ErrAttemptTimeout) {
		err = &attemptTimeoutError{d: d, err: err}
	}
	return err
}

// attemptTimeoutError is an attempt's error when the attempt ran out of its
// own time while the caller's context was live. It matches ErrAttemptTimeout
// and, through Is and As, what the attempt's error matches, except the
// context errors: the attempt's deadline is not the caller's, and a caller
// testing errors.Is(err, context.DeadlineExceeded) asks about its own.
type attemptTimeoutError struct {
	d   time.Duration
	err error
}

func (e *attemptTimeoutError) Error() string {
	return ErrAttemptTimeout.Error() + " after " + e.d.String() + ": " + e.err.Error()
}

func (e *attemptTimeoutError) Is(target error) bool {
	switch target {
	case ErrAttemptTimeout:
		return true
	case context.DeadlineExceeded, context.Canceled:
		return false
	}
	return errors.Is(e.err, target)
}

func (e *attemptTimeoutError) As(target any) bool { return errors.As(e.err, target) }

// contextReason is Error.Reason for a caller's context that has ended:
// ctx.Err(), or ctx.Err() joined with a distinct cause.
func contextReason(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

// newBackOff returns the interval generator for p. Its MaxElapsedTime is 0
// (never stops): Do enforces p.MaxElapsedTime itself, so backoff's default
// 15-minute cap never applies.
func newBackOff(p Policy) *backoff.ExponentialBackOff {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     p.InitialInterval,
		RandomizationFactor: p.RandomizationFactor,
		Multiplier:          p.Multiplier,
		MaxInterval:         p.MaxInterval,
		MaxElapsedTime:      0,
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	b.Reset()
	return b
}

// realTimer is the default Timer, on a time.Timer made at the first Start.
type realTimer struct{ t *time.Timer }

func (r *realTimer) Start(d time.Duration) {
	if r.t == nil {
		r.t = time.NewTimer(d)
		return
	}
	r.t.Reset(d)
}

func (r *realTimer) C() <-chan time.Time { return r.t.C }

func (r *realTimer) Stop() {
	if r.t != nil {
		r.t.Stop()
	}
}
