package retry_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
	"github.com/cenkalti/backoff/v4"
	"github.com/stepcallback/sagemaker-callback/retry"
)

// exact is a policy without jitter, for exact delays.
func exact(p retry.Policy) retry.Policy {
	p.RandomizationFactor = -1
	return p
}

// failing returns an op that fails with errs in turn, then succeeds, and a
// counter of its calls.
func failing(errs ...error) (func(context.Context) error, *atomic.Int32) {
	var n atomic.Int32
	return func(context.Context) error {
		i := int(n.Add(1)) - 1
		if i < len(errs) {
			return errs[i]
		}
		return nil
	}, &n
}

func always(err error) (func(context.Context) error, *atomic.Int32) {
	var n atomic.Int32
	return func(context.Context) error {
		n.Add(1)
		return err
	}, &n
}

func withTimer(t retry.Timer) func(*retry.Options) {
	return func(o *retry.Options) { o.Timer = t }
}

func asError(t *testing.T, err error) *retry.Error {
	t.Helper()
	var re *retry.Error
	if !errors.As(err, &re) {
		t.Fatalf("err = %T %v, want *retry.Error", err, err)
	}
	return re
}

func TestDoSuccessFirstTry(t *testing.T) {
	op, calls := failing()
	timer := newFakeTimer(true)
	var waits int
	err := retry.Do(context.Background(), retry.Policy{}, op, withTimer(timer), func(o *retry.Options) {
		o.OnRetry = func(retry.Wait) { waits++ }
	})
	if err != nil {
		t.Fatalf("Do = %v, want nil", err)
	}
	if calls.Load() != 1 || waits != 0 || len(timer.Delays()) != 0 {
		t.Errorf("calls %d, OnRetry %d, timer starts %d; want 1, 0, 0", calls.Load(), waits, len(timer.Delays()))
	}
}

func TestDoRetryThenSuccess(t *testing.T) {
	e1, e2 := throttle(), apiErr(503, "ServiceUnavailable")
	op, calls := failing(e1, e2)
	timer := newFakeTimer(false) // fired by hand below
	var waits []retry.Wait
	done := make(chan error, 1)
	go func() {
		done <- retry.Do(context.Background(), exact(retry.Policy{}), op, withTimer(timer), func(o *retry.Options) {
			o.OnRetry = func(w retry.Wait) { waits = append(waits, w) }
		})
	}()
	for _, want := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond} {
		if got := <-timer.started; got != want {
			t.Errorf("wait = %v, want %v", got, want)
		}
		timer.fire()
	}
	if err := <-done; err != nil {
		t.Fatalf("Do = %v, want nil", err)
	}
	if calls.Load() != 3 {
		t.Errorf("calls = %d, want 3", calls.Load())
	}
	want := []retry.Wait{
		{Attempt: 1, Delay: 250 * time.Millisecond, Err: e1},
		{Attempt: 2, Delay: 500 * time.Millisecond, Err: e2},
	}
	if !reflect.DeepEqual(waits, want) {
		t.Errorf("OnRetry got %+v, want %+v", waits, want)
	}
	if timer.Stopped() != 1 {
		t.Errorf("timer stopped %d times, want 1", timer.Stopped())
	}
}

func TestDoMaxAttemptsCountsTheFirst(t *testing.T) {
	for _, max := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			last := throttle()
			op, calls := always(last)
			timer := newFakeTimer(true)
			err := retry.Do(context.Background(), retry.Policy{MaxAttempts: max}, op, withTimer(timer))
			re := asError(t, err)
			if int(calls.Load()) != max || re.Attempts != max {
				t.Errorf("calls %d, Attempts %d, want %d", calls.Load(), re.Attempts, max)
			}
			if len(timer.Delays()) != max-1 {
				t.Errorf("waits = %d, want %d", len(timer.Delays()), max-1)
			}
			if re.Reason != retry.ErrAttemptsExhausted || !errors.Is(err, retry.ErrAttemptsExhausted) {
				t.Errorf("Reason = %v, want ErrAttemptsExhausted", re.Reason)
			}
			if re.Err != last {
				t.Errorf("Err = %v, want the last error", re.Err)
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" {
				t.Errorf("errors.As(APIError) failed on %v", err)
			}
		})
	}
}

