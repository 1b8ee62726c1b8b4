package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback"
)

// DefaultDeadlineMargin is the default LambdaOptions.DeadlineMargin.
const DefaultDeadlineMargin = time.Second

// LambdaOptions configure the function that LambdaHandler returns.
type LambdaOptions struct {
	// Concurrency is the most handlers (and reports) that run at once in
	// one invocation. Zero or negative means the whole batch: every step
	// of the batch at once, which suits batches of up to 10. With larger
	// batches (a batching window), bound it: each report is a SageMaker
	// call, and the service throttles bursts.
	Concurrency int

	// DeadlineMargin is how long before the invocation's deadline (the
	// function's timeout, as ctx.Deadline gives it) the handlers still
	// running are cancelled (context.Cause is ErrShutdown) and their
	// records listed for redelivery. Reports already under way have half
	// of it more to finish; the other half is left for the function to
	// return its answer in time. It is at most half the time the
	// invocation has left when it starts. Zero or negative means
	// DefaultDeadlineMargin (1s: with Lambda's default timeout of 3s, the
	// handlers have 2s).
	DeadlineMargin time.Duration

	// Logger gets the outcome of every record, as a Worker's Logger does:
	// tokens redacted, message bodies never. Nil means slog.Default().
	Logger *slog.Logger

	// OnResult, when not nil, is called with the Result of every record of
	// the batch (duplicates of a step included, each with its own
	// MessageID), before the function returns. It must not block for long.
	OnResult func(Result)

	// TracerProvider, when not nil, gets a span per record,
	// "callback.worker.message", with the attribute callback.outcome (the
	// Result's Outcome in lower case: succeeded, failed, settled, left,
	// malformed). The step's handler and its report run with the span of
	// the step's first record in their context, so that their spans (the
	// SDK's among them, when the SageMaker client has the same provider)
	// are its children. Nil means no tracing.
	TracerProvider tracing.TracerProvider

	// MeterProvider, when not nil, gets the metrics
	// callback.worker.messages (records by outcome),
	// callback.worker.handler.duration (seconds),
	// callback.worker.message.age (seconds from the record's SentTimestamp
	// to the invocation) and callback.worker.inflight (records being worked
	// on). Nil means no metrics.
	MeterProvider metrics.MeterProvider
}

// LambdaHandler returns the handler of an AWS Lambda function triggered by
// the callback steps' SQS queue (an event source mapping with
// ReportBatchItemFailures turned on): for each record of the batch it runs h,
// reports the outcome with cb, and lists in BatchItemFailures the records to
// be delivered again. Start it with package lambda of aws-lambda-go:
//
//	cb := callback.New(sagemaker.NewFromConfig(cfg))
//	lambda.Start(worker.LambdaHandler(cb, handle))
//
// Per record, with the same rules as a Worker:
//
//   - a body that callback.ParseMessage refuses is listed (it comes back
//     until the queue's redrive policy moves it to the dead-letter queue)
//     and nothing is reported (Outcome Malformed);
//   - an Executing record runs h; its outputs are reported with Succeed, its
//     error or panic with Fail and callback.ReasonFromError's text, any raw
//     token replaced by its redacted form (Succeeded, Failed);
//   - a Stopping record is reported failed with StoppingReason at once. The
//     batch is scanned before any handler starts: an Executing record of a
//     step stopped in the same batch is not run, and is settled by the
//     stop's report (Failed, Err ErrStopping);
//   - a report acknowledged, or refused as already completed
//     (callback.ErrConflict) or unknown (callback.ErrNotFound), settles the
//     record: Lambda deletes it (Succeeded, Failed, Settled). A report that
//     failed after the client's retry policy lists the record (Left): it
//     comes back after the queue's visibility timeout and the report, which
//     is idempotent, is made again.
//
// Records of the same step in one batch (SQS delivers at least once) are
// settled together by one run of h and one report. Steps run concurrently,
// at most LambdaOptions.Concurrency at once, Stopping records first: a batch
// of ten whose reports each take 50ms returns in about 50ms, not 500ms
// (TestLambdaDelayedReportsConcurrent, BenchmarkLambdaBatch10Delay50ms).
//
// DeadlineMargin before the invocation's deadline, the handlers still running
// are cancelled, with context.Cause ErrShutdown, and their records are listed
// (Left, Err ErrShutdown): the step did not fail, the function ran out of
// time. Whatever such a handler returns afterwards is not reported. The
// function returns in time even when a handler ignores its context; that
// handler's goroutine runs on, and its outcome is dropped. This holds with
// Lambda's default timeout of 3s, under AWS's Runtime Interface Emulator
// (TestLambdaEmulator/HandlerOutlivesTimeout). Without a deadline on ctx,
// the function waits for every handler.
//
// A Result's Deleted is true for a record not listed: Lambda deletes it once
// the function returns. The function returns an error (and Lambda delivers
// the whole batch again) only when cb or h is nil.
func LambdaHandler(cb *callback.Client, h Handler, optFns ...func(*LambdaOptions)) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	var o LambdaOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if o.DeadlineMargin <= 0 {
		o.DeadlineMargin = DefaultDeadlineMargin
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	obs := newLambdaObserver(o.TracerProvider, o.MeterProvider)
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		switch {
		case cb == nil:
			return events.SQSEventResponse{}, errors.New("worker: LambdaHandler has no callback client")
		case h == nil:
			return events.SQSEventResponse{}, errors.New("worker: LambdaHandler has no handler")
		}
		b := &batch{cb: cb, h: h, opts: &o, log: log, obs: obs}
		return b.run(ctx, ev.Records), nil
	}
}

