package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/internal/safetel"
)

// This file holds the one engine that works on a step for the Worker and for
// LambdaHandler alike: parsing a delivery, running the handler on its own
// goroutine with one policy for abandoning it, reporting the outcome, and
// telling what became of the delivery (Result, log, telemetry, OnResult). The
// Worker (process.go) and LambdaHandler (lambda.go) only bring the
// deliveries and settle them: delete and visibility, or BatchItemFailures.

// ErrHandlerTimeout is the cause of the end of a handler's context
// (context.Cause) when the handler ran longer than Options.HandlerTimeout (or
// LambdaOptions.HandlerTimeout): its step is failed with a reason that says
// it timed out and after how long, and the Result's Err wraps
// ErrHandlerTimeout.
var ErrHandlerTimeout = errors.New("worker: the handler ran longer than its HandlerTimeout")

// ErrMaxReceives is wrapped by the Result's Err of a step whose message was
// received more than Options.MaxReceives (or LambdaOptions.MaxReceives)
// times: the handler is not run again, and the step is failed with a reason
// that names the receive count.
var ErrMaxReceives = errors.New("worker: the message was received more than MaxReceives times")

// stoppingReason is StoppingReason as a callback.Reason.
var stoppingReason = callback.MustParseReason(StoppingReason)

// engine works on the steps of a Worker or of a LambdaHandler's function.
type engine struct {
	cb             *callback.Client
	h              Handler
	log            *slog.Logger
	tel            telemetry
	onResult       func(Result)
	handlerTimeout time.Duration // zero: no limit
	maxReceives    int           // zero: no limit

	mu      sync.Mutex
	stopped []callback.Token // the last stoppedMemory tokens whose Stopping message came
}

// stoppedMemory is how many stopped tokens an engine remembers, so that an
// Executing message that comes after its step's Stopping message (later in
// a Worker's run, or in a later batch of a Lambda function's process) is
// not run.
const stoppedMemory = 4096

// stop records that the Stopping message of tok's step came.
func (e *engine) stop(tok callback.Token) {
	e.mu.Lock()
	e.stopped = append(e.stopped[max(0, len(e.stopped)+1-stoppedMemory):], tok)
	e.mu.Unlock()
}

// stopping reports whether the Stopping message of tok's step came (among
// the last stoppedMemory): its handler is not to be run.
func (e *engine) stopping(tok callback.Token) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Contains(e.stopped, tok)
}

// newEngine returns the engine of the options common to Options and
// LambdaOptions.
func newEngine(cb *callback.Client, h Handler, log *slog.Logger, onResult func(Result), tp tracing.TracerProvider, mp metrics.MeterProvider, handlerTimeout time.Duration, maxReceives int) *engine {
	if log == nil {
		log = slog.Default()
	}
	// The Logger runs on the engine's goroutines, where a panic of its
	// handler would crash the process.
	log = safetel.Logger(log)
	return &engine{
		cb: cb, h: h, log: log, onResult: onResult,
		tel:            newTelemetry(tp, mp, log),
		handlerTimeout: max(handlerTimeout, 0),
		maxReceives:    max(maxReceives, 0),
	}
}

// parse reads one delivery: its message, and the Result as far as the
// message tells it. ok is false when callback.ParseMessage refuses the body:
// the Result is then Malformed, with the parse error, redacted and cut.
func parse(id, body string, attrs map[string]string) (msg callback.Message, res Result, ok bool) {
	res = Result{MessageID: id, ReceiveCount: receiveCount(attrs)}
	msg, err := callback.ParseMessage([]byte(body))
	if err != nil {
		res.Outcome, res.Err = Malformed, malformedError(err, body)
		return msg, res, false
	}
	res.Token, res.ExecutionARN, res.Status = msg.Token, msg.ExecutionARN, msg.Status
	return msg, res, true
}

// work does the work of an Executing step and reports its outcome with ctx.
// It runs the handler with hctx, on a goroutine of its own, unless hctx has
// ended already (the step's Stopping message came first) or the message was
// received more than MaxReceives times (receives). It waits for the handler
// no longer than hctx lasts, HandlerTimeout included: a handler still
// running when its context ends is abandoned, its goroutine runs on and
// whatever it returns is dropped. The end of hctx decides the report: the
// step is failed with StoppingReason for ErrStopping, as timed out for
// ErrHandlerTimeout, and not reported at all for any other cause
// (ErrShutdown, the end of the invocation): Left, with that cause. It
// returns the step's outcome and the error for Result.Err, not yet redacted.
func (e *engine) work(ctx, hctx context.Context, msg callback.Message, receives int) (Outcome, error) {
	var (
		outs  []callback.Output
		why   error
		ended = hctx.Err() != nil
	)
	switch {
	case ended:
	case e.maxReceives > 0 && receives > e.maxReceives:
		why = &safeError{text: fmt.Sprintf("message received %d times, more than MaxReceives (%d): not run again", receives, e.maxReceives), err: ErrMaxReceives}
	default:
		if e.handlerTimeout > 0 {
			var cancel context.CancelFunc
			hctx, cancel = context.WithTimeoutCause(hctx, e.handlerTimeout, ErrHandlerTimeout)
			defer cancel()
		}
		t0 := time.Now()
		select {
		case hr := <-goHandler(hctx, e.h, msg, e.log):
			outs, why = hr.outs, hr.err
		case <-hctx.Done(): // the handler is not waited for
		}
		// Whether hctx ended before the handler returned is decided here,
		// not after the telemetry, which may be slow.
		ended = hctx.Err() != nil
		e.tel.handlerTook(ctx, time.Since(t0))
	}
	if ended {
		switch cause := context.Cause(hctx); {
		case errors.Is(cause, ErrStopping):
			why = ErrStopping
		case errors.Is(cause, ErrHandlerTimeout):
			why = &safeError{text: fmt.Sprintf("handler timed out after %v", e.handlerTimeout), err: ErrHandlerTimeout}
		default:
			return Left, cause // not reported, whatever the handler returned
		}
	}
	return e.finish(ctx, msg.Token, outs, why)
}

