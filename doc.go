// Package sagemakercallback is the root of a module that finishes Amazon
// SageMaker Pipelines callback steps from Go. The root package holds no code;
// the tour:
//
//   - callback: the call. Value types checked when made (Token, Reason, Output,
//     RequestToken, ExecutionARN, Message), Client with Fail and Succeed, the
//     package-level Fail and Succeed, a deterministic ClientRequestToken, and
//     error classes for errors.Is.
//   - callback/callbacktest: a local, in-memory SageMaker for the two calls,
//     on loopback HTTP, for tests without an AWS account; faults on demand;
//     and the SQS queue the steps' messages go to, with StartStep and
//     StopExecution playing the pipeline.
//   - worker: the whole loop from SQS: receive, run the handler, report,
//     delete; visibility kept while working, Stopping honoured, panics
//     reported, bounded concurrency, a shutdown that loses nothing.
//   - validate: the rules of AWS's service model for every member of the two
//     requests, as data, with checks for raw SDK inputs and a client option
//     that adds them to a plain *sagemaker.Client.
//   - retry: the one retry policy, on github.com/cenkalti/backoff/v4, and the
//     classifier of what is worth retrying.
//   - examples/fail, examples/succeed, examples/localserver, examples/worker:
//     programs to run.
//
// Start with:
//
//	go run ./examples/fail
//	go test ./...
package sagemakercallback
