package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/internal/safetel"
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

	// HandlerTimeout bounds each run of the handler, as
	// Options.HandlerTimeout does for a Worker: the handler's context is
	// cancelled with cause ErrHandlerTimeout, the handler abandoned, and
	// the step failed with a reason that says it timed out and after how
	// long. Zero or negative means no limit but the invocation's deadline.
	HandlerTimeout time.Duration

	// MaxReceives bounds how often a step's record is run, as
	// Options.MaxReceives does for a Worker: a record received more than
	// MaxReceives times (its ApproximateReceiveCount) is not run again, and
	// its step is failed with a reason that names the count. Set it below
	// the queue's maxReceiveCount. Zero or negative means no limit.
	MaxReceives int

	// Logger gets the outcome of every record, as a Worker's Logger does:
	// tokens redacted, message bodies never. Nil means slog.Default(). A
	// panic of its handler is recovered, as for a Worker's.
	Logger *slog.Logger

	// OnResult, when not nil, is called with the Result of every record of
	// the batch (duplicates of a step included, each with its own
	// MessageID), before the function returns, unless that would make
	// the function late: the function waits for these calls (and for the
	// records' span End and log) until DeadlineMargin/4 before the
	// deadline, and answers then; calls still running go on after it
	// (TestLambdaAnswersInTimeWithSlowTelemetry). It must not block for
	// long. A panic in it is logged and goes no further.
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
//     step stopped in the same batch, or in an earlier batch of this process
//     (within the last 4096 stops, as a Worker remembers them), is not run,
//     and is settled by the stop's report (Failed, Err ErrStopping;
//     TestLambdaStopRememberedAcrossBatches);
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
// (BenchmarkLambdaBatch10Delay50ms; TestLambdaDelayedReportsConcurrent
// checks ten 200ms reports in well under their serial 2s).
//
// DeadlineMargin before the invocation's deadline, the handlers still running
// are cancelled, with context.Cause ErrShutdown, and their records are listed
// (Left, Err ErrShutdown): the step did not fail, the function ran out of
// time. Whatever such a handler returns afterwards is not reported. The
// function returns in time even when a handler ignores its context; that
// handler's goroutine runs on, and its outcome is dropped. This holds with
// Lambda's default timeout of 3s, under AWS's Runtime Interface Emulator
// (TestLambdaEmulator/HandlerOutlivesTimeout), and whatever the spans'
// start and End, the instruments, the Logger and OnResult cost
// (TestLambdaAnswersInTimeWithSlowTelemetry).
// Without a deadline on ctx, the function waits for every handler, but
// LambdaOptions.HandlerTimeout still bounds each
// (TestLambdaHandlerTimeoutAndMaxReceives).
//
// The function shares one engine with the Worker: the same parsing,
// handler rules, reports, bounds (HandlerTimeout, MaxReceives), Results,
// logs and telemetry. It is safe for concurrent invocations in one process.
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
	eng := newEngine(cb, h, o.Logger, o.OnResult, o.TracerProvider, o.MeterProvider, o.HandlerTimeout, o.MaxReceives)
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		switch {
		case cb == nil:
			return events.SQSEventResponse{}, errors.New("worker: LambdaHandler has no callback client")
		case h == nil:
			return events.SQSEventResponse{}, errors.New("worker: LambdaHandler has no handler")
		}
		b := &batch{eng: eng, concurrency: o.Concurrency, margin: o.DeadlineMargin}
		return b.run(ctx, ev.Records), nil
	}
}

// batch is one invocation of a LambdaHandler's function.
type batch struct {
	eng         *engine
	concurrency int           // LambdaOptions.Concurrency
	margin      time.Duration // LambdaOptions.DeadlineMargin

	ctx  context.Context // the invocation's, for the log
	rctx context.Context // the reports': ends margin/2 before the deadline

	results []Result // one per record, in the batch's order
	records []events.SQSMessage
	steps   []*lambdaStep // by record; nil for a malformed one

	// Each record's span (nil without a TracerProvider), and rctx with it,
	// once begun (see begin).
	spans    []safetel.Span
	spanCtxs []context.Context
	now      time.Time // when the invocation started
	cut      time.Time // the handlers' deadline; zero without one

	mu      sync.Mutex
	closed  bool           // the function is answering: outcomes are dropped
	settled []bool         // by record
	calls   sync.WaitGroup // done calls of settled records under way
}

// lambdaStep is one step of a batch: every record of its token.
type lambdaStep struct {
	tok      callback.Token
	msg      callback.Message // its first Executing record's message, for the handler
	stop     bool             // a Stopping record came for it in the batch
	receives int              // the highest receive count of its Executing records
	recs     []int            // its records, by index

	// Set by begin, once: the batch's contexts with its first record's
	// span, and the end of hctx.
	once       sync.Once
	hctx, rctx context.Context
	cancel     context.CancelFunc
}

