// Command sweep finds the SageMaker Pipelines callback steps that wait for a
// completion nobody will send, and fails them: an operator's tool for the
// steps a callback step's lack of a timeout leaves stuck (a message expired
// or dead-lettered, a worker that never answered, an execution left
// Stopping).
//
// It reads the standard AWS configuration (environment, ~/.aws, ...), which
// includes the endpoint: AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_SAGEMAKER and
// AWS_ENDPOINT_URL_SQS) points it at examples/localserver.
//
//	go run ./examples/sweep -pipeline NAME [-older-than D] [-fail REASON]
//	go run ./examples/sweep -dlq URL [-older-than D] [-fail REASON]
//
// With -pipeline it lists the pipeline's waiting callback steps, with
// callback.Waiting: every step Executing or Stopping of every execution
// Executing or Stopping, oldest first, with its execution, step, status,
// age and token, redacted (a fingerprint; the raw token is never printed).
// -older-than keeps the steps that have waited longer than D (a step whose
// start is unknown is then left out).
//
// With -dlq it reads a dead-letter queue instead: each message on it that is
// a callback step's (callback.ParseMessage) is listed with its execution,
// status and age (since the message was first sent; the message does not
// name its step). -older-than keeps the messages sent longer ago than D. A
// step whose two messages (Executing and Stopping) are both there is listed
// once. The messages are received, and so hidden from other readers while
// the sweep runs (five minutes at most, should it be killed); the ones it
// does not delete are made visible again at the end, their receive count
// one higher.
//
// Without -fail, sweep changes nothing. With -fail REASON, it fails each step
// listed with REASON (callback.Client.Fail), and with -dlq deletes each
// message once its step's report is acknowledged. It is safe to repeat and
// safe while workers run: the report is idempotent, and a step completed
// meanwhile, by a worker or an earlier sweep (ConflictException), or unknown
// to the service (ResourceNotFound) counts as settled; with -dlq its message
// is deleted too. A message that is not a callback message is left where it
// is, and counts as an error. A report that fails otherwise (throttled
// beyond the retry policy, access denied, ...) counts as an error, and its
// message is left for the next sweep.
//
// # Output
//
// Standard output: a table, one step a line (EXECUTION, STEP, STATUS, AGE,
// TOKEN and, with -fail, RESULT: failed, settled or error), or "no waiting
// step found" when it listed none and met no error, then the summary line
// "listed N, failed N, settled N, errors N". Standard error: each error,
// the token redacted.
//
// Exit status: 0 when there was no error; 2 for bad flags, an invalid
// reason or an AWS configuration that cannot be loaded (nothing is sent); 1
// when a call failed, a step could not be read or reported, or a message was
// malformed.
package main
