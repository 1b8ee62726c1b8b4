package worker

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/stepcallback/sagemaker-callback/callback"
)

// receipt is one delivery of a message: its id and the receipt handle that
// delete and visibility changes need.
type receipt struct {
	id     string
	handle string
	lost   bool // a visibility change said the handle no longer holds the message
}

// lease keeps the deliveries of one step invisible to other consumers while
// the step is worked on: every Heartbeat until end, a timer extends their
// visibility. Until the first extension is due, which most steps of a busy
// worker never reach, it costs a timer and no goroutine.
type lease struct {
	cancel    context.CancelFunc // ends the extensions' context
	timer     *time.Timer
	extending sync.Mutex // held by an extension in progress

	mu       sync.Mutex
	receipts []receipt
	closed   bool
}

// newLease starts extending the visibility of rc, a delivery of tok's step.
func (r *run) newLease(ctx context.Context, tok callback.Token, rc receipt) *lease {
	ctx, cancel := context.WithCancel(ctx)
	l := &lease{cancel: cancel, receipts: []receipt{rc}}
	l.extending.Lock() // the first extension waits for l.timer
	defer l.extending.Unlock()
	l.timer = time.AfterFunc(r.w.opts.Heartbeat, func() {
		l.extending.Lock()
		defer l.extending.Unlock()
		if ctx.Err() == nil {
			r.extend(ctx, tok, l)
			l.timer.Reset(r.w.opts.Heartbeat)
		}
	})
	return l
}

// add adds a delivery to the lease; a delivery of a message it holds
// replaces that message's receipt handle, which SQS made stale. It reports
// false when the lease has ended.
func (l *lease) add(rc receipt) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if i := slices.IndexFunc(l.receipts, func(x receipt) bool { return x.id == rc.id }); i >= 0 {
		l.receipts[i] = rc
	} else {
		l.receipts = append(l.receipts, rc)
	}
	return true
}

// end stops the extensions, cutting one in progress short and waiting for
// it, and returns the lease's deliveries.
func (l *lease) end() []receipt {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.extending.Lock() // an extension that starts from now on finds its context ended
	l.timer.Stop()
	l.extending.Unlock()
	return l.receipts
}

// extend extends the visibility of the lease's deliveries by
// VisibilityTimeout.
func (r *run) extend(ctx context.Context, tok callback.Token, l *lease) {
	w := r.w
	l.mu.Lock()
	rcs := slices.Clone(l.receipts)
	l.mu.Unlock()
	for _, rc := range rcs {
		if rc.lost {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, w.opts.CallTimeout)
		err := w.eng.guard(cctx, tok, "ChangeMessageVisibility", func() error {
			_, err := w.api.ChangeMessageVisibility(cctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: &w.opts.QueueURL, ReceiptHandle: &rc.handle, VisibilityTimeout: w.visSecs,
			}, w.sqsOpt)
			return err
		})
		cancel()
		switch {
		case err == nil || ctx.Err() != nil:
		case lostLease(err):
			l.mu.Lock()
			if i := slices.Index(l.receipts, rc); i >= 0 {
				l.receipts[i].lost = true
			}
			l.mu.Unlock()
			w.log.LogAttrs(ctx, slog.LevelWarn, "worker: lost the message: it was received again elsewhere or deleted; the step may be worked on twice, its report settles it",
				slog.String("message_id", rc.id), slog.String("error", err.Error()))
		default:
			w.log.LogAttrs(ctx, slog.LevelWarn, "worker: ChangeMessageVisibility failed; trying again at the next heartbeat",
				slog.String("message_id", rc.id), slog.String("error", err.Error()))
		}
	}
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
	return errors.As(err, &invalid) || errors.As(err, &inflight) ||
		errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidParameterValue"
}
