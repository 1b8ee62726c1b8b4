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

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/internal/typednil"
)

// Handler does the work of one callback step: it gets the step's message
// (Status is always callback.StatusExecuting) and returns the step's output
// parameters, or an error that fails the step with the error's text as its
// FailureReason (the raw token redacted, cut to 256 code points).
//
// ctx ends when the pipeline execution is stopping (context.Cause(ctx) is
// ErrStopping), when the handler has run longer than Options.HandlerTimeout
// (ErrHandlerTimeout), or when the worker shuts down and
// Options.ShutdownTimeout has run out (ErrShutdown); the handler should then
// return promptly. It is not waited for once ctx has ended: a handler that
// ignores its context is abandoned (its goroutine runs on, and what it
// returns is dropped). A handler may run more than once for one step (SQS delivers at
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

	// DefaultCallTimeout is the default Options.CallTimeout: with the
	// default WaitTime, a hung ReceiveMessage is given up after 25s.
	DefaultCallTimeout = 5 * time.Second
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

	// Concurrency is the most handlers that run at once, and so the most
	// messages the Worker holds. Zero means DefaultConcurrency.
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
	// extended by VisibilityTimeout. It must be shorter than
	// VisibilityTimeout (as SQS takes it, in whole seconds): Run refuses
	// it otherwise. Zero means VisibilityTimeout/3, which leaves room for
	// two failed extensions before the message would become visible again.
	Heartbeat time.Duration

	// ShutdownTimeout is how long, once Run's context has ended, the
	// handlers in flight have to finish and their outcomes to be reported.
	// Zero means DefaultShutdownTimeout; a negative value means no grace.
	ShutdownTimeout time.Duration

	// CallTimeout bounds each SQS call the Worker makes, the SDK's retries
	// of the call included: a DeleteMessage or ChangeMessageVisibility gets
	// CallTimeout, a ReceiveMessage its WaitTime plus CallTimeout. The
	// deletes of the deliveries of one step (duplicates joined to it), and
	// their hand-backs at shutdown, share one CallTimeout. A call
	// that runs out counts as failed (see "Hung connections" in the package
	// documentation). It must be shorter than VisibilityTimeout (as SQS
	// takes it): Run refuses it otherwise. Zero or negative means
	// DefaultCallTimeout, or VisibilityTimeout/3 when that is shorter.
	CallTimeout time.Duration

	// HandlerTimeout bounds each run of the handler. A handler still
	// running after HandlerTimeout has its context cancelled, with
	// context.Cause ErrHandlerTimeout, and its step is failed with a reason
	// that says it timed out and after how long. The handler is not waited
	// for: its slot is freed and its message settled even when it ignores
	// its context (it is abandoned: its goroutine runs on, and what it
	// returns is dropped). Zero or negative means no limit.
	HandlerTimeout time.Duration

	// MaxReceives bounds how often a step's message is run: a message
	// received more than MaxReceives times (its ApproximateReceiveCount) is
	// not run again, and its step is failed with a reason that names the
	// count, so that a step whose work keeps killing the process ends
	// failed rather than silently dead-lettered. Set it below the queue's
	// maxReceiveCount (its redrive policy), so that the Worker fails the
	// step before SQS moves its message aside. Zero or negative means no
	// limit.
	MaxReceives int

	// Logger gets what the Worker does: each outcome, each message left on
	// the queue and why, each failed SQS call. Nil means slog.Default(). A
	// panic of its handler is recovered (the record is dropped): it crashes
	// nothing and changes no outcome.
	Logger *slog.Logger

	// TracerProvider, when not nil, gets a span for each message,
	// "callback.worker.message", from its receipt to its Result, with the
	// attribute "callback.outcome": the Result's Outcome in lower case
	// ("succeeded", "failed", "settled", "left", "malformed"). Its status is
	// an error unless the outcome is Succeeded or Settled. The handler, the
	// report and the SQS calls for the message get a context holding the
	// span (tracing.WithSpan), so that their spans nest under it: give the
	// callback client and the SQS client the same provider. A duplicate
	// delivery joined to a running step has "callback.worker.duplicate" set
	// instead. Nil means no spans.
	TracerProvider tracing.TracerProvider

	// MeterProvider, when not nil, gets the Worker's metrics:
	// "callback.worker.messages" (Int64Counter: one per Result, with the
	// attribute "outcome" as on the span), "callback.worker.handler.duration"
	// (Float64Histogram, seconds), "callback.worker.message.age"
	// (Float64Histogram, seconds from a message's SentTimestamp to its
	// receipt) and "callback.worker.inflight" (Int64UpDownCounter: the
	// messages held). Nil means no metrics.
	MeterProvider metrics.MeterProvider

	// OnResult, when not nil, is called with the Result of every message
	// the Worker is done with, on the goroutine that handled it. A duplicate
	// delivery folded into a step already running gives no Result of its
	// own. It must not block for long: it holds a concurrency slot. A
	// panic in it is logged and goes no further.
	OnResult func(Result)
}

