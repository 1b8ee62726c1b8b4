package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stepcallback/sagemaker-callback/callback"
)

// releaseTimeout bounds the ChangeMessageVisibility that hands a message
// back to the queue at shutdown, after the grace period ran out.
const releaseTimeout = 5 * time.Second

// stoppingReason is StoppingReason as a callback.Reason.
var stoppingReason = callback.MustParseReason(StoppingReason)

// job is a step being worked on by this Worker.
type job struct {
	lease  *lease
	cancel context.CancelCauseFunc
}

// process handles one message.
func (r *run) process(m *types.Message) {
	rc := receipt{id: aws.ToString(m.MessageId), handle: aws.ToString(m.ReceiptHandle)}
	res := Result{MessageID: rc.id}
	res.ReceiveCount, _ = strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	msg, err := callback.ParseMessage([]byte(aws.ToString(m.Body)))
	if err != nil {
		// Left as it is, and not extended: it comes back after its
		// visibility timeout until the redrive policy moves it aside.
		res.Outcome, res.Err = Malformed, err
		r.done(res)
		return
	}
	res.Token, res.ExecutionARN, res.Status = msg.Token, msg.ExecutionARN, msg.Status
	if msg.Status == callback.StatusStopping {
		r.stop(msg, rc, res)
	} else {
		r.execute(msg, rc, res)
	}
}

// execute runs the handler for an Executing message and reports its outcome.
func (r *run) execute(msg callback.Message, rc receipt, res Result) {
	r.mu.Lock()
	if j := r.jobs[msg.Token]; j != nil && j.lease.add(rc) {
		// Another delivery of a step already running here: the running
		// handler's outcome settles it, and its lease now keeps this
		// delivery invisible too.
		r.mu.Unlock()
		r.w.log.LogAttrs(r.hard, slog.LevelInfo, "worker: duplicate delivery of a step already running; handed to its handler",
			slog.Any("token", msg.Token), slog.String("message_id", rc.id))
		return
	}
	hctx, cancel := context.WithCancelCause(r.hard)
	defer cancel(nil)
	j := &job{lease: r.newLease(rc), cancel: cancel}
	r.jobs[msg.Token] = j
	if slices.Contains(r.stopped, msg.Token) {
		cancel(ErrStopping) // its Stopping message came first: the handler is not run
	}
	r.mu.Unlock()

	var outs []callback.Output
	var err error
	if hctx.Err() == nil {
		outs, err = r.call(hctx, msg)
	}
	switch {
	case errors.Is(context.Cause(hctx), ErrStopping):
		res.Err = ErrStopping
		_, err = r.w.cb.Fail(r.hard, msg.Token, stoppingReason)
		r.settle(msg.Token, j.lease, err, res)
	case r.hard.Err() != nil:
		// The grace period ran out: nothing is reported, whatever the
		// handler returned; another worker does the step again.
		res.Outcome, res.Err = Left, ErrShutdown
		r.leave(msg.Token, j.lease, true)
		r.done(res)
	default:
		res.Err, err = report(r.hard, r.w.cb, msg.Token, outs, err)
		r.settle(msg.Token, j.lease, err, res)
	}
}

// call runs the handler, turning a panic into a *PanicError.
func (r *run) call(ctx context.Context, msg callback.Message) (outs []callback.Output, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v}
			r.w.log.LogAttrs(r.hard, slog.LevelError, "worker: the handler panicked; failing the step",
				slog.Any("token", msg.Token),
				slog.String("panic", redact(fmt.Sprint(v), msg.Token)),
				slog.String("stack", redact(string(debug.Stack()), msg.Token)))
		}
	}()
	return r.w.handler(ctx, msg)
}

// PanicError is the error of a handler that panicked: the step is failed
// with its message as the reason.
type PanicError struct {
	Value any // the value given to panic
}

// Error returns "handler panicked: <value>".
func (e *PanicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.Value) }

// report reports a handler's outcome for tok: a failure with herr's text as
// the reason when herr is not nil, else a success with outs. Outputs that the
// client refuses before sending anything (more than 50) are reported as a
// failure with why: no retry would make them valid. It returns the error that
// explains the step's outcome (herr, that refusal, or nil) and the report's
// error.
func report(ctx context.Context, cb *callback.Client, tok callback.Token, outs []callback.Output, herr error) (why, err error) {
	if herr != nil {
		_, err = cb.Fail(ctx, tok, reasonOf(herr, tok))
		return herr, err
	}
	_, err = cb.Succeed(ctx, tok, outs)
	var ce *callback.Error
	if errors.Is(err, callback.ErrInvalid) && errors.As(err, &ce) && ce.Attempts == 0 {
		why = fmt.Errorf("worker: the handler's outputs were refused: %w", err)
		_, err = cb.Fail(ctx, tok, reasonOf(why, tok))
	}
	return why, err
}

