package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

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

// execute runs the handler for an Executing message and reports its outcome.
func (r *run) execute(msg callback.Message, rc *receipt, res Result) {
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
	stopped := r.stopped.has(msg.Token)
	hctx, cancel := context.WithCancelCause(r.hard)
	defer cancel(nil)
	j := &job{lease: r.newLease(rc), cancel: cancel}
	r.jobs[msg.Token] = j
	r.mu.Unlock()

	var (
		outs []callback.Output
		err  error
	)
	if stopped {
		// Its Stopping message came first: the step is being failed.
		cancel(ErrStopping)
	} else {
		outs, err = r.call(hctx, msg)
	}

	var report func() error
	switch {
	case errors.Is(context.Cause(hctx), ErrStopping):
		res.Err = ErrStopping
		report = func() error { return r.fail(msg.Token, stoppingReason) }
	case r.hard.Err() != nil:
		// The grace period ran out: nothing is reported, whatever the
		// handler returned; another worker does the step again.
		res.Outcome, res.Err = Left, ErrShutdown
		r.leave(msg.Token, j.lease, true)
		r.done(res)
		return
	case err != nil:
		res.Err = err
		report = func() error { return r.fail(msg.Token, reasonOf(err, msg.Token)) }
	default:
		report = func() error { return r.succeed(msg.Token, outs, &res) }
	}
	r.settle(msg.Token, j.lease, report(), res)
}

// call runs the handler, turning a panic into an error.
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

// reasonOf returns the FailureReason for a handler's error: its text, with
// any occurrence of the raw token replaced by its redacted form, cut to 256
// characters by callback.NewReason.
func reasonOf(err error, tok callback.Token) callback.Reason {
	return callback.NewReason(redact(err.Error(), tok))
}

// redact replaces the raw token in s by its redacted form.
func redact(s string, tok callback.Token) string {
	if raw := tok.Reveal(); raw != "" && strings.Contains(s, raw) {
		return strings.ReplaceAll(s, raw, tok.String())
	}
	return s
}

func (r *run) fail(tok callback.Token, reason callback.Reason) error {
	_, err := r.w.cb.Fail(r.hard, tok, reason)
	return err
}

// succeed reports a success. When the client refuses the outputs before
// sending anything (more than 50), the step is failed with that error
// instead: no retry would make them valid.
func (r *run) succeed(tok callback.Token, outs []callback.Output, res *Result) error {
	_, err := r.w.cb.Succeed(r.hard, tok, outs)
	var ce *callback.Error
	if errors.Is(err, callback.ErrInvalid) && errors.As(err, &ce) && ce.Attempts == 0 {
		res.Err = fmt.Errorf("worker: the handler's outputs were refused: %w", err)
		return r.fail(tok, reasonOf(res.Err, tok))
	}
	return err
}

// stop handles a Stopping message: it cancels the step's handler if it runs
// here, reports the step failed with StoppingReason (the execution stops only
// once the step is completed), and deletes the message once that is
// acknowledged or refused as already completed or unknown.
func (r *run) stop(msg callback.Message, rc *receipt, res Result) {
	l := r.newLease(rc)
	r.mu.Lock()
	r.stopped.add(msg.Token)
	j := r.jobs[msg.Token]
	r.mu.Unlock()
	if j != nil {
		j.cancel(ErrStopping)
	}
	// Reported here even when the handler runs here, so the stop does not
	// wait for a handler slow to notice; the handler's own report of the
	// same reason carries the same ClientRequestToken and is answered the
	// same.
	res.Err = ErrStopping
	r.settle(msg.Token, l, r.fail(msg.Token, stoppingReason), res)
}

