// Command localserver runs the local SageMaker fake of package callbacktest as
// a process, for tools in other languages and for trying things by hand: the
// AWS CLI, another SDK, curl. It serves SendPipelineExecutionStepFailure and
// SendPipelineExecutionStepSuccess on a loopback address until SIGINT or
// SIGTERM.
//
//	go run ./examples/localserver -token AbCdE12345
//	aws sagemaker send-pipeline-execution-step-success \
//		--endpoint-url http://127.0.0.1:8080 --callback-token AbCdE12345 \
//		--output-parameters Name=accuracy,Value=0.93
//
// Flags:
//
//	-addr host:port   the loopback address to listen on (default 127.0.0.1:8080;
//	                  port 0 picks a free one)
//	-token T          a callback token to register, each in a new pipeline
//	                  execution; repeat the flag or separate tokens with commas.
//	                  With none, one new token is made and printed.
//	-fail NAME:P      make each request meet a fault with probability P, to
//	                  try a client's retries; NAME is throttle, internal,
//	                  unavailable, limit, reset or drop (see callbacktest's
//	                  faults); repeat the flag for several
//	-seed N           the seed of the faults' random draws (default 1)
//
// On standard output it prints the server's URL, then one line per
// registered step with the token and the execution ARN. Tokens given with
// -token are printed redacted (you have them); a token it made is printed in
// full, since it is needed to call the server. On standard error it logs each
// request and its answer, with the token redacted, also inside the echoed
// error messages.
//
// Exit status: 0 after a clean stop on a signal; 2 for bad flags, an invalid
// token or an address that is not loopback; 1 when it cannot listen.
package main
