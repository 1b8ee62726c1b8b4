package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/internal/safetel"
)

// This file is the Worker's front end to the engine: the steps running here
// (for duplicates and stops), and how a message is settled: deleted, or
// left on the queue.

// job is a step being worked on by this Worker.
type job struct {
	lease  *lease
	cancel context.CancelCauseFunc
}

// process handles one message.
func (r *run) process(m *types.Message) {
	rc := receipt{id: aws.ToString(m.MessageId), handle: aws.ToString(m.ReceiptHandle)}
	ctx, span := r.w.eng.tel.start(r.hard, rc.id)
	msg, res, ok := parse(rc.id, aws.ToString(m.Body), m.Attributes)
	switch {
	case !ok:
		// Left as it is, and not extended: it comes back after its
		// visibility timeout until the redrive policy moves it aside.
		r.w.eng.done(ctx, span, res, "worker: malformed message left on the queue for its redrive policy")
	case msg.Status == callback.StatusStopping:
		r.stop(ctx, span, msg, rc, res)
	default:
		r.execute(ctx, span, msg, rc, res)
	}
}

// execute works on the step of an Executing message, unless the step runs
// here already: then the delivery joins it.
func (r *run) execute(ctx context.Context, span safetel.Span, msg callback.Message, rc receipt, res Result) {
	r.mu.Lock()
	if j := r.jobs[msg.Token]; j != nil && j.lease.add(rc) {
		// Another delivery of a step already running here: the running
		// handler's outcome settles it, and its lease now keeps this
		// delivery invisible too.
		r.mu.Unlock()
		r.w.eng.tel.duplicate(span)
		span.End()
		r.w.log.LogAttrs(ctx, slog.LevelInfo, "worker: duplicate delivery of a step already running; handed to its handler",
			slog.Any("token", msg.Token), slog.String("message_id", rc.id))
		return
	}
	hctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	j := &job{lease: r.newLease(ctx, msg.Token, rc), cancel: cancel}
	r.jobs[msg.Token] = j
	if r.w.eng.stopping(msg.Token) {
		cancel(ErrStopping) // its Stopping message came first: the handler is not run
	}
	r.mu.Unlock()
	res.Outcome, res.Err = r.w.eng.work(ctx, hctx, msg, res.ReceiveCount)
	r.settle(ctx, span, msg.Token, j.lease, res)
}

// stop handles a Stopping message: it cancels the step's handler if it runs
// here and reports the step failed with StoppingReason at once, without
// waiting for the handler; the handler's own report of the same reason
// carries the same ClientRequestToken and is answered the same.
func (r *run) stop(ctx context.Context, span safetel.Span, msg callback.Message, rc receipt, res Result) {
	l := r.newLease(ctx, msg.Token, rc)
	r.mu.Lock() // with execute's check of the stop: a job either sees the stop or is cancelled
	r.w.eng.stop(msg.Token)
	j := r.jobs[msg.Token]
	r.mu.Unlock()
	if j != nil {
		j.cancel(ErrStopping)
	}
	res.Outcome, res.Err = r.w.eng.finish(ctx, msg.Token, nil, ErrStopping)
	r.settle(ctx, span, msg.Token, l, res)
}

// settle ends a message after its step's outcome: it deletes the message
// (and the deliveries joined to it) unless the outcome is Left, and leaves
// it on the queue otherwise, handed back at once when the Worker is shutting
// down.
func (r *run) settle(ctx context.Context, span safetel.Span, tok callback.Token, l *lease, res Result) {
	if res.Outcome == Left {
		shutdown := r.hard.Err() != nil
		if shutdown && !errors.Is(res.Err, ErrShutdown) {
			res.Err = fmt.Errorf("%w: %w", ErrShutdown, res.Err)
		}
		r.leave(ctx, tok, l, shutdown)
		r.w.eng.done(ctx, span, res, "worker: message left on the queue for redelivery")
		return
	}
	r.forget(tok, l)
	res.Deleted = true
	// The deletes of the step's deliveries share one bound, so that hung
	// calls hold the slot for CallTimeout, not CallTimeout per delivery. The
	// step is completed: the deletes get their bound even when the shutdown
	// grace ends meanwhile.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.w.opts.CallTimeout)
	defer cancel()
	for _, rc := range l.end() {
		err := r.w.eng.guard(dctx, tok, "DeleteMessage", func() error {
			_, err := r.w.api.DeleteMessage(dctx, &sqs.DeleteMessageInput{QueueUrl: &r.w.opts.QueueURL, ReceiptHandle: &rc.handle}, r.w.sqsOpt)
			return err
		})
		if err != nil {
			res.Deleted = false
			r.w.log.LogAttrs(ctx, slog.LevelWarn, "worker: DeleteMessage failed after the step was completed; the message will come back and be settled then",
				slog.Any("token", tok), slog.String("message_id", rc.id), slog.String("error", err.Error()))
		}
	}
	msg := "worker: step completed"
	if res.Outcome == Settled {
		msg = "worker: the step was already completed or is unknown; message deleted"
	}
	r.w.eng.done(ctx, span, res, msg)
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
func (r *run) leave(ctx context.Context, tok callback.Token, l *lease, release bool) {
	r.forget(tok, l)
	rcs := l.end()
	if !release {
		return
	}
	// One bound for all the hand-backs, as for the deletes in settle.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.w.opts.CallTimeout)
	defer cancel()
	for _, rc := range rcs {
		err := r.w.eng.guard(cctx, tok, "ChangeMessageVisibility", func() error {
			_, err := r.w.api.ChangeMessageVisibility(cctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &r.w.opts.QueueURL, ReceiptHandle: &rc.handle, VisibilityTimeout: 0}, r.w.sqsOpt)
			return err
		})
		if err != nil {
			r.w.log.LogAttrs(ctx, slog.LevelWarn, "worker: could not hand the message back; it comes back when its visibility timeout runs out",
				slog.Any("token", tok), slog.String("message_id", rc.id), slog.String("error", err.Error()))
		}
	}
}
