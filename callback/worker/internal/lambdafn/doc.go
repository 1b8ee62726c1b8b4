// Command lambdafn is the AWS Lambda function that the worker package's
// emulator tests build and run under aws-lambda-rie: worker.LambdaHandler
// with a handler whose behaviour each step's arguments choose, reporting to
// the callbacktest server at $CALLBACK_TEST_ENDPOINT.
//
// The argument "do" of a step's message says what the handler does:
//
//	succeed  return the output n=<argument n>
//	fail     return an error whose text holds the raw token
//	panic    panic with a value whose text holds the raw token
//	block    wait for the context's end and return its error
//	ignore   sleep for the argument "ms" milliseconds, ignoring the context,
//	         then succeed
//
// Settings, from the environment: CALLBACK_TEST_ENDPOINT (required), the
// SageMaker endpoint; CALLBACK_TEST_ATTEMPTS, the retry policy's
// MaxAttempts (default 3, with millisecond waits); CALLBACK_TEST_CONCURRENCY,
// LambdaOptions.Concurrency. The log goes to standard error as JSON.
package main
