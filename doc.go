// Package sagemakercallback is the root of a module that finishes Amazon
// SageMaker Pipelines callback steps from Go. The root package holds no code;
// each package's documentation tells its part:
//
//   - callback: the call. Value types checked when made, Client with Fail and
//     Succeed, a derived ClientRequestToken, error classes for errors.Is.
//   - callback/worker: the whole loop from SQS: receive, run the handler,
//     report, delete; and the same rules as an SQS-triggered AWS Lambda
//     function (LambdaHandler). Traces and metrics through the AWS SDK's own
//     interfaces, as in package callback.
//   - callback/callbacktest: a local SageMaker and SQS queue on loopback HTTP
//     for tests without an AWS account, with faults on demand.
//   - validate: the rules of AWS's service model for the two requests, as
//     data, with checks for raw SDK inputs.
//   - retry: the one retry policy, on github.com/cenkalti/backoff/v4.
//   - examples/fail, examples/succeed, examples/worker, examples/localserver,
//     examples/lambda: programs to run; examples/otel, a module of its own
//     that wires OpenTelemetry through AWS's adapters.
//
// Start with:
//
//	go run ./examples/fail
//	go test ./...
package sagemakercallback