func TestDoNotRetryableStopsAtOnce(t *testing.T) {
	notFound := opErr(respErr(400, &types.ResourceNotFound{Message: smithyString("no such callback token")}))
	op, calls := always(notFound)
	timer := newFakeTimer(true)
	err := retry.Do(context.Background(), retry.Policy{}, op, withTimer(timer))
	re := asError(t, err)
	if calls.Load() != 1 || re.Attempts != 1 || re.Reason != nil || len(timer.Delays()) != 0 {
		t.Errorf("calls %d, %+v, waits %d; want 1 call, Attempts 1, Reason nil, no wait", calls.Load(), re, len(timer.Delays()))
	}
	var rnf *types.ResourceNotFound
	if !errors.As(err, &rnf) {
		t.Errorf("errors.As(*types.ResourceNotFound) failed on %v", err)
	}
}

func smithyString(s string) *string { return &s }

func TestDoCustomRetryable(t *testing.T) {
	plain := errors.New("plain")
	op, calls := failing(plain, plain)
	err := retry.Do(context.Background(), retry.Policy{}, op, withTimer(newFakeTimer(true)), func(o *retry.Options) {
		o.Retryable = func(err error) bool { return err == plain }
	})
	if err != nil || calls.Load() != 3 {
		t.Errorf("Do = %v after %d calls, want nil after 3", err, calls.Load())
	}
}

func TestDoCancelDuringWait(t *testing.T) {
	last := throttle()
	op, calls := always(last)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := retry.Policy{InitialInterval: time.Hour, MaxInterval: time.Hour, MaxElapsedTime: -1}
	var cancelled time.Time
	err := retry.Do(ctx, p, op, func(o *retry.Options) {
		// Real timer; cancel shortly after the hour-long wait has begun.
		o.OnRetry = func(retry.Wait) {
			time.AfterFunc(20*time.Millisecond, func() {
				cancelled = time.Now()
				cancel()
			})
		}
	})
	took := time.Since(cancelled)
	if took > 250*time.Millisecond {
		t.Errorf("Do returned %v after cancel, want milliseconds", took)
	}
	t.Logf("returned %v after cancel", took)
	re := asError(t, err)
	if calls.Load() != 1 || re.Attempts != 1 {
		t.Errorf("calls %d, Attempts %d, want 1", calls.Load(), re.Attempts)
	}
	if !errors.Is(err, context.Canceled) || re.Reason != context.Canceled {
		t.Errorf("err = %v, Reason %v; want context.Canceled", err, re.Reason)
	}
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" || re.Err != last {
		t.Errorf("the last error is lost: %v", err)
	}
}

func TestDoCancelDuringAttempt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	op := func(ctx context.Context) error {
		calls.Add(1)
		cancel()
		<-ctx.Done()
		return opErr(&smithy.CanceledError{Err: ctx.Err()})
	}
	err := retry.Do(ctx, retry.Policy{}, op, withTimer(newFakeTimer(true)))
	re := asError(t, err)
	if calls.Load() != 1 || re.Attempts != 1 || re.Reason != context.Canceled {
		t.Errorf("calls %d, %+v; want 1 call, Attempts 1, Reason context.Canceled", calls.Load(), re)
	}
	var ce *smithy.CanceledError
	if !errors.As(err, &ce) || errors.Is(err, retry.ErrAttemptTimeout) {
		t.Errorf("Err = %v, want the SDK's CanceledError, not an attempt timeout", re.Err)
	}
}

func TestDoCancelCause(t *testing.T) {
	cause := errors.New("worker shutting down")
	ctx, cancel := context.WithCancelCause(context.Background())
	op, _ := always(throttle())
	err := retry.Do(ctx, retry.Policy{}, op, func(o *retry.Options) {
		o.Timer = newFakeTimer(false) // never fires
		o.OnRetry = func(retry.Wait) { cancel(cause) }
	})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, cause) {
		t.Errorf("err = %v, want both context.Canceled and the cause", err)
	}
	if want := "worker shutting down"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to mention %q", err, want)
	}
}

func TestDoContextAlreadyDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	op, calls := always(nil)
	err := retry.Do(ctx, retry.Policy{}, op)
	re := asError(t, err)
	if calls.Load() != 0 || re.Attempts != 0 || re.Err != nil || !errors.Is(err, context.Canceled) {
		t.Errorf("calls %d, %+v; want no call, Attempts 0, Err nil, Reason context.Canceled", calls.Load(), re)
	}
	if got, want := err.Error(), "retry: no attempt made: context canceled"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestDoCallerDeadlineDuringAttempt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	var calls atomic.Int32
	op := func(ctx context.Context) error {
		calls.Add(1)
		<-ctx.Done()
		return ctx.Err()
	}
	// The attempt timeout is longer than the caller's deadline: the caller's
	// deadline is what ends the attempt, so it is not an attempt timeout.
	err := retry.Do(ctx, retry.Policy{AttemptTimeout: time.Hour}, op, withTimer(newFakeTimer(true)))
	re := asError(t, err)
	if calls.Load() != 1 || re.Reason != context.DeadlineExceeded || errors.Is(err, retry.ErrAttemptTimeout) {
		t.Errorf("calls %d, err %v; want 1 call, Reason DeadlineExceeded, no ErrAttemptTimeout", calls.Load(), err)
	}
}

func TestDoAttemptTimeoutCutsHungOp(t *testing.T) {
	var calls atomic.Int32
	var causes, ctxErrs []error
	op := func(ctx context.Context) error {
		if calls.Add(1) <= 2 {
			<-ctx.Done() // hung connection: only the deadline ends it
			causes, ctxErrs = append(causes, context.Cause(ctx)), append(ctxErrs, ctx.Err())
			return opErr(&smithy.CanceledError{Err: ctx.Err()})
		}
		return nil
	}
	var waits []retry.Wait
	start := time.Now()
	err := retry.Do(context.Background(), retry.Policy{AttemptTimeout: 20 * time.Millisecond}, op, func(o *retry.Options) {
		o.Timer = newFakeTimer(true)
		o.OnRetry = func(w retry.Wait) { waits = append(waits, w) }
	})
	if err != nil {
		t.Fatalf("Do = %v, want nil", err)
	}
	if calls.Load() != 3 || len(waits) != 2 {
		t.Fatalf("calls %d, waits %d; want 3, 2", calls.Load(), len(waits))
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
	for i, w := range waits {
		if !errors.Is(w.Err, retry.ErrAttemptTimeout) {
			t.Errorf("wait %d: Err = %v, want ErrAttemptTimeout wrapping the SDK's error", i, w.Err)
		}
		// The attempt's deadline is not the caller's: the error must not
		// pass for the caller's context running out.
		if errors.Is(w.Err, context.DeadlineExceeded) || errors.Is(w.Err, context.Canceled) {
			t.Errorf("wait %d: an attempt timeout matches a context error: %v", i, w.Err)
		}
		var ce *smithy.CanceledError
		if !errors.As(w.Err, &ce) {
			t.Errorf("wait %d: the original error is not reachable: %v", i, w.Err)
		}
		if causes[i] != retry.ErrAttemptTimeout || ctxErrs[i] != context.DeadlineExceeded {
			t.Errorf("attempt %d: context Err %v, Cause %v; want DeadlineExceeded, ErrAttemptTimeout", i+1, ctxErrs[i], causes[i])
		}
	}
	if got := waits[0].Err.Error(); !strings.HasPrefix(got, "retry: attempt timed out after 20ms: operation error SageMaker") {
		t.Errorf("Err.Error() = %q", got)
	}
}

func TestDoAttemptTimeoutExhausted(t *testing.T) {
	op := func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}
	err := retry.Do(context.Background(), retry.Policy{MaxAttempts: 2, AttemptTimeout: 5 * time.Millisecond}, op,
		withTimer(newFakeTimer(true)))
	re := asError(t, err)
	if re.Attempts != 2 || re.Reason != retry.ErrAttemptsExhausted || !errors.Is(re.Err, retry.ErrAttemptTimeout) {
		t.Errorf("got %+v; want 2 attempts, ErrAttemptsExhausted, Err matching ErrAttemptTimeout", re)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("err matches context.Canceled: %v", err)
	}
}

