// Package callbacktest is a local SageMaker and SQS for tests: an in-memory
// server on a loopback address that answers SendPipelineExecutionStepFailure
// and SendPipelineExecutionStepSuccess as AWS does, is the SQS queue that
// callback steps send their messages to, and runs pipelines of callback steps
// (CreatePipeline, StartPipelineExecution, StopPipelineExecution and the
// calls that list executions and their steps). The real AWS SDK clients
// (Client, SQSClient), other SDKs and the AWS CLI (with --endpoint-url) talk
// to it over HTTP. It is to callback steps what net/http/httptest is to an
// HTTP server.
//
//	func TestWorker(t *testing.T) {
//		srv := callbacktest.NewServer()
//		defer srv.Close()
//		token, _ := srv.StartStep(nil) // a step waiting, its message on the queue
//
//		runWorker(t, srv.SQSClient(), srv.QueueURL(), srv.Client()) // the code under test
//
//		step, _ := srv.Step(token)
//		if step.Status != callbacktest.StatusSucceeded || step.Completions != 1 {
//			t.Errorf("step = %+v", step)
//		}
//	}
//
// # The contract
//
// A request is answered as AWS answers it wherever AWS's behaviour is
// documented or was observed: the HTTP status, the error code and the error
// shape the SDKs decode (so the Go SDK returns *types.ResourceNotFound,
// *types.ConflictException, *types.QueueDoesNotExist and so on, or a
// smithy.APIError with AWS's code, inside *awshttp.ResponseError with the
// status and a fresh request id). Where AWS is silent the fake makes a choice,
// listed below as the fake's choice; where it knowingly differs from AWS, the
// difference is in the list at the end. Nothing else is promised.
//
// It serves three wire protocols on one port: SageMaker's awsJson1_1
// (X-Amz-Target exactly "SageMaker.<Operation>"), SQS's awsJson1_0
// (X-Amz-Target exactly "AmazonSQS.<Operation>", Content-Type
// application/x-amz-json-1.0), and SQS's query protocol (a form-encoded body
// with Action=<Operation> and no X-Amz-Target, posted to / or to the queue's
// URL, answered in XML), which older SDKs and the AWS CLI of Debian speak.
// Every request goes through one path, in the order AWS checks: the method
// (POST), the body (the header and the body read within Options.ReadTimeout),
// the Content-Type and the operation (anything but the operations served, a
// wrong prefix or case included, is UnknownOperationException and changes
// nothing), then a SigV4 Authorization header whose credential is scoped to
// the server's region and to the service (the signature itself is not
// verified: any keys work), then the members' JSON types, then the fake's
// rate limit and faults, then the operation. SageMaker's operations check the
// model's constraints (callbackToken 10 ASCII letters and digits,
// failureReason at most 256 code points, and so on, from a table of the
// package's own written from AWS's service model), reported as AWS reports
// them: "1 validation error detected: Value '…' at 'failureReason' failed to
// satisfy constraint: Member must have length less than or equal to 256",
// every violation joined with "; ". Then an unknown token is
// ResourceNotFound, a completed step is ConflictException, and the
// ClientRequestToken makes a repeated request idempotent. The messages of
// ResourceNotFound, ConflictException and ValidationException echo the
// callback token, as AWS echoes the values it refuses, so a test can check
// that the code above redacts it.
//
// # Inspection
//
// Step and Steps return copies of the steps: Status, FailureReason, Outputs,
// and the counts of requests that completed a step (Completions, 0 or 1),
// replayed its completion (Replays) or were refused as a second completion
// (Conflicts). Requests lists every SageMaker request, retries included, in
// the order they arrived, with its members, the SDK's attempt number and
// invocation id, and its answer; SQSRequests lists the SQS requests the same
// way. A request held by a Delay is listed with InFlight set; a request's
// answer is recorded before it is sent. Options.OnRequest sees every record
// once answered. QueueMessages and QueueStats show the queue. The fake keeps
// everything until Close, unless Options.MaxRecords bounds the request lists
// and the deleted messages, for a long-running process.
//
// # Faults
//
// FailNext(n, f) makes the next n matching requests (HTTP attempts, not SDK
// calls) meet the fault f; FailRandom(p, f) makes each matching request meet
// f with probability p, from a generator seeded by Options.Seed; ClearFaults
// removes them. Throttle, InternalError, Unavailable and LimitExceeded answer
// an error without processing the request; ResetBeforeCommit resets the
// connection before; DropAfterCommit processes the request and then closes
// the connection with no answer; Delay(d) holds the request for d, and
// Close or the client going away cuts it short (no answer, nothing
// processed), so a long Delay is a hung call. A fault with no aim reaches
// the two completion calls only; f.ForOperation(op) aims it at one operation
// of either service, f.ForToken(token) at one callback token, and
// f.ForMessage(id) at the SQS calls about one message. Options.RateLimit adds
// a token-bucket limit on SageMaker's requests, answered with
// ThrottlingException. Requests refused before the faults are considered
// (malformed, unsigned, unknown operation) never use one up. No path of the
// fake answers an empty 200: a panic while serving is HTTP 500
// InternalFailure.
//
// For SQS, Throttle answers HTTP 400 RequestThrottled, LimitExceeded HTTP 403
// OverLimit, and DropAfterCommit loses the answer of an operation done (a
// deleted message; messages received, lost until their visibility timeout).
//
// # The queues
//
// The fake SQS serves, in both of SQS's protocols, CreateQueue (idempotent
// for the same attributes, as SQS), DeleteQueue, ListQueues (by prefix, in
// pages with MaxResults and NextToken), GetQueueUrl, GetQueueAttributes,
// SetQueueAttributes, PurgeQueue (once a minute), SendMessage,
// SendMessageBatch, ReceiveMessage, DeleteMessage, DeleteMessageBatch,
// ChangeMessageVisibility and ChangeMessageVisibilityBatch, with SQS's errors:
// in JSON, the shape in __type ("com.amazonaws.sqs#QueueDoesNotExist") and
// the query code in the x-amzn-query-error header
// ("AWS.SimpleQueueService.NonExistentQueue;Sender"), which SDKs report and
// the JS SDK names its error classes from; in XML, an ErrorResponse with that
// code. A batch answers each entry in Successful or Failed (a bad receipt
// handle fails its entry, not the call); an empty batch, more than 10
// entries, a repeated or malformed entry id fail the whole call
// (EmptyBatchRequest, TooManyEntriesInBatchRequest, BatchEntryIdsNotDistinct,
// InvalidBatchEntryId). ReceiveMessage long polls with WaitTimeSeconds
// (woken by a send, cut short by Close or by the client going away), takes
// MaxNumberOfMessages 1 to 10 and VisibilityTimeout, and returns the
// attributes ApproximateReceiveCount, SentTimestamp,
// ApproximateFirstReceiveTimestamp and SenderId, and the MessageAttributes
// asked for ("All", ".*", "prefix.*" or names) with the
// MD5OfMessageAttributes SQS computes over them. Each receive gives a fresh
// ReceiptHandle; a message whose visibility timeout runs out is received
// again, its ApproximateReceiveCount one higher. A body or attribute value
// that is not valid UTF-8, or holds a character XML does not allow (a lone
// surrogate written as a JSON escape, "\ud800", included), is refused at
// send with InvalidMessageContents, as SQS refuses it.
//
// Queue attributes: VisibilityTimeout, DelaySeconds,
// ReceiveMessageWaitTimeSeconds, MaximumMessageSize and
// MessageRetentionPeriod act as in SQS (a message older than its queue's
// retention period is deleted); RedrivePolicy
// ({"deadLetterTargetArn":"arn:aws:sqs:…","maxReceiveCount":"5"}) names a
// queue of the fake, by its QueueArn, to which a message received
// maxReceiveCount times is moved the next time it would be received, with
// its MessageId, body, attributes and SentTimestamp, as SQS moves it. Read
// only: ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible,
// ApproximateNumberOfMessagesDelayed, CreatedTimestamp,
// LastModifiedTimestamp, QueueArn. Policy, KmsMasterKeyId,
// KmsDataKeyReusePeriodSeconds, SqsManagedSseEnabled and RedriveAllowPolicy
// are kept and returned, of no effect.
//
// The server starts with one queue (QueueURL,
// "http://127.0.0.1:PORT/123456789012/callbacktest"), which Options.Queue
// configures: its name, its default visibility timeout, a redrive policy
// (MaxReceiveCount: to a dead-letter queue the fake creates beside it, named
// NAME-dlq) and Second, the real length of one SQS second on every queue, so
// that visibility timeouts run out in milliseconds in a test. QueueMessages
// and QueueStats show that queue; the others are seen through the SQS calls.
//
// # Pipelines
//
// The fake serves CreatePipeline, DescribePipeline, DeletePipeline,
// StartPipelineExecution, DescribePipelineExecution, ListPipelineExecutions
// (PipelineName, CreatedAfter, CreatedBefore, SortBy, SortOrder),
// ListPipelineExecutionSteps (SortOrder) and StopPipelineExecution, with
// the model's constraints, paging by MaxResults (1 to 100) and NextToken,
// and the ClientRequestToken of CreatePipeline, DeletePipeline,
// StartPipelineExecution and StopPipelineExecution: the same token with the
// same parameters gets the first answer again, with others
// ConflictException.
//
// CreatePipeline takes a PipelineDefinition as the SageMaker Python SDK
// writes it:
//
//	{"Version": "2020-12-01",
//	 "Parameters": [{"Name": "Model", "Type": "String", "DefaultValue": "m1"}],
//	 "Steps": [
//	   {"Name": "train", "Type": "Callback", "Arguments": {"model": {"Get": "Parameters.Model"}},
//	    "DependsOn": [], "SqsQueueUrl": "http://127.0.0.1:PORT/123456789012/callbacktest",
//	    "OutputParameters": [{"OutputName": "accuracy", "OutputType": "Float"}]},
//	   {"Name": "report", "Type": "Callback",
//	    "Arguments": {"accuracy": {"Get": "Steps.train.OutputParameters['accuracy']"}},
//	    "SqsQueueUrl": "http://127.0.0.1:PORT/123456789012/callbacktest"}]}
//
// The other keys that SDK writes (PipelineExperimentConfig, Metadata, a
// step's DisplayName, Description, CacheConfig) are accepted. Only callback
// steps run: another Type is a ValidationException that says the fake runs
// callback steps only. In a step's Arguments, {"Get": "Parameters.NAME"} is
// the execution's parameter (from PipelineParameters, or its DefaultValue; a
// String as a string, an Integer or a Float as a number, a Boolean as a
// bool), {"Get": "Steps.S.OutputParameters['o']"} the output parameter o
// that step S sent with its success (such a reference makes S a
// dependency, as DependsOn does), and {"Get":
// "Execution.PipelineExecutionArn"} (also PipelineExecutionId,
// PipelineName, PipelineArn, StartDateTime, CurrentDateTime) the
// execution's. A Join, {"Std:Join": {"On": "/", "Values": [...]}}, is the
// string of its values, resolved, joined with On (numbers and booleans as
// JSON writes them: the fake's choice). A reference to anything else, a
// malformed Join, a step name used twice, a dependency on a step not
// defined and a cycle are ValidationExceptions.
//
// StartPipelineExecution starts each step whose dependencies succeeded: a
// new token, and its message on its SqsQueueUrl,
//
//	{"token":"…","pipelineExecutionArn":"arn:aws:sagemaker:…","arguments":{…},"status":"Executing"}
//
// A success starts the steps that depend on it; a failure fails the
// execution (no other step starts, and the execution is Failed once no
// step of it waits). StopPipelineExecution makes the execution and each of
// its waiting steps Stopping, with a second message for each, the same with
// "status":"Stopping"; a Stopping step completed by either call is Stopped,
// and the execution is Stopped once none waits. An execution is Executing,
// then Succeeded, Failed, or Stopping then Stopped; a step is Executing,
// Succeeded, Failed, Stopping or Stopped. ListPipelineExecutionSteps lists
// the started steps with their StepName, StepStatus, StartTime, EndTime,
// FailureReason (the one the failure sent) and Metadata.Callback
// (CallbackToken, SqsQueueUrl, and the OutputParameters the success sent).
//
// The pipeline of Options.Pipeline ("callbacktest") exists from the start:
// one callback step named "callback" whose messages go to the fake's queue.
// StartStep starts an execution of it, as StartPipelineExecution would, with
// the arguments given; AddStep and NewStep start one whose message is lost
// (none is sent): a stuck step, waiting for ever, as a test of a sweep
// wants. StopExecution stops an execution as StopPipelineExecution does.
// SendQueueMessage puts any body on the queue.
//
// # The fake's choices, where AWS is silent
//
//   - A completion of a step already completed, with another (or no)
//     ClientRequestToken, is ConflictException; the step keeps its first
//     outcome (Step Functions, the nearest analogue, refuses such a call too).
//   - The ClientRequestToken of an earlier completion with the same
//     parameters gets the first answer again without a second completion;
//     with other parameters, ConflictException. Only completions are
//     remembered, globally (not per step), until Close.
//   - A request without a ClientRequestToken is processed without idempotency.
//   - Callback tokens never expire; steps never time out or stop by
//     themselves; there is no rate limit unless Options.RateLimit sets one.
//   - The messages of ResourceNotFound, ConflictException,
//     SerializationException and UnknownOperationException are the fake's own,
//     and so are those of a ValidationException about a pipeline definition
//     or its parameters. A pipeline name already taken is AWS's "Pipeline
//     names must be unique within an AWS account and region. Pipeline with
//     name (NAME) already exists.", which the SageMaker Python SDK's upsert
//     looks for.
//   - A step whose SqsQueueUrl names no queue of the fake is Failed as it
//     starts, with a FailureReason that says so, and its execution Failed, as
//     SageMaker fails a step whose message it cannot send; CreatePipeline
//     does not check the queue (AWS does not check a definition's resources
//     either), so the queue may be made later.
//   - A step that fails does not stop the other waiting steps of its
//     execution: the execution stays Executing until none waits, then is
//     Failed, with FailureReason "Step failure: One or multiple steps
//     failed.". StopPipelineExecution of a Stopping execution answers as a
//     success and sends nothing more; of an ended one, ConflictException.
//   - ListPipelineExecutionSteps requires PipelineExecutionArn, which the
//     model leaves optional. Without MaxResults, a page holds 50 items. Both
//     list calls sort Descending unless SortOrder says Ascending (executions
//     by CreationTime unless SortBy says PipelineExecutionArn, steps by the
//     order they started). A NextToken is the fake's own; another one is a
//     ValidationException.
//   - DeletePipeline forgets the pipeline; its executions and their steps
//     are still found by ARN and by token.
//   - A ValidationException's value for too many OutputParameters is printed
//     as Java prints a list of objects, with made-up identities.
//   - DeleteMessage with a stale receipt handle (the message was received
//     again since) answers 200 and deletes nothing, as SQS documents
//     (QueueMessage.StaleDeletes counts it); with the latest handle it deletes
//     the message even once its visibility timeout ran out, if no one received
//     it since. ChangeMessageVisibility with a stale handle, or for a deleted
//     message, is InvalidParameterValue; on a message visible again it
//     answers 200 and does nothing. A handle never issued is
//     ReceiptHandleIsInvalid.
//   - A request whose header and body, together, take longer than
//     Options.ReadTimeout gets no answer: the connection is closed. So is a
//     keep-alive connection idle as long.
//   - A message moved to a dead-letter queue starts there with an
//     ApproximateReceiveCount of 0, and the moving queue shows it as
//     MessageDeadLettered. A RedrivePolicy whose queue was deleted since
//     moves nothing. A message past its retention period shows as
//     MessageDeleted.
//   - CreateQueue of an existing queue compares only the attributes it
//     gives; without any it answers the queue's URL. A name deleted less
//     than 60 SQS seconds ago is QueueDeletedRecently. The default queue may
//     be deleted: a step that StartStep starts then fails at once, as any
//     step whose SqsQueueUrl names no queue (see the list above), and
//     QueueMessages still shows the messages sent before.
//
// # Where the fake differs from AWS
//
//   - The signature, its date and the security token are not verified;
//     presigned URLs are not accepted. AWS's framework errors
//     (MissingAuthenticationTokenException, InvalidSignatureException, ...)
//     come with a capitalized "Message" and an X-Amzn-Errortype header, where
//     AWS varies; SDKs read both forms. For SQS they are HTTP 400, where SQS
//     may answer 403, and a region or service mismatch has the query code
//     SignatureDoesNotMatch.
//   - A wrong Content-Type is HTTP 404 UnknownOperationException with a JSON
//     body (AWS's body is XML), a method other than POST HTTP 403
//     AccessDeniedException with a JSON body (AWS: XML). The body is limited
//     to 8 MiB (413 RequestEntityTooLargeException).
//   - Of SageMaker, only the two callback operations and the pipeline calls
//     above exist; a pipeline runs callback steps only, with no caching,
//     retry policy, parallelism limit, selective execution or pipeline
//     versions, and never stops by itself (no 672-hour limit).
//     PipelineDefinitionS3Location is refused (a ValidationException). SQS's
//     query protocol is served over POST only, not GET with the parameters in
//     the URL. The query codes of the framework errors
//     (MissingAuthenticationToken, Serialization, ...) are the JSON codes
//     without "Exception", a guess.
//   - Standard queues only: a FIFO queue (a name ending in .fifo, FifoQueue
//     true) is refused with InvalidParameterValue. No tags, permissions,
//     message system attributes, dead-letter source listing or message move
//     tasks: those calls answer as AWS answers an unknown action
//     (InvalidAction, UnknownOperationException in JSON). A QueueUrl is
//     matched by its path only, so localhost and 127.0.0.1 both work.
//   - Delivery is exactly in order and once per receive, and
//     ApproximateReceiveCount and the ApproximateNumberOf… counts are exact;
//     SQS may reorder and, rarely, deliver twice. The 12-hour limit on a
//     message's visibility and the in-flight limit are not enforced; the
//     largest message is 1 MiB (SQS's limit since August 2025). The messages
//     of the fake's SQS errors are close to SQS's, not always the same.
//   - A long poll whose client went away ends once the server notices; a
//     message handed to it meanwhile comes back after its visibility timeout,
//     as with SQS. QueueStats.Polling tells when no poll is left.
//
// The sources: the SageMaker and SQS service models and API references;
// captures of real SageMaker answers to wrongly scoped credentials (HTTP
// 400, InvalidSignatureException, "Credential should be scoped to correct
// service: 'sagemaker'. "; for a region, "Credential should be scoped to a
// valid region, not 'eu-west-1'. "); and the answers of AWS's JSON services to
// malformed requests as recorded by the emulators dynalite and kinesalite,
// written against the live services.
package callbacktest