// finish reports a step's outcome for tok with ctx: a failure when why is
// not nil (StoppingReason for ErrStopping, why's text otherwise), a success
// with outs otherwise. Outputs that the client refuses before sending
// anything (a zero Output, or more than 50) are reported as a failure with
// why: no retry would make them valid. why's text must be redacted already,
// as goHandler's is. It returns the step's outcome and the error for
// Result.Err: the error that explains the outcome, or the report's when it
// did not complete (Left; with the cause of ctx's end first when that cut
// it) or was refused (Settled).
func (e *engine) finish(ctx context.Context, tok callback.Token, outs []callback.Output, why error) (Outcome, error) {
	err := e.guard(ctx, tok, "the report", func() error {
		var err error
		switch {
		case why == ErrStopping:
			_, err = e.cb.Fail(ctx, tok, stoppingReason)
		case why != nil:
			_, err = e.cb.Fail(ctx, tok, callback.ReasonFromError(why))
		default:
			_, err = e.cb.Succeed(ctx, tok, outs)
			if errors.Is(err, callback.ErrInvalidOutputs) { // refused before sending
				why = redactError(fmt.Errorf("worker: the handler's outputs were refused: %w", err), tok)
				_, err = e.cb.Fail(ctx, tok, callback.ReasonFromError(why))
			}
		}
		return err
	})
	switch {
	case err == nil && why == nil:
		return Succeeded, nil
	case err == nil:
		return Failed, why
	case errors.Is(err, callback.ErrConflict), errors.Is(err, callback.ErrNotFound):
		return Settled, err
	}
	// Throttled, unavailable, cut short, ...: left for the report to be made
	// again when the message comes back.
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		err = fmt.Errorf("%w: %w", cause, err)
	}
	return Left, err
}

// guard calls f, a call that carries ctx and with it the message's span, and
// turns a panic in it into an error, logged: the SDK's middleware calls
// methods of the span it finds in the context (tracing.GetSpan), and a
// provider's span may panic. The call then counts as not completed.
func (e *engine) guard(ctx context.Context, tok callback.Token, what string, f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("worker: %s panicked: %s", what, tok.Redact(text(v)))
			e.log.LogAttrs(ctx, slog.LevelError, "worker: a call panicked (in a span or instrument of a provider?); it counts as not completed",
				slog.String("call", what), slog.String("error", err.Error()))
		}
	}()
	return f()
}

// done ends a delivery: it redacts res.Err, records res on the delivery's
// span (on ctx) and in the metrics, ends the span, logs res with msg (at
// Info, Warn for a delivery left, malformed or not deleted) and gives it to
// OnResult.
func (e *engine) done(ctx context.Context, span safetel.Span, res Result, msg string) {
	res.Err = redactError(res.Err, res.Token)
	e.tel.result(ctx, span, &res)
	span.End()
	level := slog.LevelInfo
	if res.Outcome == Left || res.Outcome == Malformed || !res.Deleted {
		level = slog.LevelWarn
	}
	logResult(ctx, e.log, level, msg, res)
	onResult(ctx, e.onResult, res, e.log)
}

// logResult logs res, whose Err is redacted already, with msg at level.
func logResult(ctx context.Context, log *slog.Logger, level slog.Level, msg string, res Result) {
	if !log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.String("outcome", res.Outcome.String()), slog.String("message_id", res.MessageID)}
	if !res.Token.IsZero() {
		attrs = append(attrs, slog.Any("token", res.Token), slog.String("status", string(res.Status)))
	}
	if res.ReceiveCount > 0 {
		attrs = append(attrs, slog.Int("receive_count", res.ReceiveCount))
	}
	if res.Err != nil {
		attrs = append(attrs, slog.String("error", text(res.Err)))
	}
	log.LogAttrs(ctx, level, msg, attrs...)
}

// receiveCount returns a message's ApproximateReceiveCount from its
// attributes, or 0 when SQS sent none.
func receiveCount(attrs map[string]string) int {
	n, err := strconv.Atoi(attrs[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	if err != nil {
		return 0
	}
	return n
}

// onResult gives res to f, if not nil. A panic in f is logged, with the
// step's token redacted, and goes no further: it must not stop the Worker
// or the Lambda function, nor lose the message's outcome, which is settled.
func onResult(ctx context.Context, f func(Result), res Result, log *slog.Logger) {
	if f == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			log.LogAttrs(ctx, slog.LevelError, "worker: OnResult panicked",
				slog.String("message_id", res.MessageID), slog.String("panic", res.Token.Redact(text(v))))
		}
	}()
	f(res)
}

// maxErrorText bounds the text of a malformed message's error.
const maxErrorText = 300

// malformedError returns a message's parse error as a *safeError of at most
// maxErrorText bytes, with the body's token, when it has a valid one,
// redacted.
func malformedError(err error, body string) error {
	var m struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal([]byte(body), &m)
	tok, _ := callback.ParseToken(m.Token)
	e := redactError(err, tok).(*safeError)
	if n := maxErrorText; len(e.text) > n {
		for !utf8.RuneStart(e.text[n]) {
			n--
		}
		e.text = e.text[:n] + "…"
	}
	return e
}