func TestDoAttemptContext(t *testing.T) {
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "v")
	check := func(t *testing.T, p retry.Policy, wantDeadline time.Duration) {
		t.Helper()
		var deadline time.Time
		var ok bool
		before := time.Now()
		err := retry.Do(parent, p, func(ctx context.Context) error {
			if ctx.Value(key{}) != "v" {
				t.Error("the attempt context is not a child of the caller's")
			}
			deadline, ok = ctx.Deadline()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case wantDeadline < 0 && ok:
			t.Errorf("attempt has a deadline %v, want none", deadline)
		case wantDeadline > 0 && !ok:
			t.Errorf("attempt has no deadline, want %v", wantDeadline)
		case wantDeadline > 0:
			if d := deadline.Sub(before); d < wantDeadline || d > wantDeadline+time.Second {
				t.Errorf("attempt deadline in %v, want %v", d, wantDeadline)
			}
		}
	}
	check(t, retry.Policy{}, retry.DefaultAttemptTimeout)
	check(t, retry.Policy{AttemptTimeout: 3 * time.Second}, 3*time.Second)
	check(t, retry.Policy{AttemptTimeout: -1}, -1)
}

func TestDoMaxElapsedTime(t *testing.T) {
	// Waits of exactly one minute; the fourth would end at 4m > 3m30s.
	p := exact(retry.Policy{MaxAttempts: -1, InitialInterval: time.Minute, Multiplier: 1, MaxElapsedTime: 3*time.Minute + 30*time.Second})
	op, calls := always(throttle())
	timer := newFakeTimer(true)
	err := retry.Do(context.Background(), p, op, withTimer(timer))
	re := asError(t, err)
	if re.Reason != retry.ErrElapsed || !errors.Is(err, retry.ErrElapsed) || calls.Load() != 4 || re.Attempts != 4 {
		t.Errorf("calls %d, %+v; want 4 attempts, ErrElapsed", calls.Load(), re)
	}
	want := []time.Duration{time.Minute, time.Minute, time.Minute}
	if got := timer.Delays(); !reflect.DeepEqual(got, want) {
		t.Errorf("waits = %v, want %v (no wait past MaxElapsedTime)", got, want)
	}
}

func TestDoNoHiddenFifteenMinuteCap(t *testing.T) {
	sum := func(ds []time.Duration) (s time.Duration) {
		for _, d := range ds {
			s += d
		}
		return s
	}
	t.Run("no elapsed limit", func(t *testing.T) {
		p := exact(retry.Policy{MaxAttempts: 40, InitialInterval: time.Second, MaxInterval: time.Minute, MaxElapsedTime: -1})
		op, calls := always(throttle())
		timer := newFakeTimer(true)
		err := retry.Do(context.Background(), p, op, withTimer(timer))
		if re := asError(t, err); re.Reason != retry.ErrAttemptsExhausted || calls.Load() != 40 {
			t.Errorf("calls %d, %v; want 40 attempts, ErrAttemptsExhausted", calls.Load(), err)
		}
		if s := sum(timer.Delays()); s <= 15*time.Minute {
			t.Errorf("waited %v in all, want past 15m", s)
		}
	})
	t.Run("limit past 15m", func(t *testing.T) {
		p := exact(retry.Policy{MaxAttempts: -1, InitialInterval: time.Minute, Multiplier: 1, MaxElapsedTime: 30 * time.Minute})
		op, calls := always(throttle())
		timer := newFakeTimer(true)
		err := retry.Do(context.Background(), p, op, withTimer(timer))
		if re := asError(t, err); re.Reason != retry.ErrElapsed || calls.Load() != 31 {
			t.Errorf("calls %d, %v; want 31 attempts, ErrElapsed", calls.Load(), err)
		}
		if s := sum(timer.Delays()); s != 30*time.Minute {
			t.Errorf("waited %v in all, want 30m", s)
		}
	})
}