// batch is one invocation of a LambdaHandler's function.
type batch struct {
	cb   *callback.Client
	h    Handler
	opts *LambdaOptions
	log  *slog.Logger
	obs  *lambdaObserver // nil without providers

	ctx  context.Context // the invocation's, for the log
	hctx context.Context // the handlers': ends DeadlineMargin before the deadline
	rctx context.Context // the reports': ends DeadlineMargin/2 before it

	results []Result // one per record, in the batch's order

	// With a TracerProvider: each record's span, and the context that
	// StartSpan returned for it (from rctx).
	spans    []tracing.Span
	spanCtxs []context.Context
	cut      time.Time            // the handlers' deadline; zero without one
	cancels  []context.CancelFunc // of the steps' handler contexts

	mu      sync.Mutex
	closed  bool           // the function is returning: outcomes are dropped
	settled []bool         // by record
	calls   sync.WaitGroup // OnResult calls of settled steps under way
}

// lambdaStep is one step of a batch: every record of its token.
type lambdaStep struct {
	tok  callback.Token
	msg  callback.Message // its first Executing record's message, for the handler
	stop bool             // a Stopping record came for it in the batch
	recs []int            // its records, by index

	hctx, rctx context.Context // the batch's, with its first record's span
}

// run handles the records and returns the batch's answer.
func (b *batch) run(ctx context.Context, records []events.SQSMessage) events.SQSEventResponse {
	b.results = make([]Result, len(records))
	b.settled = make([]bool, len(records))
	b.ctx, b.hctx, b.rctx = ctx, ctx, ctx
	if deadline, ok := ctx.Deadline(); ok {
		margin := min(b.opts.DeadlineMargin, time.Until(deadline)/2)
		b.cut = deadline.Add(-margin)
		var cancelH, cancelR context.CancelFunc
		b.hctx, cancelH = context.WithDeadlineCause(ctx, b.cut, ErrShutdown)
		defer cancelH()
		b.rctx, cancelR = context.WithDeadlineCause(ctx, deadline.Add(-margin/2), ErrShutdown)
		defer cancelR()
	}
	defer func() {
		for _, cancel := range b.cancels {
			cancel()
		}
	}()

	// Scan the batch: parse every record and group them by step, so that
	// a stop in the batch is known before any handler starts.
	var (
		steps   []*lambdaStep
		byToken = make(map[callback.Token]*lambdaStep)
	)
	b.obs.received(b, records)
	for i, rec := range records {
		res := &b.results[i]
		res.MessageID = rec.MessageId
		if n, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"]); err == nil {
			res.ReceiveCount = n
		}
		msg, err := callback.ParseMessage([]byte(rec.Body))
		if err != nil {
			res.Outcome, res.Err = Malformed, err
			b.settled[i] = true
			b.done(i)
			continue
		}
		res.Token, res.ExecutionARN, res.Status = msg.Token, msg.ExecutionARN, msg.Status
		s := byToken[msg.Token]
		if s == nil {
			s = &lambdaStep{tok: msg.Token, hctx: b.hctx, rctx: b.rctx}
			b.obs.withSpan(b, s, i)
			byToken[msg.Token] = s
			steps = append(steps, s)
		}
		s.recs = append(s.recs, i)
		switch {
		case msg.Status == callback.StatusStopping:
			s.stop = true
		case s.msg.Token.IsZero():
			s.msg = msg
		}
	}

	// Stops first: they are reported at once, whatever else waits.
	queue := make(chan *lambdaStep, len(steps))
	for _, s := range steps {
		if s.stop {
			queue <- s
		}
	}
	for _, s := range steps {
		if !s.stop {
			queue <- s
		}
	}
	close(queue)
	n := len(steps)
	if c := b.opts.Concurrency; c > 0 {
		n = min(n, c)
	}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range queue {
				b.do(s)
			}
		}()
	}
	all := make(chan struct{})
	go func() {
		wg.Wait()
		close(all)
	}()
	select {
	case <-all:
	case <-b.rctx.Done():
		// Out of time (or ctx ended): what is not settled yet is listed;
		// handlers that ignore their context run on, their outcome dropped.
	}

	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.calls.Wait()

	var resp events.SQSEventResponse
	for i := range b.results {
		res := &b.results[i]
		if !b.settled[i] {
			res.Outcome, res.Err = Left, context.Cause(b.rctx)
			if res.Err == nil {
				res.Err = context.Cause(b.hctx)
			}
			if res.Err == nil { // not expected: every step settles or is cut
				res.Err = ErrShutdown
			}
			b.done(i)
		}
		if res.Outcome == Left || res.Outcome == Malformed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: res.MessageID})
		}
	}
	return resp
}

