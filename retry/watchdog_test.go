package retry

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestWatchdogMixedDeadlines runs attempts with long and short timeouts at
// once, the short ones started after a long one armed the timer: each must
// end at its own deadline (within scheduling slack), and none may be left
// behind in the watchdog.
func TestWatchdogMixedDeadlines(t *testing.T) {
	long := attempts.start(context.Background(), time.Hour)
	defer attempts.release(long)

	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		d := time.Duration(20+i%4*20) * time.Millisecond // 20, 40, 60, 80 ms
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			a := attempts.start(context.Background(), d)
			defer attempts.release(a)
			if dl, ok := a.Deadline(); !ok || dl.Sub(start) < d || dl.Sub(start) > d+time.Second {
				errs <- errors.New("wrong deadline")
				return
			}
			select {
			case <-a.Done():
			case <-time.After(2 * time.Second):
				errs <- errors.New("not ended by its deadline " + d.String())
				return
			}
			took := time.Since(start)
			if !errors.Is(context.Cause(a), ErrAttemptTimeout) {
				errs <- errors.New("ended without ErrAttemptTimeout as its cause")
			}
			if took < d || took > d+500*time.Millisecond {
				errs <- errors.New("ended at " + took.String() + ", want " + d.String())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if long.Err() != nil {
		t.Error("the long attempt ended early")
	}
	attempts.mu.Lock()
	n := len(attempts.active)
	attempts.mu.Unlock()
	if n != 1 {
		t.Errorf("%d attempts left in the watchdog, want 1 (the long one)", n)
	}
}

// TestWatchdogCallerFirst: the caller's earlier deadline is what the
// attempt's Deadline reports, and the caller's cancel ends it at once.
func TestWatchdogCallerFirst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	a := attempts.start(ctx, time.Hour)
	defer attempts.release(a)
	want, _ := ctx.Deadline()
	if got, _ := a.Deadline(); !got.Equal(want) {
		t.Errorf("Deadline %v, want the caller's %v", got, want)
	}
	cancel()
	select {
	case <-a.Done():
	case <-time.After(time.Second):
		t.Fatal("the caller's cancel did not end the attempt")
	}
	if errors.Is(context.Cause(a), ErrAttemptTimeout) {
		t.Error("a caller's cancel reported as an attempt timeout")
	}
}
