package retry

import (
	"context"
	"sync"
	"time"
)

// The per-attempt timeouts of every Do share one timer, the watchdog's,
// rather than a context.WithTimeout, and so a timer, per attempt. Against the
// in-process fake of package callbacktest, where a call takes about 130 µs,
// a timer per attempt cost a few per cent of the call (TestFailOverhead in
// package callback). The watchdog arms its timer only when a new deadline
// comes before the one it waits for: with one AttemptTimeout for all calls,
// once per quiet period rather than once per call.

// attempt is the context of one attempt under a deadline. It reports the
// deadline the watchdog enforces, or the caller's if that is earlier, as a
// context.WithTimeout would.
type attempt struct {
	context.Context // a context.WithCancelCause of the caller's
	cancel          context.CancelCauseFunc
	due             time.Time // when the watchdog ends it
	deadline        time.Time // what Deadline reports
}

func (a *attempt) Deadline() (time.Time, bool) { return a.deadline, true }

// watchdog ends, with cause ErrAttemptTimeout, the attempts whose deadline
// has passed.
type watchdog struct {
	mu     sync.Mutex
	active map[*attempt]struct{}
	timer  *time.Timer // nil until first needed
	next   time.Time   // when timer fires; zero when it is not armed
}

// attempts is the watchdog of every Do.
var attempts = watchdog{active: make(map[*attempt]struct{})}

// start returns the context of an attempt that ends d from now, with cause
// ErrAttemptTimeout, or when ctx ends. Pass it to release when the attempt is
// over.
func (w *watchdog) start(ctx context.Context, d time.Duration) *attempt {
	cctx, cancel := context.WithCancelCause(ctx)
	a := &attempt{Context: cctx, cancel: cancel, due: time.Now().Add(d)}
	a.deadline = a.due
	if pd, ok := ctx.Deadline(); ok && pd.Before(a.due) {
		a.deadline = pd
	}
	w.mu.Lock()
	w.active[a] = struct{}{}
	if w.next.IsZero() || a.due.Before(w.next) {
		w.arm(a.due)
	}
	w.mu.Unlock()
	return a
}

// release ends an attempt that is over.
func (w *watchdog) release(a *attempt) {
	w.mu.Lock()
	delete(w.active, a)
	w.mu.Unlock()
	a.cancel(nil)
}

// arm makes the timer fire at t. w.mu is held.
func (w *watchdog) arm(t time.Time) {
	w.next = t
	if w.timer == nil {
		w.timer = time.AfterFunc(time.Until(t), w.fire)
		return
	}
	w.timer.Reset(time.Until(t))
}

// fire ends the attempts that are due and arms the timer for the earliest
// deadline left, if any.
func (w *watchdog) fire() {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	var next time.Time
	for a := range w.active {
		if !a.due.After(now) {
			a.cancel(ErrAttemptTimeout)
			delete(w.active, a)
			continue
		}
		if next.IsZero() || a.due.Before(next) {
			next = a.due
		}
	}
	w.next = time.Time{}
	if !next.IsZero() {
		w.arm(next)
	}
}