// do works on one step: the stop's report, or the handler and its report.
// It returns without settling when the time is out: the step's records are
// then listed.
func (b *batch) do(s *lambdaStep) {
	tok := s.tok
	if s.stop {
		if s.rctx.Err() != nil {
			return
		}
		_, err := b.cb.Fail(s.rctx, tok, stoppingReason)
		b.settle(s, ErrStopping, err)
		return
	}
	if s.hctx.Err() != nil {
		return
	}
	start := time.Now()
	outs, herr := b.call(s.hctx, s.msg)
	b.obs.handled(b.ctx, time.Since(start))
	if s.hctx.Err() != nil {
		// Cut short: not reported, whatever the handler returned.
		return
	}
	var err error
	if herr != nil {
		_, err = b.cb.Fail(s.rctx, tok, callback.NewReason(lambdaErrorText(herr, tok)))
	} else {
		_, err = b.cb.Succeed(s.rctx, tok, outs)
		var ce *callback.Error
		if errors.Is(err, callback.ErrInvalid) && errors.As(err, &ce) && ce.Attempts == 0 {
			// Outputs refused before sending (more than 50): no retry
			// would make them valid, so the step fails with that error.
			herr = fmt.Errorf("worker: the handler's outputs were refused: %w", err)
			_, err = b.cb.Fail(s.rctx, tok, callback.NewReason(lambdaErrorText(herr, tok)))
		}
	}
	b.settle(s, herr, err)
}

// errGoexit is the error of a handler that called runtime.Goexit.
var errGoexit = errors.New("worker: the handler called runtime.Goexit without returning")

