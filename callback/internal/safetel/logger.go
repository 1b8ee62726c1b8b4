package safetel

import (
	"context"
	"errors"
	"log/slog"
)

// Logger returns l with a handler that cannot hurt its caller: a panic of
// l's handler (in Enabled, Handle, WithAttrs or WithGroup) is recovered, and
// the record it was handling is dropped. It returns nil for a nil l, and l
// itself when l is Logger's already. A zero slog.Logger, whose handler is
// nil, logs nothing.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return nil
	}
	if _, ok := l.Handler().(handler); ok {
		return l
	}
	return slog.New(handler{l.Handler()})
}

// handler is a slog.Handler that recovers the panics of the one it wraps.
type handler struct{ h slog.Handler }

// errPanicked is what Handle returns for a record whose handler panicked;
// slog.Logger drops it.
var errPanicked = errors.New("safetel: the log handler panicked; the record is dropped")

func (h handler) Enabled(ctx context.Context, level slog.Level) (on bool) {
	defer func() {
		if recover() != nil {
			on = false
		}
	}()
	return h.h.Enabled(ctx, level)
}

func (h handler) Handle(ctx context.Context, r slog.Record) (err error) {
	defer func() {
		if recover() != nil {
			err = errPanicked
		}
	}()
	return h.h.Handle(ctx, r)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.with(func() slog.Handler { return h.h.WithAttrs(attrs) })
}

func (h handler) WithGroup(name string) slog.Handler {
	return h.with(func() slog.Handler { return h.h.WithGroup(name) })
}

// with returns the handler that f makes, wrapped, or h when f panics or
// makes none.
func (h handler) with(f func() slog.Handler) (out slog.Handler) {
	defer func() {
		if recover() != nil {
			out = h
		}
	}()
	if n := f(); n != nil {
		return handler{n}
	}
	return h
}