// Outcome is what became of one message.
type Outcome int

// The outcomes of a message.
const (
	// Succeeded: the handler's outputs were reported and acknowledged.
	Succeeded Outcome = iota + 1
	// Failed: a failure was reported and acknowledged: the handler returned
	// an error, panicked or timed out (HandlerTimeout), the message was
	// received more than MaxReceives times, or the execution is stopping.
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

var outcomeNames = [...]string{Succeeded: "Succeeded", Failed: "Failed", Settled: "Settled", Left: "Left", Malformed: "Malformed"}

// String returns the outcome's name, as "Succeeded".
func (o Outcome) String() string {
	if o >= Succeeded && o <= Malformed {
		return outcomeNames[o]
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
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
	// stopped step, a *PanicError for a panic, ErrHandlerTimeout or
	// ErrMaxReceives wrapped for a step bounded), the report's error when
	// Settled or Left (ErrShutdown when the Worker shut down first), the
	// parse error when Malformed; nil when Succeeded. Its text has the raw
	// token redacted; errors.Is and errors.As see the error beneath.
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
	eng     *engine
	invalid error // options that cannot work, as Run says

	waitSecs, visSecs int32                              // WaitTime and VisibilityTimeout as SQS takes them
	attributes        []types.MessageSystemAttributeName // asked with each ReceiveMessage
	sqsOpt            func(*sqs.Options)                 // given to each SQS call: eng.tel.sqsSpans
	running           atomic.Bool
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
	if typednil.Is(sqsAPI) {
		w.api = nil // a nil *sqs.Client is no client: Run says so
	}
	o := &w.opts
	for _, fn := range optFns {
		fn(o)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.WaitTime == 0 {
		o.WaitTime = DefaultWaitTime
	}
	o.WaitTime = min(max(o.WaitTime, 0), 20*time.Second)
	if o.VisibilityTimeout <= 0 {
		o.VisibilityTimeout = DefaultVisibilityTimeout
	}
	o.VisibilityTimeout = min(max(o.VisibilityTimeout, time.Second), 12*time.Hour)
	w.waitSecs, w.visSecs = seconds(o.WaitTime), seconds(o.VisibilityTimeout)
	// What SQS takes: a Heartbeat or a CallTimeout this long would let the
	// message become visible while it is held.
	vis := time.Duration(w.visSecs) * time.Second
	var invalid []error
	if o.Heartbeat >= vis {
		invalid = append(invalid, fmt.Errorf("worker: Options.Heartbeat (%v) must be shorter than Options.VisibilityTimeout (%v)", o.Heartbeat, vis))
	}
	if o.CallTimeout >= vis {
		invalid = append(invalid, fmt.Errorf("worker: Options.CallTimeout (%v) must be shorter than Options.VisibilityTimeout (%v)", o.CallTimeout, vis))
	}
	w.invalid = errors.Join(invalid...)
	if o.Heartbeat <= 0 {
		o.Heartbeat = o.VisibilityTimeout / 3
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = min(DefaultCallTimeout, vis/3)
	}
	o.HandlerTimeout, o.MaxReceives = max(o.HandlerTimeout, 0), max(o.MaxReceives, 0)
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	w.eng = newEngine(cb, h, o.Logger, o.OnResult, o.TracerProvider, o.MeterProvider, o.HandlerTimeout, o.MaxReceives)
	w.log = w.eng.log
	w.sqsOpt = w.eng.tel.sqsSpans
	w.attributes = []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}
	if w.eng.tel.age.On() { // the age of a message needs its SentTimestamp
		w.attributes = append(w.attributes, types.MessageSystemAttributeNameSentTimestamp)
	}
	return w
}

// seconds returns d in whole seconds, rounded up.
func seconds(d time.Duration) int32 {
	return int32((d + time.Second - 1) / time.Second)
}

// Options returns the Worker's options, with the defaults filled in.
func (w *Worker) Options() Options { return w.opts }

// Run receives and handles messages until ctx ends, then shuts down as the
// package documentation describes and returns nil.
//
// Run returns an error at once, before receiving anything, when the Worker
// cannot run: no QueueURL, no SQS client (nil, or a nil pointer), no
// callback client or no handler, options that cannot work as set (a
// Heartbeat or a CallTimeout not shorter than the VisibilityTimeout; the
// error names them), or Run already running; and
// after shutting down when the queue does not exist. Other failures to
// receive are logged and retried with a growing pause. A Worker may Run
// again after Run returned.
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
	case w.invalid != nil:
		return w.invalid
	case !w.running.CompareAndSwap(false, true):
		return errors.New("worker: Run is already running")
	}
	defer w.running.Store(false)

	// hard bounds what the handlers do: handlers, reports, deletes and
	// extensions. It keeps ctx's values but not its end, which only starts
	// the shutdown.
	hard, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stop(nil)
	r := &run{w: w, hard: hard, slots: make(chan struct{}, w.opts.Concurrency), jobs: make(map[callback.Token]*job)}
	// One goroutine per slot handles the messages received, one at a time:
	// a goroutine started for each message would grow its stack anew
	// through the SDK's calls (runtime.newstack took 5% of the CPU in
	// BenchmarkWorker1000, which takes 4% less time with these goroutines).
	work := make(chan *types.Message)
	for range w.opts.Concurrency {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for m := range work {
				r.process(m)
				w.eng.tel.hold(r.hard, -1)
				<-r.slots
			}
		}()
	}
	err := r.receive(ctx, work)
	close(work)

	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	grace := time.NewTimer(max(w.opts.ShutdownTimeout, 0))
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		w.log.LogAttrs(hard, slog.LevelWarn, "worker: shutdown timeout ran out; cancelling the handlers in flight, their messages are left for another worker",
			slog.Int("in_flight", len(r.slots)))
		stop(ErrShutdown)
		<-done
	}
	return err
}