// outcome returns what became of a message whose report ended with err; why
// is the error that explains the step's outcome, nil for a success. It
// returns the error for Result.Err.
func outcome(why, err error) (Outcome, error) {
	switch {
	case err == nil && why == nil:
		return Succeeded, nil
	case err == nil:
		return Failed, why
	case errors.Is(err, callback.ErrConflict), errors.Is(err, callback.ErrNotFound):
		return Settled, err
	}
	return Left, err // throttled, unavailable, cut short by the shutdown, ...
}

// reasonOf returns the FailureReason for a handler's error: its text, with
// any occurrence of the raw token replaced by its redacted form, cut to 256
// characters by callback.NewReason.
func reasonOf(err error, tok callback.Token) callback.Reason {
	return callback.NewReason(redact(err.Error(), tok))
}

// redact replaces the raw token in s by its redacted form.
func redact(s string, tok callback.Token) string {
	if raw := tok.Reveal(); raw != "" {
		return strings.ReplaceAll(s, raw, tok.String())
	}
	return s
}

// stop handles a Stopping message: it cancels the step's handler if it runs
// here and reports the step failed with StoppingReason at once, without
// waiting for the handler; the handler's own report of the same reason
// carries the same ClientRequestToken and is answered the same.
func (r *run) stop(msg callback.Message, rc receipt, res Result) {
	l := r.newLease(rc)
	r.mu.Lock()
	r.stopped = append(r.stopped[max(0, len(r.stopped)+1-stoppedMemory):], msg.Token)
	j := r.jobs[msg.Token]
	r.mu.Unlock()
	if j != nil {
		j.cancel(ErrStopping)
	}
	res.Err = ErrStopping
	_, err := r.w.cb.Fail(r.hard, msg.Token, stoppingReason)
	r.settle(msg.Token, l, err, res)
}

// settle ends a message after its report, whose error is err: it deletes the
// message when the report was acknowledged or refused as already completed
// or unknown, and leaves it on the queue otherwise.
func (r *run) settle(tok callback.Token, l *lease, err error, res Result) {
	res.Outcome, res.Err = outcome(res.Err, err)
	if res.Outcome == Left {
		shutdown := r.hard.Err() != nil
		if shutdown {
			res.Err = fmt.Errorf("%w: %w", ErrShutdown, res.Err)
		}
		r.leave(tok, l, shutdown)
		r.done(res)
		return
	}
	r.forget(tok, l)
	res.Deleted = true
	for _, rc := range l.end() {
		_, err := r.w.api.DeleteMessage(r.hard, &sqs.DeleteMessageInput{QueueUrl: &r.w.opts.QueueURL, ReceiptHandle: &rc.handle})
		if err != nil {
			res.Deleted = false
			r.w.log.LogAttrs(r.hard, slog.LevelWarn, "worker: DeleteMessage failed after the step was completed; the message will come back and be settled then",
				slog.Any("token", tok), slog.String("message_id", rc.id), slog.String("error", err.Error()))
		}
	}
	r.done(res)
}

// forget removes the step's job, if l is its lease.
func (r *run) forget(tok callback.Token, l *lease) {
	r.mu.Lock()
	if j := r.jobs[tok]; j != nil && j.lease == l {
		delete(r.jobs, tok)
	}
	r.mu.Unlock()
}

// leave ends the lease without deleting: the message becomes visible again
// when its visibility timeout runs out, or at once with release.
func (r *run) leave(tok callback.Token, l *lease, release bool) {
	r.forget(tok, l)
	rcs := l.end()
	if !release {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.hard), releaseTimeout)
	defer cancel()
	for _, rc := range rcs {
		_, err := r.w.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &r.w.opts.QueueURL, ReceiptHandle: &rc.handle, VisibilityTimeout: 0})
		if err != nil {
			r.w.log.LogAttrs(ctx, slog.LevelWarn, "worker: could not hand the message back; it comes back when its visibility timeout runs out",
				slog.Any("token", tok), slog.String("message_id", rc.id), slog.String("error", err.Error()))
		}
	}
}

// done logs a message's result and gives it to Options.OnResult.
func (r *run) done(res Result) {
	level, msg := slog.LevelInfo, "worker: step completed"
	switch {
	case res.Outcome == Malformed:
		level, msg = slog.LevelWarn, "worker: malformed message left on the queue for its redrive policy"
	case res.Outcome == Left:
		level, msg = slog.LevelWarn, "worker: message left on the queue for redelivery"
	case res.Outcome == Settled:
		msg = "worker: the step was already completed or is unknown; message deleted"
	}
	if !res.Deleted {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.String("outcome", res.Outcome.String()), slog.String("message_id", res.MessageID)}
	if !res.Token.IsZero() {
		attrs = append(attrs, slog.Any("token", res.Token), slog.String("status", string(res.Status)))
	}
	if res.ReceiveCount > 0 {
		attrs = append(attrs, slog.Int("receive_count", res.ReceiveCount))
	}
	if res.Err != nil {
		attrs = append(attrs, slog.String("error", redact(res.Err.Error(), res.Token)))
	}
	r.w.log.LogAttrs(r.hard, level, msg, attrs...)
	if r.w.opts.OnResult != nil {
		r.w.opts.OnResult(res)
	}
}
