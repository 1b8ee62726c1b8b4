// Package callbacktest is a local SageMaker for tests: an in-memory server
// that answers SendPipelineExecutionStepFailure and
// SendPipelineExecutionStepSuccess over real HTTP on a loopback address, as
// AWS does, so that the real AWS SDK client (or any other SDK, or the AWS CLI
// with --endpoint-url) can talk to it. The same server is the SQS queue that
// callback steps send their messages to (SQSClient, QueueURL), and starts and
// stops steps as a pipeline does (StartStep, StopExecution), so that a worker
// can be tested end to end. It is to SageMaker Pipelines' callback steps what
// net/http/httptest is to an HTTP server.
//
// # Use in a test
//
//	func TestWorker(t *testing.T) {
//		srv := callbacktest.NewServer()
//		defer srv.Close()
//		token, _ := srv.NewStep() // a callback step waiting for its outcome
//
//		runWorker(t, srv.Client(), token) // the code under test
//
//		step, _ := srv.Step(token)
//		if step.Status != callbacktest.StatusSucceeded || step.Completions != 1 {
//			t.Errorf("step = %+v", step)
//		}
//	}
//
// Client returns a *sagemaker.Client of the AWS SDK for Go v2 already pointed
// at the server (dummy static credentials, region us-east-1, the SDK's default
// retries). A client made elsewhere works too: set its BaseEndpoint to URL().
//
// # What it checks
//
// Every request goes through the checks AWS's JSON services make, in their
// order, and is answered as they answer (HTTP status, error code, message):
//
//   - the method (POST), the Content-Type (application/x-amz-json-1.1), a
//     body that is valid UTF-8 and JSON, and the X-Amz-Target operation;
//   - a SigV4 Authorization header whose credential scope names the service
//     sagemaker (the signature itself is not verified: any keys work);
//   - the JSON types of the members, then the model's constraints, reported
//     as AWS reports them: "1 validation error detected: Value 'x…' at
//     'failureReason' failed to satisfy constraint: Member must have length
//     less than or equal to 256" (every violation, joined with "; ", with
//     AWS's member paths such as 'outputParameters.2.member.name');
//   - then the step: an unknown token is ResourceNotFound, a completed step
//     is ConflictException, and the ClientRequestToken makes a repeated
//     request idempotent.
//
// Every answer carries a fresh X-Amzn-Requestid (a UUID) and Content-Type
// application/x-amz-json-1.1; every error carries its code in both the
// X-Amzn-Errortype header and the body's __type, with a Message. So the SDK
// returns the same error chain as against AWS: *types.ResourceNotFound,
// *types.ConflictException and *types.ResourceLimitExceeded for the modeled
// errors, smithy.APIError with the ErrorCode for the others, and
// *awshttp.ResponseError with the HTTP status and the request id.
//
// The messages of ResourceNotFound, ConflictException and ValidationException
// echo the callback token in quotes, as AWS echoes the values it refuses, so a
// test can check that the code above redacts it before logging an error.
//
// # Inspection
//
// Step returns a copy of a step's state: its Status, FailureReason, Outputs,
// and counts of the requests that completed it (Completions, 0 or 1),
// replayed its completion (Replays) or were refused as a second completion
// (Conflicts). Requests returns a copy of the record of every HTTP request,
// retries included, in the order they arrived: the members, the
// ClientRequestToken, the SDK's attempt number and invocation id, and the
// answer (a request still held by a Delay is listed with InFlight set). A
// request's answer is recorded before it is sent, so a caller holding an
// answer finds it in Requests. Options.OnRequest sees each record once
// answered, for logging.
//
// # Faults
//
// FailNext(n, f) makes the next n matching requests (HTTP attempts, not SDK
// calls) meet the fault f; FailRandom(p, f) makes each matching request meet f
// with probability p, from a generator seeded by Options.Seed; ClearFaults
// removes them. The faults:
//
//   - Throttle: HTTP 400 ThrottlingException "Rate exceeded";
//   - InternalError: HTTP 500 InternalFailure;
//   - Unavailable: HTTP 503 ServiceUnavailable;
//   - LimitExceeded: HTTP 400 ResourceLimitExceeded;
//   - ResetBeforeCommit: the connection is reset, nothing is processed;
//   - DropAfterCommit: the request is processed (the step completes), then the
//     connection closes with no answer;
//   - Delay(d): the answer comes after d, unless Close or the client going
//     away cuts the wait short (the connection closes with no answer and
//     nothing is processed).
//
// f.ForOperation(op) and f.ForToken(token) aim a fault. Options.RateLimit adds
// a token-bucket rate limit answered with ThrottlingException. Faults are
// considered after the checks of the wire and the signature, before the
// model's constraints: a malformed request never uses one up.
//
// No path of the fake answers with an empty 200, which the SDK would read as
// a success without an ARN: a fault that drops closes the connection, and a
// panic while serving is answered with HTTP 500 InternalFailure.
//
// # The SQS queue and the pipeline
//
// The same server is also one SQS queue, for the other half of a callback
// step's loop: SQSClient returns a real *sqs.Client of the AWS SDK pointed at
// it, and QueueURL the queue's URL ("http://127.0.0.1:PORT/123456789012/callbacktest").
// A request with an X-Amz-Target of AmazonSQS.* in the SQS JSON protocol
// (Content-Type application/x-amz-json-1.0) goes to the queue; everything
// else to the fake SageMaker. The queue serves ReceiveMessage (long polls
// with WaitTimeSeconds, woken by a send, cut short by Close or by the client
// going away; MaxNumberOfMessages 1 to 10; VisibilityTimeout; the system
// attributes ApproximateReceiveCount, SentTimestamp,
// ApproximateFirstReceiveTimestamp and SenderId), SendMessage (with
// DelaySeconds), DeleteMessage, ChangeMessageVisibility and GetQueueUrl.
// Messages are handed out in the order they were sent. Each receive gives a
// fresh ReceiptHandle; a message whose visibility timeout runs out is
// received again, with its ApproximateReceiveCount one higher.
//
// StartStep starts a callback step as SageMaker Pipelines does: it registers
// a step (as NewStep) and puts its message on the queue,
//
//	{"token":"…","pipelineExecutionArn":"arn:aws:sagemaker:…","arguments":{…},"status":"Executing"}
//
// and StopExecution puts the "Stopping" message of an execution's waiting
// step, as StopPipelineExecution makes SageMaker do; the step keeps waiting
// until a worker completes it. StepMessage makes such a body, and
// SendQueueMessage puts any body on the queue without a request (a
// malformed one, say).
//
// QueueMessages returns every message sent, with its state (MessageVisible,
// MessageDelayed, MessageInFlight, MessageDeleted, MessageDeadLettered), its
// receive count and its stale deletes; QueueStats counts messages by state and
// the calls answered. Options.Queue sets the queue's name, its default
// visibility timeout, a redrive policy (MaxReceiveCount: a message received
// that many times is moved aside, as to a dead-letter queue, the next time it
// would be received), and Second, the real length of one second of the SQS
// API: with Second set to 10ms, a VisibilityTimeout of 3 runs out after 30ms
// and tests of visibility and redelivery take milliseconds. Visibility and
// long polls run on real time scaled by Second, whatever Options.Now says.
//
// Errors come as SQS sends them on its JSON protocol: HTTP 400 with the
// shape in the body's __type ("com.amazonaws.sqs#QueueDoesNotExist"), the
// message as "message", and the query protocol's code in the
// x-amzn-query-error header ("AWS.SimpleQueueService.NonExistentQueue;Sender"),
// which the SDK reports as the error code. So the SDK returns
// *types.QueueDoesNotExist (ErrorCode "AWS.SimpleQueueService.NonExistentQueue")
// for an unknown QueueUrl or QueueName, *types.ReceiptHandleIsInvalid for a
// receipt handle the queue never issued, *types.InvalidMessageContents for a
// body with characters SQS refuses, and smithy.APIError with the codes
// InvalidParameterValue and MissingParameter for out-of-range or missing
// parameters.
//
// Faults reach the queue only when aimed at one of its operations:
// FailNext(1, Throttle.ForOperation(OpDeleteMessage)) fails the next
// DeleteMessage with HTTP 400 RequestThrottled (*types.RequestThrottled, which
// the SDK retries); InternalError, Unavailable, ResetBeforeCommit,
// DropAfterCommit (the operation is done, its answer lost: a deleted message,
// or messages received and lost until their visibility timeout) and Delay
// work as for SageMaker; LimitExceeded answers HTTP 403 OverLimit. A fault
// with no aim, or aimed at a SageMaker operation, never reaches the queue.
// SQS requests are not listed by Requests, nor given to Options.OnRequest.
//
// # Receipt handles: the fake's choices
//
// SQS documents that DeleteMessage needs the most recent receipt handle of a
// message, and that with an older one "the request succeeds, but the message
// will not be deleted"; in practice standard queues have been seen to delete
// with an older handle too. The fake takes the documented, strict side, which
// is the one code must survive:
//
//   - DeleteMessage with the latest handle deletes the message, whether its
//     visibility timeout has run out or not (as long as no one received it
//     since).
//   - DeleteMessage with a stale handle (the message was received again
//     since) answers 200 and deletes nothing; QueueMessage.StaleDeletes
//     and QueueStats.StaleDeletes count it, so a test can see a worker that
//     relies on it.
//   - DeleteMessage of a message already deleted answers 200.
//   - ChangeMessageVisibility with the latest handle of a message in flight
//     sets its visibility from now (0 makes it visible at once). On a message
//     whose visibility timeout ran out and that no one received since, it
//     answers 200 and does nothing, as SQS does.
//   - ChangeMessageVisibility with a stale handle, or for a deleted message,
//     answers HTTP 400 InvalidParameterValue "Value … for parameter
//     ReceiptHandle is invalid. Reason: Message does not exist or is not
//     available for visibility timeout change." (SQS's message for a deleted
//     message; what SQS answers for a stale handle is not documented.)
//   - A handle the queue never issued is ReceiptHandleIsInvalid for both.
//
// # Where the fake queue differs from SQS
//
//   - There is one queue, a standard queue: no FIFO queues, message groups or
//     deduplication, no CreateQueue, DeleteQueue, PurgeQueue, queue
//     attributes or tags, no batch operations, no message attributes (sent
//     ones are ignored, MD5OfMessageAttributes is never returned).
//   - Delivery is exactly in order and exactly once per receive: SQS's
//     standard queues may reorder and, rarely, deliver a message twice at
//     once. ApproximateReceiveCount is exact.
//   - A QueueUrl is matched by its path (/ACCOUNT/NAME) only, so localhost
//     and 127.0.0.1 both work.
//   - The 12-hour limit on a message's total visibility is not enforced;
//     retention periods never run out; the in-flight limit is never reached.
//   - Only the scope of the SigV4 credential (service sqs) is checked, as for
//     SageMaker. The AWS query protocol (form-encoded requests) is not
//     served. The messages of SerializationException and
//     UnknownOperationException are the fake's own, and so is the __type of
//     the unmodeled errors (com.amazonaws.sqs#InvalidParameterValue).
//   - The maximum message size is 1 MiB, SQS's limit since August 2025.
//   - A long poll whose client went away ends once the server notices, which
//     on a busy machine takes a moment; a message sent meanwhile may be handed
//     to it and then come back only after its visibility timeout, as with SQS.
//     QueueStats.Polling tells when no poll is left.
//
// # Choices where AWS is silent
//
// AWS documents none of the following; the fake chooses, and tests of code
// above it should not rely on more than what is said here.
//
//   - A completion of a step already completed, with another (or no)
//     ClientRequestToken, is refused with HTTP 400 ConflictException; the step
//     keeps its first outcome. (Step Functions, the nearest analogue, refuses
//     such a call too.)
//   - A request with the ClientRequestToken of an earlier completion and the
//     same parameters (operation, token, reason or outputs) gets the first
//     answer again (HTTP 200, same ARN) without a second completion. With
//     other parameters it is refused with HTTP 400 ConflictException. Only
//     completions are remembered: a ClientRequestToken whose request was
//     refused can be used again. ClientRequestTokens are global to the
//     server, not scoped to a step, and never forgotten.
//   - A request without a ClientRequestToken (the Go SDK always fills one;
//     other SDKs may not) is processed without idempotency.
//   - Callback tokens never expire, and steps never time out or stop.
//   - There is no rate limit unless Options.RateLimit sets one.
//   - The message of ResourceNotFound ("Pipeline execution step with callback
//     token '…' not found.") and of ConflictException are the fake's own.
//   - A ValidationException lists a value that breaks both the length and the
//     pattern of CallbackToken twice, once per constraint, as AWS's validation
//     does for other members; the list's value for too many OutputParameters is
//     printed as Java prints a list of objects, with made-up identities.
//
// # Where the fake differs from AWS
//
//   - The signature is not verified, nor its date, nor the region of the
//     credential scope, nor the security token: only the form of the
//     Authorization header and the service of its scope. Presigned URLs
//     (X-Amz-Algorithm in the query) are not accepted.
//   - Every error has an X-Amzn-Errortype header and a capitalized "Message"
//     in its body. AWS's framework errors (MissingAuthenticationTokenException,
//     InvalidSignatureException, SerializationException, ...) spell it
//     "message", some have no message at all, and AWS sends the header only for
//     some errors; every AWS SDK reads both spellings and either place.
//   - A wrong Content-Type is answered 404 UnknownOperationException with a
//     JSON body; AWS answers the same status and code with the body
//     "<UnknownOperationException/>". A request that is not a POST is answered
//     403 AccessDeniedException with a JSON body, where AWS sends XML.
//   - The messages of SerializationException are approximations of AWS's.
//   - Only the two callback operations exist. Any other X-Amz-Target,
//     SageMaker's included, is UnknownOperationException.
//   - The request body is limited to 8 MiB (413 RequestEntityTooLargeException).
//   - The fake keeps every request's record, every step and every message
//     until Close; it is meant for tests and local tools, not for long runs.
//
// The sources for AWS's behaviour: the SageMaker service model and API
// reference (members, constraints, errors); captures of real SageMaker
// answers to wrongly scoped credentials (HTTP 400, __type
// InvalidSignatureException, "Credential should be scoped to correct service:
// 'sagemaker'. "); and the answers that AWS's JSON services give to malformed
// requests, as recorded by the emulators dynalite and kinesalite, which were
// written against the live services (missing signature: HTTP 400
// MissingAuthenticationTokenException "Missing Authentication Token"; unknown
// target: HTTP 400 UnknownOperationException; bad JSON: HTTP 400
// SerializationException; wrong content type: HTTP 404).
package callbacktest