// run is the state of one Run.
type run struct {
	w     *Worker
	hard  context.Context // ends at the end of the shutdown grace
	slots chan struct{}   // one token per message in hand
	wg    sync.WaitGroup  // the goroutines that handle the messages

	mu   sync.Mutex
	jobs map[callback.Token]*job // the steps being worked on
}

// receive is the receive loop: it waits for a free slot, takes every free
// slot up to a batch of 10, receives at most that many messages and sends
// each to work, where a goroutine is free for it: each holds at most one
// slot. It returns when ctx ends (nil) or the queue does not exist.
func (r *run) receive(ctx context.Context, work chan<- *types.Message) error {
	w := r.w
	var pause time.Duration
	for {
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		n := 1
		for n < 10 && len(r.slots) < cap(r.slots) {
			r.slots <- struct{}{} // only this goroutine fills the slots
			n++
		}
		rctx, cancel := context.WithTimeout(ctx, w.opts.WaitTime+w.opts.CallTimeout)
		var out *sqs.ReceiveMessageOutput
		err := w.eng.guard(rctx, callback.Token{}, "ReceiveMessage", func() error {
			var err error
			out, err = w.api.ReceiveMessage(rctx, &sqs.ReceiveMessageInput{
				QueueUrl:                    &w.opts.QueueURL,
				MaxNumberOfMessages:         int32(n),
				WaitTimeSeconds:             w.waitSecs,
				VisibilityTimeout:           w.visSecs,
				MessageSystemAttributeNames: w.attributes,
			}, w.sqsOpt)
			return err
		})
		cancel()
		now := time.Now()
		var msgs []types.Message
		if err == nil && out != nil { // a wrapper may answer nil: no message
			msgs = out.Messages[:min(len(out.Messages), n)] // SQS never sends more than asked
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
			pause = min(max(2*pause, 100*time.Millisecond), 10*time.Second) // doubling, with jitter
			d := pause/2 + rand.N(pause/2+1)
			w.log.LogAttrs(ctx, slog.LevelWarn, "worker: ReceiveMessage failed; pausing",
				slog.Duration("pause", d), slog.String("error", err.Error()))
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		pause = 0
		for i := range msgs {
			w.eng.tel.received(ctx, msgs[i].Attributes, now)
			w.eng.tel.hold(r.hard, 1)
			work <- &msgs[i]
		}
	}
}
