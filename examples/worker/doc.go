// Command worker runs a small SageMaker Pipelines run end to end against the
// local fakes of package callbacktest, with no AWS account: four callback
// steps start and put their messages on the fake SQS queue, a worker.Worker
// receives them and runs a handler for each, and prints what became of each
// step (tokens redacted):
//
//	go run ./examples/worker
//
// Two steps succeed with output parameters, one fails (its handler returns an
// error, which becomes the step's FailureReason), and one is stopped while its
// handler runs (StopPipelineExecution's "Stopping" message cancels the
// handler and the step is failed with "pipeline execution is stopping").
// With -v the worker's log goes to stderr. With -metrics the worker's and
// the reports' metrics (the MeterProvider of worker.Options and of
// callback.Options) are printed at the end, through a small MeterProvider of
// the command's own:
//
//	go run ./examples/worker -metrics
//
// Exit status: 0 when every step ended as expected and the queue is empty; 1
// otherwise; 2 for bad flags.
package main
