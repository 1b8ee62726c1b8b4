// Package worker runs SageMaker Pipelines callback steps end to end from
// their SQS queue: it receives each step's message, runs your Handler, reports
// the outcome with a callback.Client (success with the handler's outputs, or
// failure with its error), and deletes the message once the report is
// settled.
//
//	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
//		uri, err := train(ctx, m.Arguments)
//		if err != nil {
//			return nil, err // the step fails with err's text as its FailureReason
//		}
//		return []callback.Output{callback.MustNewOutput("model_uri", uri)}, nil
//	}
//	w := worker.New(sqs.NewFromConfig(cfg), callback.New(sagemaker.NewFromConfig(cfg)), h,
//		func(o *worker.Options) {
//			o.QueueURL = queueURL
//			o.Concurrency = 4
//		})
//	err := w.Run(ctx) // until ctx ends; then a graceful shutdown
//
// Every team that uses callback steps writes this loop, and it goes wrong in
// the same few ways. Each is listed below with what the Worker does instead,
// and the test that shows it.
//
// # Deleting the message before the report is acknowledged
//
// A message deleted before SageMaker has acknowledged the outcome is lost
// when the report fails: the step waits forever. The Worker deletes a message
// only once the report is acknowledged, or once the service answers that the
// step is already completed (callback.ErrConflict) or unknown
// (callback.ErrNotFound), since then nothing is left to do. (AWS does not
// document what the service answers to a report for a step already
// completed; callbacktest answers ConflictException, and that is what
// "refused as already completed" means below.) When a report
// fails for a reason that may pass (callback.ErrThrottled,
// callback.ErrUnavailable, ..., after the callback client's retry policy),
// the message is left on the queue and the report is made again when it comes
// back (TestReportRetryableLeaves). A report made again carries the same
// ClientRequestToken (see package callback). A delete that fails after the
// report leaves the message to come back and be settled then
// (TestDeleteFails).
//
// # Making SQS redeliver by failing
//
// A consumer that throws to have SQS redeliver a message turns a failed step
// into a retry loop that ends in the dead-letter queue, and the pipeline never
// learns why. A handler's error is a result like any other: the Worker
// reports the step failed, with the error's text as the reason (see
// Handler), and deletes the message (TestHandlerError). Retrying the work is
// the handler's business. Outputs that cannot be sent (a zero Output, or more
// than 50) fail the step with why (TestOutputsRefused).
//
// # Crashing on what a handler does
//
// A panic that kills the consumer leaves the step waiting until the message
// comes back, then kills the next consumer too. The Worker runs each handler
// on a goroutine of its own and recovers its panic: the step is reported
// failed with "handler panicked: <value>" (a *PanicError), the panic is
// logged with its stack, and the other handlers go on (TestPanic). Nothing
// else a handler does can stop the Worker either: an error whose Error
// method panics, a typed nil error (var e *MyErr; return nil, e), a panic
// value whose String method panics, or runtime.Goexit (what t.Fatal calls)
// each fail the step with a reason that says what happened, free the slot
// and end the message's heartbeat (TestHandlerCannotHurtWorker). The
// handler's error is read once, on the handler's goroutine.
//
// # Hung connections
//
// The SDK's HTTP client sets no read timeout, so a half-open connection can
// hold an SQS call for good. Every SQS call the Worker makes is bounded
// (Options.CallTimeout; a ReceiveMessage gets its long poll on top), and a
// call that runs out counts as failed: a receive is made again, an extension
// is tried at the next heartbeat, and a message whose delete ran out comes
// back and is settled then. A hung call holds its slot no longer than its
// bound (TestHungSQSCallsGivenUp), and Run returns within ShutdownTimeout
// plus the bound even when every SQS call hangs (TestAllSQSCallsHang); the
// deletes or hand-backs of a step delivered more than once share that bound
// (TestHungCallsOfDuplicatesShareTheBound). The
// reports have their own bound, the callback client's retry policy.
//
// # Ignoring the "Stopping" message
//
// StopPipelineExecution makes the pipeline send one more message for the
// waiting step, with status Stopping, and the execution stops only once the
// step is completed. A consumer that ignores it leaves the execution
// "Stopping" for good. The Worker cancels the step's handler if it runs here
// (context.Cause of the handler's context is then ErrStopping) and reports
// the step failed with StoppingReason at once, whatever the handler returns
// (TestStopping). When the step does not run here (another worker has it, or
// its message has not come yet) the Worker reports the failure all the same,
// and the other worker's report is then refused as already completed, which
// settles its message. A step's Executing message that comes to this Worker
// after its Stopping message (within the last 4096 stops) is not run
// (TestStoppingNotRunningHere). A Stopping message waits for a free slot like
// any other: leave a slot's worth of room in Concurrency if stops must act
// fast.
//
// # Letting the message become visible again mid-work
//
// A message whose visibility timeout runs out while it is being worked on
// goes to another consumer, and two workers complete one step. The Worker
// extends the visibility of each message it holds every Heartbeat, from the
// moment it is received until it is deleted or left, the report's retries
// included (TestVisibilityExtension). If an extension says the message is
// gone (received again elsewhere, or deleted), the Worker logs it and goes
// on: the step may then be worked on twice, and the second report is
// refused as already completed, or recognised as the first (the same
// outcome, the same ClientRequestToken), which settles it
// (TestTwoWorkersRedelivery). A message delivered twice to the same Worker
// while its step runs here joins the running step: the handler runs once and
// both deliveries are deleted with it (TestDuplicateDelivery). Because SQS
// delivers at least once, a handler must still be safe to repeat.
//
// # Bounded concurrency
//
// At most Concurrency handlers run at once (not counting those abandoned
// once their context ended, which run on outside the count), and the Worker
// never receives more messages than it has free slots, so a message is never
// held invisible by a Worker that has not started on it, where another
// worker could (TestConcurrencyBound).
//
// # Shutdown
//
// When Run's context ends, the Worker stops receiving (a long poll in
// progress is cut short), and the handlers in flight have ShutdownTimeout to
// finish and have their outcomes reported and their messages deleted
// (TestShutdownGrace). Then the contexts of those still running are
// cancelled (context.Cause is ErrShutdown), nothing more is reported, and
// each message not yet settled is made visible again at once for another
// worker: the step did not fail, the worker stopped (TestShutdownMidHandler).
// A step reported within the grace has its message deleted even when the
// delete outlasts the grace: the delete has its own CallTimeout
// (TestDeleteAfterGrace). Run does not wait for a handler that ignores its
// context: it is abandoned, as under HandlerTimeout. A message is either
// settled and deleted, or back on the queue (TestShutdownLosesNothing);
// messages that SQS hands to a long poll at the very moment it is cut short
// come back only after their visibility timeout, as with any SQS consumer.
//
// # Steps that never end
//
// A handler that never returns holds its slot, and the message's
// visibility is extended for good: the pipeline waits. With
// Options.HandlerTimeout, a handler still running after it has its context
// cancelled (context.Cause is ErrHandlerTimeout) and is abandoned: its step
// is failed with "handler timed out after <HandlerTimeout>", its message
// deleted and its slot freed, even when it ignores its context
// (TestHandlerTimeout). A step whose work keeps killing the process (out of
// memory, say) comes back until the queue's redrive policy moves its
// message aside, and the pipeline never learns why. With
// Options.MaxReceives, a message received more than MaxReceives times is
// not run again: its step is failed with a reason that names the count
// (TestMaxReceives). Set MaxReceives below the queue's maxReceiveCount, so
// that the Worker fails the step before SQS dead-letters its message.
// LambdaHandler takes the same two options (LambdaOptions).
//
// # Malformed messages
//
// A message whose body callback.ParseMessage refuses is neither lost nor
// retried forever: the Worker logs it (with its MessageId, its receive count
// and the parse error cut to 300 bytes, never its body; under 1 KB a
// delivery) and leaves it untouched, its visibility not extended, so that it
// comes back after each visibility timeout until the queue's redrive policy
// moves it to the dead-letter queue (TestMalformed, TestMalformedBounded).
// Give the queue a redrive policy.
//
// # Results and logs
//
// Options.OnResult gets a Result for each message: its Outcome, the error
// that explains it, and whether it was deleted. The Logger gets the same at
// Info (Warn for a message left or malformed, Error for a panic).
//
// A raw token never leaves the Worker except to SageMaker as the
// CallbackToken: in the log, in the reasons reported, in Result.Err and in a
// *PanicError's Error, each occurrence of the step's raw token (or of the
// token found in a malformed body) is replaced by its redacted form,
// callback.Token's String (TestResultErrRedacted). Result.Err's text is
// redacted, and errors.Is and errors.As still reach what is beneath it: the
// handler's own error, a *PanicError, ErrStopping, ErrShutdown and the
// callback client's error classes (callback.ErrConflict, ...). The value a
// handler panicked with stays as it was, in PanicError.Value.
//
// # On AWS Lambda
//
// LambdaHandler applies the same rules to the batches of an SQS-triggered
// Lambda function (see its doc). The function it returns is safe for many
// invocations at once in one process, as aws-lambda-go (v1.51 and later) runs
// it on Lambda Managed Instances when AWS_LAMBDA_MAX_CONCURRENCY is above 1:
// the invocations share the callback client, the Handler and the
// LambdaOptions (Logger, OnResult, TracerProvider, MeterProvider), and each
// keeps its batch's state to itself (TestLambdaConcurrentInvocations, under
// -race). The Handler and OnResult are then called from several invocations
// at once, as they already are from the steps of one batch: they must be
// safe for concurrent use.
//
// # Traces and metrics
//
// With Options.TracerProvider and Options.MeterProvider (smithy-go's
// interfaces, which the AWS SDK's own clients take, and which AWS's adapter
// modules connect to OpenTelemetry) the Worker makes a span for each message,
// under which the handler's, the report's and the SQS calls' spans nest, and
// records how many messages ended how, how long the handlers ran, how old
// the messages were when received and how many are held (TestTelemetry).
// The fields' docs give the names. No span or measurement holds a raw
// token. A provider cannot hurt the Worker: one that returns nil tracers,
// spans, meters or instruments works as no provider, and a panic in a span
// or an instrument, whether the Worker calls it or the SDK's middleware
// does on the span the Worker put in the context, is logged and goes no
// further; a report or an SQS call that panicked counts as not completed,
// by the usual rules (TestMisbehavingProviders). The same holds for the
// SQS client's own provider, which each SQS call of the Worker makes safe
// as package callback does the SageMaker client's
// (TestMisbehavingSQSClientProvider).
//
// # Timing
//
// Options that cannot work are refused: Run returns an error naming them,
// before it receives anything, when a Heartbeat or a CallTimeout set is not
// shorter than the VisibilityTimeout (a message would become visible while
// it is held). A default is fitted instead: with a VisibilityTimeout of 2s,
// the default CallTimeout is VisibilityTimeout/3
// (TestRunRefusesOptionsThatCannotWork).
//
// WaitTime and VisibilityTimeout go to SQS in whole seconds. Heartbeat,
// ShutdownTimeout, CallTimeout, the bound of a ReceiveMessage (WaitTime plus
// CallTimeout) and the callback client's retry policy run on the Worker's
// clock. Against callbacktest, whose queue can run its seconds fast
// (QueueOptions.Second), scale the Worker's Heartbeat along with it, and
// keep WaitTime short if a hung receive must be given up quickly: with
// WaitTime 20s the fake answers a poll in 20 of its seconds, but a hung
// one is given up after 20 real seconds plus CallTimeout.
package worker