func TestDoDelaysGrowAndAreCapped(t *testing.T) {
	p := exact(retry.Policy{MaxAttempts: 7, InitialInterval: 100 * time.Millisecond, Multiplier: 3, MaxInterval: time.Second})
	op, _ := always(throttle())
	timer := newFakeTimer(true)
	_ = retry.Do(context.Background(), p, op, withTimer(timer))
	ms := time.Millisecond
	want := []time.Duration{100 * ms, 300 * ms, 900 * ms, 1000 * ms, 1000 * ms, 1000 * ms}
	if got := timer.Delays(); !reflect.DeepEqual(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func TestDoPolicyBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    retry.Policy
		want []time.Duration
	}{
		{"multiplier below 1 is 1", retry.Policy{MaxAttempts: 4, Multiplier: 0.5}, []time.Duration{250e6, 250e6, 250e6}},
		{"max interval below initial", retry.Policy{MaxAttempts: 4, InitialInterval: 30 * time.Second}, []time.Duration{30e9, 30e9, 30e9}},
		{"negative intervals take the default", retry.Policy{MaxAttempts: 3, InitialInterval: -1, MaxInterval: -1, Multiplier: -2}, []time.Duration{250e6, 500e6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op, _ := always(throttle())
			timer := newFakeTimer(true)
			_ = retry.Do(context.Background(), exact(tc.p), op, withTimer(timer))
			if got := timer.Delays(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("waits = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDefaultPolicy(t *testing.T) {
	want := retry.Policy{
		MaxAttempts:         6,
		InitialInterval:     250 * time.Millisecond,
		MaxInterval:         10 * time.Second,
		Multiplier:          2,
		RandomizationFactor: 0.5,
		MaxElapsedTime:      2 * time.Minute,
		AttemptTimeout:      15 * time.Second,
	}
	if got := retry.DefaultPolicy(); got != want {
		t.Errorf("DefaultPolicy() = %+v, want %+v", got, want)
	}
}

// TestZeroPolicyIsDefault runs the zero Policy and DefaultPolicy() against
// the same failures and checks both do the same: 6 attempts, waits in the
// jitter range of 250ms·2^k, stop with ErrAttemptsExhausted.
func TestZeroPolicyIsDefault(t *testing.T) {
	for name, p := range map[string]retry.Policy{"zero": {}, "DefaultPolicy": retry.DefaultPolicy()} {
		t.Run(name, func(t *testing.T) {
			for range 20 { // jitter: a few runs
				op, calls := always(apiErr(500, "InternalFailure"))
				timer := newFakeTimer(true)
				err := retry.Do(context.Background(), p, op, withTimer(timer))
				re := asError(t, err)
				if calls.Load() != 6 || re.Attempts != 6 || re.Reason != retry.ErrAttemptsExhausted {
					t.Fatalf("calls %d, %+v; want 6 attempts, ErrAttemptsExhausted", calls.Load(), re)
				}
				delays := timer.Delays()
				if len(delays) != 5 {
					t.Fatalf("waits = %v, want 5", delays)
				}
				for k, d := range delays {
					mid := retry.DefaultInitialInterval << k
					if d < mid/2 || d > mid*3/2+1 {
						t.Errorf("wait %d = %v, want within [%v, %v]", k+1, d, mid/2, mid*3/2)
					}
				}
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	last := errors.New("last")
	for _, tc := range []struct {
		err  *retry.Error
		want string
	}{
		{&retry.Error{Attempts: 1, Err: last}, "retry: attempt 1 failed, not retryable: last"},
		{&retry.Error{Attempts: 1, Err: last, Reason: retry.ErrAttemptsExhausted}, "retry: stopped after 1 attempt (attempts exhausted), last error: last"},
		{&retry.Error{Attempts: 6, Err: last, Reason: retry.ErrElapsed}, "retry: stopped after 6 attempts (max elapsed time reached), last error: last"},
		{&retry.Error{Attempts: 2, Err: last, Reason: context.Canceled}, "retry: stopped after 2 attempts (context canceled), last error: last"},
		{&retry.Error{Reason: context.DeadlineExceeded}, "retry: no attempt made: context deadline exceeded"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestErrorUnwrap(t *testing.T) {
	last := errors.New("last")
	for _, tc := range []struct {
		err  *retry.Error
		want []error
	}{
		{&retry.Error{}, nil},
		{&retry.Error{Attempts: 1, Err: last}, []error{last}},
		{&retry.Error{Reason: context.Canceled}, []error{context.Canceled}},
		{&retry.Error{Attempts: 1, Err: last, Reason: retry.ErrElapsed}, []error{last, retry.ErrElapsed}},
	} {
		if got := tc.err.Unwrap(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v.Unwrap() = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func succeed(context.Context) error { return nil }

func BenchmarkDoSuccess(b *testing.B) {
	ctx := context.Background()
	b.Run("default", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = retry.Do(ctx, retry.Policy{}, succeed)
		}
	})
	b.Run("no-attempt-timeout", func(b *testing.B) {
		b.ReportAllocs()
		p := retry.Policy{AttemptTimeout: -1}
		for b.Loop() {
			_ = retry.Do(ctx, p, succeed)
		}
	})
	b.Run("raw-op", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = succeed(ctx)
		}
	})
}

func BenchmarkDoOneRetry(b *testing.B) {
	ctx := context.Background()
	p := retry.Policy{AttemptTimeout: -1}
	timer := newFakeTimer(true)
	e := throttle()
	b.ReportAllocs()
	for b.Loop() {
		failed := false
		_ = retry.Do(ctx, p, func(context.Context) error {
			if !failed {
				failed = true
				return e
			}
			return nil
		}, withTimer(timer))
		timer.mu.Lock()
		timer.delays = timer.delays[:0]
		timer.mu.Unlock()
	}
}

func BenchmarkRetryable(b *testing.B) {
	errs := map[string]error{
		"throttle":  throttle(),
		"503":       apiErr(503, "ServiceUnavailable"),
		"not-found": opErr(respErr(400, &types.ResourceNotFound{})),
	}
	for name, err := range errs {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = retry.Retryable(err)
			}
		})
	}
}

func TestHugeIntervalsDoNotOverflow(t *testing.T) {
	var delays []time.Duration
	p := retry.Policy{MaxAttempts: 4, InitialInterval: math.MaxInt64, MaxInterval: math.MaxInt64, Multiplier: 1e9, MaxElapsedTime: -1}
	_ = retry.Do(context.Background(), p, func(context.Context) error { return errRetryableForTest }, func(o *retry.Options) {
		o.Timer = newFakeTimer(true)
		o.Retryable = func(error) bool { return true }
		o.OnRetry = func(w retry.Wait) { delays = append(delays, w.Delay) }
	})
	for _, d := range delays {
		if d <= 0 || d > retry.LongestInterval*2 {
			t.Errorf("delay %v out of range (0, %v]", d, 2*retry.LongestInterval)
		}
	}
	if len(delays) == 0 {
		t.Error("no waits")
	}
}

var errRetryableForTest = errors.New("retry me")

func TestDoOpReturnsPermanent(t *testing.T) {
	op, calls := always(backoff.Permanent(throttle()))
	err := retry.Do(context.Background(), retry.Policy{}, op, withTimer(newFakeTimer(true)))
	re := asError(t, err)
	if calls.Load() != 1 || re.Attempts != 1 || re.Reason != nil {
		t.Errorf("calls %d, %+v; want 1 attempt, Reason nil (not retryable)", calls.Load(), re)
	}
}

// TestDoElapsedOnWallClock: without a clock in the Timer, MaxElapsedTime is
// measured on the wall clock, from the start of Do.
func TestDoElapsedOnWallClock(t *testing.T) {
	p := exact(retry.Policy{MaxAttempts: -1, InitialInterval: 20 * time.Millisecond, Multiplier: 1, MaxElapsedTime: 150 * time.Millisecond})
	op, calls := always(throttle())
	start := time.Now()
	err := retry.Do(context.Background(), p, op)
	took := time.Since(start)
	if re := asError(t, err); re.Reason != retry.ErrElapsed || calls.Load() < 2 || calls.Load() > 8 {
		t.Errorf("calls %d, %v; want a few attempts, ErrElapsed", calls.Load(), err)
	}
	if took > 150*time.Millisecond+time.Second {
		t.Errorf("took %v", took)
	}
}
