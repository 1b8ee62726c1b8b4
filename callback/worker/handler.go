package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/internal/errtext"
	"github.com/stepcallback/sagemaker-callback/callback/internal/typednil"
)

// This file holds how the engine (engine.go) runs a handler safely: on a
// goroutine of its own, its panic recovered, and its error read once and
// redacted.

// PanicError is the error of a handler that panicked: the step is failed
// with its message as the reason.
type PanicError struct {
	Value any // the value given to panic, as it was (not redacted)

	text string // Value's text, read safely and redacted, when the Worker made it
}

// Error returns "handler panicked: <value>". For a PanicError made by the
// Worker, any raw token of the step in the value's text is replaced by its
// redacted form.
func (e *PanicError) Error() string {
	if e.text == "" {
		return "handler panicked: " + text(e.Value)
	}
	return "handler panicked: " + e.text
}

// errGoexit is the error of a handler that called runtime.Goexit (as
// t.Fatal and t.FailNow do) instead of returning.
var errGoexit = errors.New("handler called runtime.Goexit instead of returning")

// handled is what one run of a handler gave: its outputs, or its error,
// already made safe by goHandler.
type handled struct {
	outs []callback.Output
	err  error
}

// goHandler runs h for msg on a goroutine of its own, so that nothing the
// handler does can stop the caller: a panic becomes a *PanicError (logged to
// log with its stack) and runtime.Goexit errGoexit, and the error h returns
// is read at once, on that goroutine (see handlerError). The error is nil,
// errGoexit or a *safeError, whose text holds no raw token of msg and cannot
// panic. The channel receives the outcome once the handler is done.
func goHandler(ctx context.Context, h Handler, msg callback.Message, log *slog.Logger) <-chan handled {
	c := make(chan handled, 1)
	go func() {
		res := handled{err: errGoexit} // unless the handler returns or panics
		defer func() { c <- res }()
		defer func() {
			if v := recover(); v != nil {
				pe := &PanicError{Value: v, text: msg.Token.Redact(text(v))}
				res = handled{err: redactError(pe, msg.Token)}
				what := "worker: the handler panicked; failing the step"
				if ctx.Err() != nil { // the end of ctx decides the step, not the panic (see engine.work)
					what = "worker: the handler panicked after its context ended; the panic does not decide its step"
				}
				log.LogAttrs(ctx, slog.LevelError, what, slog.Any("token", msg.Token),
					slog.String("panic", pe.text), slog.String("stack", msg.Token.Redact(string(debug.Stack()))))
			}
		}()
		outs, err := h(ctx, msg)
		res = handled{outs: outs, err: handlerError(err, msg.Token)}
	}()
	return c
}

// handlerError returns err as a *safeError, read once, with tok redacted;
// a typed nil (var e *MyErr; return nil, e) is not read but named.
func handlerError(err error, tok callback.Token) error {
	if err != nil && typednil.Is(err) {
		return &safeError{text: fmt.Sprintf("handler returned a nil %T as its error", err), err: err}
	}
	return redactError(err, tok)
}

// safeError is an error whose text was read once, safely, with the step's
// raw token replaced by its redacted form. Unwrap returns the original, so
// that errors.Is and errors.As see through it.
type safeError struct {
	text string
	err  error
}

func (e *safeError) Error() string { return e.text }
func (e *safeError) Unwrap() error { return e.err }

// redactError returns err as a *safeError whose text has tok redacted.
func redactError(err error, tok callback.Token) error {
	if s, ok := err.(*safeError); ok {
		return &safeError{text: tok.Redact(s.text), err: s.err}
	}
	if err == nil {
		return nil
	}
	return &safeError{text: tok.Redact(text(err)), err: err}
}

// text returns v's text, even when its Error or String method panics
// (errtext.Value).
func text(v any) string { return errtext.Value(v) }
