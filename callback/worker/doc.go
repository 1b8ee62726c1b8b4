// Package worker runs SageMaker Pipelines callback steps end to end from
// their SQS queue: it receives each step's message, runs your Handler, reports
// the outcome with callback.Client (SendPipelineExecutionStepSuccess with the
// handler's outputs, or SendPipelineExecutionStepFailure with its error), and
// deletes the message once the report is settled.
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
// the same few ways. Each is listed below with what the Worker does instead.
//
// # Deleting the message before the report is acknowledged
//
// A message deleted before SageMaker has acknowledged the outcome is lost
// when the report fails: the step waits forever. The Worker deletes a message
// only once the report is acknowledged, or once the service answers that the
// step is already completed (callback.ErrConflict) or unknown
// (callback.ErrNotFound), since then nothing is left to do. When a report
// fails for a reason that may pass (callback.ErrThrottled,
// callback.ErrUnavailable, ..., after the callback client's retry policy),
// the message is left on the queue and comes back after its visibility
// timeout; the report is made again then. The reports are idempotent: the
// callback client derives each ClientRequestToken from the token and the
// outcome, so a repeat of the same outcome is answered as the first.
//
// # Making SQS redeliver by failing
//
// A consumer that throws to have SQS redeliver a message turns a failed step
// into a retry loop that ends in the dead-letter queue, and the pipeline never
// learns why. A handler's error is a result like any other: the Worker
// reports the step failed, with callback.ReasonFromError(err) as the reason
// (any occurrence of the raw token replaced by its redacted form), and
// deletes the message. Retrying the work is the handler's business.
//
// # Ignoring the "Stopping" message
//
// StopPipelineExecution makes the pipeline send one more message for the
// waiting step, with status Stopping, and the execution stops only once the
// step is completed. A consumer that ignores it leaves the execution
// "Stopping" for good. The Worker cancels the step's handler if it runs here
// (context.Cause of the handler's context is then ErrStopping) and reports
// the step failed with StoppingReason ("pipeline execution is stopping"),
// whatever the handler returns. When the step does not run here (another
// worker has it, or its message has not come yet), the Worker reports the
// failure itself, without waiting: the stop takes effect at once, and the
// other worker's report is then refused as already completed, which settles
// its message. The Stopping message is deleted once the failure is
// acknowledged, or refused as already completed or unknown. A step's
// Executing message that comes to this Worker after its Stopping message
// (within the last 4096 stops) is not run.
//
// A Stopping message is received like any other, when a slot is free: with
// every slot taken by handlers that run for long, stops wait for one. Leave a
// slot's worth of room in Concurrency if stops must act fast.
//
// # Letting the message become visible again mid-work
//
// A message whose visibility timeout runs out while it is being worked on
// goes to another consumer, and two workers complete one step. The Worker
// extends the visibility of each message it holds by VisibilityTimeout every
// Heartbeat (VisibilityTimeout/3 by default) with ChangeMessageVisibility,
// from the moment it is received until it is deleted or left, the report's
// retries included. If an extension says the message is gone (received
// again elsewhere, or deleted), the Worker logs it and goes on: the step may
// then be worked on twice, and the second report is answered as the first
// or refused as already completed. A message delivered twice to the same
// Worker while its step runs here is not run twice: the delivery joins the
// running step, is kept invisible with it and deleted with it. Because SQS
// delivers at least once, a handler must still be safe to repeat.
//
// # Crashing on a handler's panic
//
// A panic that kills the consumer leaves the step waiting until the message
// comes back, then kills the next consumer too. The Worker recovers a
// handler's panic, logs it with its stack, and reports the step failed with
// "handler panicked: <value>" (a *PanicError); the other handlers go on.
//
// # Bounded concurrency
//
// At most Concurrency handlers run at once, and the Worker never receives
// more messages than it has free slots: a message is never held invisible by
// a Worker that has not started on it, where another worker could. (A loop
// that receives batches of 10 for each of N goroutines holds up to 10N
// messages while it works on N.)
//
// # Shutdown
//
// When Run's context ends, the Worker stops receiving (a long poll in
// progress is cut short), and the handlers in flight have ShutdownTimeout to
// finish and have their outcomes reported and their messages deleted. Then
// the contexts of those still running are cancelled (context.Cause is
// ErrShutdown), nothing more is reported, and each message not yet settled is
// made visible again at once (ChangeMessageVisibility to 0) for another
// worker to do: the step did not fail, the worker stopped, so a failure
// would be the wrong outcome to report. Run returns once every handler has
// returned; a handler that ignores its context holds Run. Nothing is lost: a
// message is either settled and deleted, or back on the queue. (One window
// remains, as with any SQS consumer: messages that SQS hands to a long poll
// at the very moment it is cut short come back only after their visibility
// timeout.)
//
// # Malformed messages
//
// A message whose body callback.ParseMessage refuses is neither lost nor
// retried forever: the Worker logs it (with its MessageId and receive count,
// never its body or a token) and leaves it untouched, its visibility not
// extended, so that it comes back after each visibility timeout until the
// queue's redrive policy moves it to the dead-letter queue. Give the queue a
// redrive policy.
//
// # Results and logs
//
// Options.OnResult gets a Result for each message: its Outcome (Succeeded,
// Failed, Settled, Left or Malformed), the error that explains it, and
// whether it was deleted. The Logger gets the same at Info (Warn for a
// message left or malformed, Error for a panic); tokens appear only in their
// redacted form.
//
// # Timing
//
// WaitTime and VisibilityTimeout go to SQS in whole seconds. Heartbeat,
// ShutdownTimeout and the callback client's retry policy run on the Worker's
// clock. Against callbacktest, whose queue can run its seconds fast
// (QueueOptions.Second), scale the Worker's Heartbeat along with it.
package worker
