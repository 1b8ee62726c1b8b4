package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stepcallback/sagemaker-callback/callback"
)

// Handler does the work of one callback step: it gets the step's message
// (Status is always callback.StatusExecuting) and returns the step's output
// parameters, or an error that fails the step with callback.ReasonFromError.
//
// ctx ends when the pipeline execution is stopping (context.Cause(ctx) is
// ErrStopping) or when the worker shuts down and Options.ShutdownTimeout has
// run out (context.Cause(ctx) is ErrShutdown); the handler should then return
// promptly. A handler may run more than once for one step (SQS delivers at
// least once, and a message left by a worker that stopped is done again by
// another): it must be safe to repeat.
type Handler func(ctx context.Context, m callback.Message) ([]callback.Output, error)

// SQSAPI is the part of *sqs.Client that a Worker calls. *sqs.Client
// satisfies it; so does any wrapper of it.
type SQSAPI interface {
	// ReceiveMessage long-polls the queue for messages.
	ReceiveMessage(ctx context.Context, params *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	// DeleteMessage deletes a message once its step is settled.
	DeleteMessage(ctx context.Context, params *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	// ChangeMessageVisibility extends a message's visibility while its step
	// is worked on, and hands it back (0) at shutdown.
	ChangeMessageVisibility(ctx context.Context, params *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Defaults for the fields of Options.
const (
	// DefaultConcurrency is the default Options.Concurrency: one step at a
	// time.
	DefaultConcurrency = 1

	// DefaultWaitTime is the default Options.WaitTime: SQS's longest poll.
	DefaultWaitTime = 20 * time.Second

	// DefaultVisibilityTimeout is the default Options.VisibilityTimeout, the
	// default of an SQS queue.
	DefaultVisibilityTimeout = 30 * time.Second

	// DefaultShutdownTimeout is the default Options.ShutdownTimeout.
	DefaultShutdownTimeout = 30 * time.Second
)

// StoppingReason is the FailureReason a Worker reports for a step whose
// pipeline execution is stopping.
const StoppingReason = "pipeline execution is stopping"

// The causes of the end of a handler's context, as context.Cause returns them.
var (
	// ErrStopping: a "Stopping" message came for the step: its pipeline
	// execution is being stopped, and the Worker reports the step failed
	// with StoppingReason, whatever the handler returns.
	ErrStopping = errors.New("worker: the pipeline execution is stopping")

	// ErrShutdown: Run's context ended and Options.ShutdownTimeout ran out
	// before the handler returned. Nothing is reported for the step; its
	// message is made visible again for another worker.
	ErrShutdown = errors.New("worker: shut down before the handler returned")
)

// Options configure a Worker. The zero value of every field but QueueURL has
// a default.
type Options struct {
	// QueueURL is the URL of the SQS queue the pipeline's callback steps send
	// their messages to. Required.
	QueueURL string

	// Concurrency is the most handlers that run at once. The Worker never
	// receives more messages than it has free slots for, so a message it
	// has not started is never held invisible on its behalf. Zero means
	// DefaultConcurrency.
	Concurrency int

	// WaitTime is the long poll of each ReceiveMessage, rounded up to whole
	// seconds, at most 20s. Zero means DefaultWaitTime; a negative value
	// means short polling (no wait), which costs more requests.
	WaitTime time.Duration

	// VisibilityTimeout is how long a received message stays invisible to
	// other consumers, rounded up to whole seconds (at least 1s, at most
	// 12h). It is sent with each ReceiveMessage and each extension. Zero
	// means DefaultVisibilityTimeout.
	VisibilityTimeout time.Duration

	// Heartbeat is how often the visibility of a message being worked on is
	// extended by VisibilityTimeout, with ChangeMessageVisibility. Zero
	// means VisibilityTimeout/3, which leaves room for two failed
	// extensions before the message would become visible again.
	Heartbeat time.Duration

	// ShutdownTimeout is how long, once Run's context has ended, the
	// handlers in flight have to finish and their outcomes to be reported.
	// Then their contexts are cancelled (cause ErrShutdown) and what is not
	// yet reported is left for another worker. Zero means
	// DefaultShutdownTimeout; a negative value means no grace at all.
	ShutdownTimeout time.Duration

	// Logger gets what the Worker does: each outcome, each message left on
	// the queue and why, each failed SQS call. Tokens are logged redacted
	// (callback.Token's LogValue) and message bodies never. Nil means
	// slog.Default().
	Logger *slog.Logger

	// OnResult, when not nil, is called with the Result of every message
	// the Worker is done with, on the goroutine that handled it. A duplicate
	// delivery folded into a step already running gives no Result of its
	// own. It must not block for long: it holds a concurrency slot.
	OnResult func(Result)
}

// Outcome is what became of one message.
type Outcome int

// The outcomes of a message.
const (
	// Succeeded: the handler's outputs were reported and acknowledged.
	Succeeded Outcome = iota + 1
	// Failed: a failure was reported and acknowledged: the handler returned
	// an error or panicked, or the execution is stopping.
	Failed
	// Settled: the service refused the report because the step was already
	// completed (callback.ErrConflict) or is unknown (callback.ErrNotFound).
	// Nothing is left to do for the message.
	Settled
	// Left: the message was left on the queue, to be received again: the
	// report failed (throttled, unavailable, ...), or the Worker shut down
	// before the outcome was reported.
	Left
	// Malformed: the body is not a callback step's message. It was left on
	// the queue, untouched, for the queue's redrive policy.
	Malformed
)

// String returns the outcome's name, as "Succeeded".
func (o Outcome) String() string {
	switch o {
	case Succeeded:
		return "Succeeded"
	case Failed:
		return "Failed"
	case Settled:
		return "Settled"
	case Left:
		return "Left"
	case Malformed:
		return "Malformed"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Result is what a Worker did with one message, as Options.OnResult gets it.
type Result struct {
	MessageID    string                // the SQS MessageId
	ReceiveCount int                   // the message's ApproximateReceiveCount, 0 if SQS sent none
	Token        callback.Token        // the step's token; zero for a Malformed message
	ExecutionARN callback.ExecutionARN // the step's pipeline execution
	Status       callback.Status       // the message's status: Executing or Stopping; "" when Malformed
	Outcome      Outcome               // what became of the message

	// Err says why: the handler's error when Failed (ErrStopping for a
	// stopped step), the report's error when Settled or Left (ErrShutdown
	// when the Worker shut down first), the parse error when Malformed; nil
	// when Succeeded.
	Err error

	// Deleted reports whether the message (and any duplicate delivered
	// meanwhile) was deleted from the queue. It is false when a delete
	// failed after the step was completed: the message will come back and
	// be settled then.
	Deleted bool
}

// Worker receives callback steps' messages from an SQS queue, runs a Handler
// for each, reports each outcome to SageMaker and deletes the message. Start
// it with Run. See the package documentation for its guarantees.
type Worker struct {
	api     SQSAPI
	cb      *callback.Client
	handler Handler
	opts    Options
	log     *slog.Logger

	// the SQS parameters, in seconds
	waitSecs, visSecs int32

	running atomic.Bool
}

// New returns a Worker that receives from the queue of Options.QueueURL with
// sqsAPI, typically a *sqs.Client, runs h, and reports with cb:
//
//	w := worker.New(sqs.NewFromConfig(cfg), callback.New(sagemaker.NewFromConfig(cfg)), handle,
//		func(o *worker.Options) {
//			o.QueueURL = queueURL
//			o.Concurrency = 8
//		})
//	err := w.Run(ctx)
func New(sqsAPI SQSAPI, cb *callback.Client, h Handler, optFns ...func(*Options)) *Worker {
	w := &Worker{api: sqsAPI, cb: cb, handler: h}
	for _, fn := range optFns {
		fn(&w.opts)
	}
	o := &w.opts
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	switch {
	case o.WaitTime == 0:
		o.WaitTime = DefaultWaitTime
	case o.WaitTime < 0:
		o.WaitTime = 0
	}
	o.WaitTime = min(o.WaitTime, 20*time.Second)
	if o.VisibilityTimeout <= 0 {
		o.VisibilityTimeout = DefaultVisibilityTimeout
	}
	o.VisibilityTimeout = min(max(o.VisibilityTimeout, time.Second), 12*time.Hour)
	if o.Heartbeat <= 0 {
		o.Heartbeat = o.VisibilityTimeout / 3
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	w.log = o.Logger
	if w.log == nil {
		w.log = slog.Default()
	}
	w.waitSecs = seconds(o.WaitTime)
	w.visSecs = seconds(o.VisibilityTimeout)
	return w
}

// seconds returns d in whole seconds, rounded up.
func seconds(d time.Duration) int32 {
	return int32((d + time.Second - 1) / time.Second)
}

// Options returns the Worker's options, with the defaults filled in.
func (w *Worker) Options() Options { return w.opts }

// errRunning is returned by a second Run while one runs.
var errRunning = errors.New("worker: Run is already running")

// Run receives and handles messages until ctx ends, then shuts down: it
// stops receiving, gives the handlers in flight Options.ShutdownTimeout to
// finish and have their outcomes reported, cancels those still running
// (context.Cause is ErrShutdown) and leaves their messages for another
// worker, waits for every handler to return, and returns nil. A handler
// that ignores its context holds Run until it returns.
//
// Run returns an error at once when the Worker cannot run (no QueueURL, no
// SQS client, no callback client or no handler, or Run already running), and
// after shutting down when the queue does not exist. Other failures to
// receive are logged and retried with a growing pause.
//
// A Worker may Run again after Run returned.
func (w *Worker) Run(ctx context.Context) error {
	switch {
	case w.opts.QueueURL == "":
		return errors.New("worker: Options.QueueURL is empty")
	case w.api == nil:
		return errors.New("worker: no SQS client")
	case w.cb == nil:
		return errors.New("worker: no callback client")
	case w.handler == nil:
		return errors.New("worker: no handler")
	}
	if !w.running.CompareAndSwap(false, true) {
		return errRunning
	}
	defer w.running.Store(false)

	// hard bounds everything the handlers do: handlers, reports, deletes
	// and extensions. It keeps ctx's values but not its end, which only
	// starts the shutdown.
	hard, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stop(nil)
	r := &run{
		w:       w,
		hard:    hard,
		slots:   make(chan struct{}, w.opts.Concurrency),
		work:    make(chan *types.Message),
		jobs:    make(map[callback.Token]*job),
		stopped: newTokenSet(stoppedMemory),
	}
	// One goroutine per slot, for the whole run: a message's goroutine is
	// not made anew, nor its stack grown again through the SDK's calls.
	for range w.opts.Concurrency {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for m := range r.work {
				r.process(m)
			}
		}()
	}
	err := r.receive(ctx)
	close(r.work)

	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	if w.opts.ShutdownTimeout > 0 {
		t := time.NewTimer(w.opts.ShutdownTimeout)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	select {
	case <-done:
	default:
		w.log.LogAttrs(hard, slog.LevelWarn, "worker: shutdown timeout ran out; cancelling the handlers in flight, their messages are left for another worker",
			slog.Int("in_flight", len(r.slots)))
		stop(ErrShutdown)
		<-done
	}
	return err
}

// stoppedMemory is how many stopped tokens a run remembers, so that an
// Executing message that comes after its step's Stopping message is not run.
const stoppedMemory = 4096

// maxBatch is the most messages one ReceiveMessage returns.
const maxBatch = 10

// The pauses after a failed ReceiveMessage.
const (
	minReceivePause = 100 * time.Millisecond
	maxReceivePause = 10 * time.Second
)

// run is the state of one Run.
type run struct {
	w     *Worker
	hard  context.Context     // ends at the end of the shutdown grace
	slots chan struct{}       // one token per message in hand
	work  chan *types.Message // to the message goroutines
	wg    sync.WaitGroup      // the message goroutines

	mu      sync.Mutex
	jobs    map[callback.Token]*job // the steps being worked on
	stopped *tokenSet               // tokens whose Stopping message this run handled
}

// receive is the receive loop. It returns when ctx ends (nil) or the queue
// does not exist.
func (r *run) receive(ctx context.Context) error {
	w := r.w
	pause := time.Duration(0)
	for {
		// Wait for a free slot, then take every free slot, up to a batch.
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		n := 1
	take:
		for n < maxBatch {
			select {
			case r.slots <- struct{}{}:
				n++
			default:
				break take
			}
		}
		out, err := w.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    &w.opts.QueueURL,
			MaxNumberOfMessages:         int32(n),
			WaitTimeSeconds:             w.waitSecs,
			VisibilityTimeout:           w.visSecs,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		var msgs []types.Message
		if err == nil {
			msgs = out.Messages
			if len(msgs) > n {
				// SQS never sends more than asked; a message beyond the
				// slots is left to come back after its visibility timeout.
				w.log.LogAttrs(ctx, slog.LevelWarn, "worker: ReceiveMessage returned more messages than asked; the extra ones are left",
					slog.Int("asked", n), slog.Int("got", len(msgs)))
				msgs = msgs[:n]
			}
		}
		for range n - len(msgs) {
			<-r.slots
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var noQueue *types.QueueDoesNotExist
			if errors.As(err, &noQueue) {
				return fmt.Errorf("worker: receiving from %s: %w", w.opts.QueueURL, err)
			}
			pause = min(max(2*pause, minReceivePause), maxReceivePause)
			d := pause/2 + rand.N(pause/2+1)
			w.log.LogAttrs(ctx, slog.LevelWarn, "worker: ReceiveMessage failed; pausing",
				slog.Duration("pause", d), slog.String("error", err.Error()))
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil
			}
			continue
		}
		pause = 0
		for i := range msgs {
			r.work <- &msgs[i] // a goroutine is free: each holds at most one slot
		}
	}
}

// receipt is one delivery of a message: its id and the receipt handle that
// delete and visibility changes need.
type receipt struct {
	id     string
	handle string
	lost   bool // a visibility change said the handle no longer holds the message
}

// process handles one message and frees its slot.
func (r *run) process(m *types.Message) {
	defer func() { <-r.slots }()
	rc := &receipt{id: aws.ToString(m.MessageId), handle: aws.ToString(m.ReceiptHandle)}
	res := Result{MessageID: rc.id}
	if n, err := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
		res.ReceiveCount = n
	}
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
		return
	}
	r.execute(msg, rc, res)
}

// tokenSet is a set of tokens that forgets the oldest beyond its size.
type tokenSet struct {
	set  map[callback.Token]struct{}
	ring []callback.Token
	next int
}

func newTokenSet(size int) *tokenSet {
	return &tokenSet{set: make(map[callback.Token]struct{}), ring: make([]callback.Token, size)}
}

func (s *tokenSet) add(t callback.Token) {
	if _, ok := s.set[t]; ok {
		return
	}
	if old := s.ring[s.next]; !old.IsZero() {
		delete(s.set, old)
	}
	s.ring[s.next] = t
	s.next = (s.next + 1) % len(s.ring)
	s.set[t] = struct{}{}
}

func (s *tokenSet) has(t callback.Token) bool {
	_, ok := s.set[t]
	return ok
}