// run handles the records and returns the batch's answer.
func (b *batch) run(ctx context.Context, records []events.SQSMessage) events.SQSEventResponse {
	b.results = make([]Result, len(records))
	b.settled = make([]bool, len(records))
	b.records, b.steps = records, make([]*lambdaStep, len(records))
	b.spans = make([]safetel.Span, len(records))
	b.spanCtxs = make([]context.Context, len(records))
	b.ctx, b.rctx, b.now = ctx, ctx, time.Now()
	answerBy := time.Time{} // when the answer must go, done calls or not
	if deadline, ok := ctx.Deadline(); ok {
		margin := min(b.margin, time.Until(deadline)/2)
		b.cut, answerBy = deadline.Add(-margin), deadline.Add(-margin/4)
		var cancel context.CancelFunc
		b.rctx, cancel = context.WithDeadlineCause(ctx, deadline.Add(-margin/2), ErrShutdown)
		defer cancel()
	}

	// Scan the batch: parse every record and group them by step, so that
	// a stop in the batch is known before any handler starts. The records'
	// telemetry begins on other goroutines (see begin): a slow provider
	// must not make the answer late.
	var (
		steps   []*lambdaStep
		byToken = make(map[callback.Token]*lambdaStep)
	)
	for i, rec := range records {
		msg, res, ok := parse(rec.MessageId, rec.Body, rec.Attributes)
		b.results[i] = res
		if !ok {
			b.settled[i] = true
			b.calls.Add(1)
			go func() { // as the others' done calls, not waited for past answerBy
				defer b.calls.Done()
				b.record(i)
				b.done(i)
			}()
			continue
		}
		s := byToken[msg.Token]
		if s == nil {
			s = &lambdaStep{tok: msg.Token}
			byToken[msg.Token] = s
			steps = append(steps, s)
		}
		b.steps[i] = s
		s.recs = append(s.recs, i)
		switch {
		case msg.Status == callback.StatusStopping:
			s.stop = true
			b.eng.stop(msg.Token)
		case s.msg.Token.IsZero():
			s.msg = msg
			fallthrough
		default:
			s.receives = max(s.receives, res.ReceiveCount)
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
	if c := b.concurrency; c > 0 {
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
	var resp events.SQSEventResponse
	for i := range b.results {
		res := &b.results[i]
		if !b.settled[i] {
			res.Outcome, res.Err = Left, context.Cause(b.rctx)
			if res.Err == nil { // cut at b.cut, the handlers' deadline
				res.Err = ErrShutdown
			}
			b.calls.Add(1)
			go func() {
				defer b.calls.Done()
				b.begin(b.steps[i]) // if its step never came to do
				b.steps[i].cancel()
				b.done(i)
			}()
		}
		if res.Outcome == Left || res.Outcome == Malformed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: res.MessageID})
		}
	}
	// The records' spans, logs and OnResult calls are waited for, but
	// not past answerBy: slow ones must not make the answer late.
	calls := make(chan struct{})
	go func() {
		b.calls.Wait()
		close(calls)
	}()
	if answerBy.IsZero() {
		<-calls
	} else {
		t := time.NewTimer(time.Until(answerBy))
		defer t.Stop()
		select {
		case <-calls:
		case <-t.C:
		}
	}
	return resp
}

// do works on one step: the stop's report, or the engine's work (which
// leaves a step cut at the handlers' deadline unreported: Left).
func (b *batch) do(s *lambdaStep) {
	b.begin(s)
	defer s.cancel()
	switch {
	case s.rctx.Err() != nil:
		// Out of time: listed when the batch answers.
	case s.stop || b.eng.stopping(s.tok):
		// Stopped in this batch, or in an earlier one of this process.
		out, why := b.eng.finish(s.rctx, s.tok, nil, ErrStopping)
		b.settle(s, out, why)
	default:
		out, why := b.eng.work(s.rctx, s.hctx, s.msg, s.receives)
		b.settle(s, out, why)
	}
}

// begin begins the telemetry of a step's records, once: their spans,
// their age and the messages held, and makes the step's contexts. The
// step's handler and report run with its first record's span, so that
// their spans (the SDK's among them) nest under it.
func (b *batch) begin(s *lambdaStep) {
	s.once.Do(func() {
		for _, i := range s.recs {
			b.record(i)
		}
		s.rctx = b.spanCtxs[s.recs[0]]
		s.hctx, s.cancel = s.rctx, func() {}
		if !b.cut.IsZero() {
			s.hctx, s.cancel = context.WithDeadlineCause(s.rctx, b.cut, ErrShutdown)
		}
	})
}

// record begins the telemetry of record i: its span, its age, and one more
// message held (done counts it out).
func (b *batch) record(i int) {
	b.spanCtxs[i], b.spans[i] = b.eng.tel.start(b.rctx, b.records[i].MessageId)
	b.eng.tel.received(b.ctx, b.records[i].Attributes, b.now)
	b.eng.tel.hold(b.ctx, 1)
}

// settle records a step's outcome and the error that explains it for each
// of its records, unless the batch is answering already.
func (b *batch) settle(s *lambdaStep, out Outcome, why error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	for _, i := range s.recs {
		b.settled[i] = true
		b.results[i].Outcome, b.results[i].Err = out, why
		b.results[i].Deleted = out != Left
	}
	b.calls.Add(1)
	b.mu.Unlock()
	defer b.calls.Done()
	for _, i := range s.recs {
		b.done(i)
	}
}

// done ends a record: its Result, span, log and OnResult, by the engine.
func (b *batch) done(i int) {
	res := b.results[i]
	msg := "worker: step completed"
	switch res.Outcome {
	case Settled:
		msg = "worker: the step was already completed or is unknown; record settled"
	case Left:
		msg = "worker: record listed in BatchItemFailures for redelivery"
	case Malformed:
		msg = "worker: malformed record listed in BatchItemFailures for the queue's redrive policy"
	}
	b.eng.done(b.spanCtxs[i], b.spans[i], res, msg)
	b.eng.tel.hold(b.ctx, -1)
}
