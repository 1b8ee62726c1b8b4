// Package callbacktest is a local SageMaker for tests: an in-memory server
// that answers SendPipelineExecutionStepFailure and
// SendPipelineExecutionStepSuccess over real HTTP on a loopback address, as
// AWS does, so that the real AWS SDK client (or any other SDK, or the AWS CLI
// with --endpoint-url) can talk to it. It is to SageMaker Pipelines' callback
// steps what net/http/httptest is to an HTTP server.
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
//   - The fake keeps every request's record and every step until Close; it is
//     meant for tests and local tools, not for long runs.
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
