// Command fail reports a SageMaker Pipelines callback step as failed, with
// callback.Fail.
//
// With no flags it needs no AWS account: it starts the local fake
// (callbacktest) in process, registers a callback step, fails it with a reason
// made from a real Go error, and prints what it sent (the token redacted), the
// execution ARN, and what the fake recorded:
//
//	go run ./examples/fail
//
// With -token it reports to SageMaker, with credentials and region from the
// standard AWS configuration chain (environment, ~/.aws, ...), or to the
// endpoint given with -endpoint:
//
//	go run ./examples/fail -token AbCdE12345 -reason "disk full"
//	go run ./examples/fail -token AbCdE12345 -endpoint http://127.0.0.1:8080
//
// Exit status: 0 when the failure was acknowledged; 2 for bad flags or an
// invalid token or reason (nothing is sent); 1 when the service refused the
// report or could not be reached, with a message that names the class (not
// found, conflict, throttled, ...).
package main