// settle ends a message after its report: it deletes the message when the
// report was acknowledged or refused as already completed or unknown, and
// leaves it on the queue otherwise.
func (r *run) settle(tok callback.Token, l *lease, err error, res Result) {
	switch {
	case err == nil:
		res.Outcome = Succeeded
		if res.Err != nil { // the handler's error, a panic, or the stop
			res.Outcome = Failed
		}
	case errors.Is(err, callback.ErrConflict), errors.Is(err, callback.ErrNotFound):
		res.Outcome, res.Err = Settled, err
	default:
		// Throttled, unavailable, cut short by the shutdown, ...: the
		// message comes back and the report is tried again then.
		res.Outcome, res.Err = Left, err
		if r.hard.Err() != nil {
			res.Err = fmt.Errorf("%w: %w", ErrShutdown, err)
		}
		r.leave(tok, l, r.hard.Err() != nil)
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
	r.logResult(res)
	if r.w.opts.OnResult != nil {
		r.w.opts.OnResult(res)
	}
}

func (r *run) logResult(res Result) {
	level, msg := slog.LevelInfo, "worker: step completed"
	switch res.Outcome {
	case Settled:
		msg = "worker: the step was already completed or is unknown; message deleted"
	case Left:
		level, msg = slog.LevelWarn, "worker: message left on the queue for redelivery"
	case Malformed:
		level, msg = slog.LevelWarn, "worker: malformed message left on the queue for its redrive policy"
	}
	if res.Outcome != Malformed && res.Outcome != Left && !res.Deleted {
		level = slog.LevelWarn
	}
	if !r.w.log.Enabled(r.hard, level) {
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
		attrs = append(attrs, slog.String("error", redact(res.Err.Error(), res.Token)))
	}
	r.w.log.LogAttrs(r.hard, level, msg, attrs...)
}

// lease keeps the deliveries of one step invisible to other consumers while
// the step is worked on, extending their visibility every Heartbeat. It costs
// a timer until the first extension is due: most steps of a busy worker end
// before.
type lease struct {
	r     *run
	timer *time.Timer
	beats sync.WaitGroup // the extension in progress

	mu       sync.Mutex
	receipts []*receipt
	closed   bool
	ctx      context.Context // for the extensions; made by the first one
	cancel   context.CancelFunc
}

// newLease starts extending the visibility of rc.
func (r *run) newLease(rc *receipt) *lease {
	l := &lease{r: r, receipts: []*receipt{rc}}
	l.mu.Lock()
	l.timer = time.AfterFunc(r.w.opts.Heartbeat, l.beat)
	l.mu.Unlock()
	return l
}

// add adds a delivery to the lease; a delivery of a message it holds
// replaces that message's receipt handle, which SQS made stale. It reports
// false when the lease has ended.
func (l *lease) add(rc *receipt) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	for _, x := range l.receipts {
		if x.id == rc.id {
			x.handle, x.lost = rc.handle, false
			return true
		}
	}
	l.receipts = append(l.receipts, rc)
	return true
}

// end stops the extensions, waits for one in progress, and returns the
// lease's deliveries.
func (l *lease) end() []receipt {
	l.mu.Lock()
	l.closed = true
	l.timer.Stop()
	if l.cancel != nil {
		l.cancel()
	}
	out := make([]receipt, len(l.receipts))
	for i, rc := range l.receipts {
		out[i] = *rc
	}
	l.mu.Unlock()
	l.beats.Wait()
	return out
}

// beat extends the visibility of the lease's deliveries, then sets the timer
// for the next time.
func (l *lease) beat() {
	w := l.r.w
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.beats.Add(1)
	defer l.beats.Done()
	if l.ctx == nil {
		l.ctx, l.cancel = context.WithCancel(l.r.hard)
	}
	ctx := l.ctx
	rcs := make([]receipt, 0, len(l.receipts))
	for _, rc := range l.receipts {
		if !rc.lost {
			rcs = append(rcs, *rc)
		}
	}
	l.mu.Unlock()

	for _, rc := range rcs {
		_, err := w.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: &w.opts.QueueURL, ReceiptHandle: &rc.handle, VisibilityTimeout: w.visSecs,
		})
		if err == nil || ctx.Err() != nil {
			continue
		}
		if lostLease(err) {
			l.mu.Lock()
			for _, x := range l.receipts {
				if x.id == rc.id && x.handle == rc.handle {
					x.lost = true
				}
			}
			l.mu.Unlock()
			w.log.LogAttrs(ctx, slog.LevelWarn, "worker: lost the message: it was received again elsewhere or deleted; the step may be worked on twice, its report settles it",
				slog.String("message_id", rc.id), slog.String("error", err.Error()))
			continue
		}
		w.log.LogAttrs(ctx, slog.LevelWarn, "worker: ChangeMessageVisibility failed; trying again at the next heartbeat",
			slog.String("message_id", rc.id), slog.String("error", err.Error()))
	}

	l.mu.Lock()
	if !l.closed {
		l.timer.Reset(w.opts.Heartbeat)
	}
	l.mu.Unlock()
}

// lostLease reports whether a ChangeMessageVisibility error says that the
// receipt handle no longer holds the message: it is invalid, stale, or its
// message was deleted or is not in flight.
func lostLease(err error) bool {
	var (
		invalid  *types.ReceiptHandleIsInvalid
		inflight *types.MessageNotInflight
		apiErr   smithy.APIError
	)
	switch {
	case errors.As(err, &invalid), errors.As(err, &inflight):
		return true
	case errors.As(err, &apiErr):
		return apiErr.ErrorCode() == "InvalidParameterValue"
	}
	return false
}
