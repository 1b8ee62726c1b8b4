// Command otel shows the library's traces and metrics in OpenTelemetry. It
// wires the OpenTelemetry SDK, through AWS's adapters smithyoteltracing and
// smithyotelmetrics, into a SageMaker client, a callback.Client and a
// worker.Worker, runs a few callback steps against the local fakes of
// package callbacktest (loopback only, no AWS account), and prints the spans
// as a tree and the metrics, from in-memory exporters:
//
//	cd examples/otel && go run .
//
// Each message the worker handles is a callback.worker.message span; the
// span the handler starts with OpenTelemetry's own API, and the report of
// the outcome, a callback.Succeed or callback.Fail span, are its children;
// and the SDK's own span for each attempt of the report
// (SageMaker.SendPipelineExecutionStepSuccess, ...) is a child of the
// report's. With -all, the SDK's spans inside each attempt are printed too. Of the four steps, two succeed (the first report of one is
// throttled, so its report takes two attempts), one fails (its handler
// returns an error), and one was completed meanwhile by someone else, so
// the worker's report meets a ConflictException and the message is settled.
// No raw callback token appears in a span or a metric: tokens show as their
// fingerprint.
//
// This is a module of its own (examples/otel/go.mod): OpenTelemetry and the
// adapters are its dependencies, never the library's. The library takes
// smithy-go's tracing.TracerProvider and metrics.MeterProvider, the
// interfaces the AWS SDK itself takes.
//
// Exit status: 0 when every step ended as expected; 1 otherwise.
package main
