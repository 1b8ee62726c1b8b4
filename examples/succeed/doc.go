// Command succeed reports a SageMaker Pipelines callback step as succeeded,
// with output parameters, through callback.Succeed.
//
// With no flags it needs no AWS account: it starts the local fake
// (callbacktest) in process, registers a callback step, reports its success
// with two output parameters, and prints what it sent (the token redacted),
// the execution ARN and what the fake recorded:
//
//	go run ./examples/succeed
//
// With -token it reports to SageMaker, with credentials and region from the
// standard AWS configuration chain, or to the endpoint given with -endpoint;
// -output name=value may be repeated (at most 50):
//
//	go run ./examples/succeed -token AbCdE12345 -output model=s3://b/model.tar.gz -output accuracy=0.93
//
// Exit status: 0 when the success was acknowledged; 2 for bad flags or an
// invalid token or output (nothing is sent); 1 when the service refused the
// report or could not be reached, with a message that names the class.
package main