// call runs the handler with ctx on a goroutine of its own, so that a panic,
// or a runtime.Goexit, becomes an error; it waits for it, or for ctx to end.
func (b *batch) call(ctx context.Context, msg callback.Message) ([]callback.Output, error) {
	type outcome struct {
		outs []callback.Output
		err  error
	}
	ch := make(chan outcome, 1)
	go func() {
		var o outcome
		returned := false
		defer func() {
			if !returned {
				if v := recover(); v != nil {
					o.err = &PanicError{Value: v}
					b.log.LogAttrs(ctx, slog.LevelError, "worker: the handler panicked; failing the step",
						slog.Any("token", msg.Token),
						slog.String("panic", lambdaErrorText(o.err, msg.Token)),
						slog.String("stack", redact(string(debug.Stack()), msg.Token)))
				} else {
					o.err = errGoexit
				}
			}
			ch <- o
		}()
		o.outs, o.err = b.h(ctx, msg)
		returned = true
	}()
	select {
	case o := <-ch:
		return o.outs, o.err
	case <-ctx.Done():
		// A handler that ignores its context is not waited for.
		return nil, context.Cause(ctx)
	}
}

// settle records the outcome of a step's report for each of its records.
// herr is the handler's error (or ErrStopping), err the report's.
func (b *batch) settle(s *lambdaStep, herr, err error) {
	var out Outcome
	switch {
	case err == nil:
		out = Succeeded
		if herr != nil {
			out = Failed
		}
	case errors.Is(err, callback.ErrConflict), errors.Is(err, callback.ErrNotFound):
		out, herr = Settled, err
	default:
		out, herr = Left, err
		if s.rctx.Err() != nil { // the report was cut by the deadline
			herr = fmt.Errorf("%w: %w", context.Cause(s.rctx), err)
		}
	}
	if herr != nil {
		herr = redactError(herr, s.tok)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	for _, i := range s.recs {
		b.settled[i] = true
		b.results[i].Outcome, b.results[i].Err = out, herr
		b.results[i].Deleted = out != Left
	}
	b.calls.Add(1)
	b.mu.Unlock()
	defer b.calls.Done()
	for _, i := range s.recs {
		b.done(i)
	}
}

// done logs a record's result, ends its span and gives it to OnResult.
func (b *batch) done(i int) {
	res := b.results[i]
	b.obs.done(b, i, res.Outcome)
	level, msg := slog.LevelInfo, "worker: step completed"
	switch res.Outcome {
	case Settled:
		msg = "worker: the step was already completed or is unknown; record settled"
	case Left:
		level, msg = slog.LevelWarn, "worker: record listed in BatchItemFailures for redelivery"
	case Malformed:
		level, msg = slog.LevelWarn, "worker: malformed record listed in BatchItemFailures for the queue's redrive policy"
	}
	if b.log.Enabled(b.ctx, level) {
		attrs := []slog.Attr{slog.String("outcome", res.Outcome.String()), slog.String("message_id", res.MessageID)}
		if !res.Token.IsZero() {
			attrs = append(attrs, slog.Any("token", res.Token), slog.String("status", string(res.Status)))
		}
		if res.ReceiveCount > 0 {
			attrs = append(attrs, slog.Int("receive_count", res.ReceiveCount))
		}
		if res.Err != nil {
			attrs = append(attrs, slog.String("error", lambdaErrorText(res.Err, res.Token)))
		}
		b.log.LogAttrs(b.ctx, level, msg, attrs...)
	}
	if b.opts.OnResult != nil {
		b.opts.OnResult(res)
	}
}

// lambdaErrorText returns err's text with any raw token replaced by its
// redacted form.
func lambdaErrorText(err error, tok callback.Token) string {
	text, _ := errorText(err)
	return redact(text, tok)
}

// errorText returns err.Error(), and true; or, when the Error method panics
// (a typed nil, say), a text that says so, and false.
func errorText(err error) (s string, ok bool) {
	defer func() {
		if recover() != nil {
			s, ok = fmt.Sprintf("an error of type %T whose Error method panicked", err), false
		}
	}()
	return err.Error(), true
}

// redactedError is an error whose text has the raw token replaced by its
// redacted form; errors.Is and errors.As still reach the error beneath.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// redactError returns err, or a redactedError around it when its text shows
// the raw token or cannot be read.
func redactError(err error, tok callback.Token) error {
	text, ok := errorText(err)
	if red := redact(text, tok); !ok || red != text {
		return &redactedError{text: red, err: err}
	}
	return err
}
