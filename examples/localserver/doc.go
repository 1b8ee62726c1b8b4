// Command localserver runs the local SageMaker and SQS queue of package
// callbacktest as a process, so that code in any language can be tested
// against it: the AWS CLI, another SDK, curl, a worker in Python. It serves
// SendPipelineExecutionStepFailure and SendPipelineExecutionStepSuccess; the
// pipeline calls CreatePipeline, DescribePipeline, DeletePipeline,
// StartPipelineExecution, DescribePipelineExecution, ListPipelineExecutions,
// ListPipelineExecutionSteps and StopPipelineExecution (callback steps
// only); and SQS (in its JSON and query protocols): ReceiveMessage,
// SendMessage, DeleteMessage, ChangeMessageVisibility, their batch forms,
// GetQueueUrl, CreateQueue, DeleteQueue, ListQueues, GetQueueAttributes,
// SetQueueAttributes and PurgeQueue, message attributes, and dead-letter
// queues (a RedrivePolicy naming a queue made with CreateQueue), as package
// callbacktest tells; on a loopback address until SIGINT or SIGTERM.
//
// # Try it with the AWS CLI
//
// Start it with one callback step waiting for its outcome:
//
//	go run ./examples/localserver -addr 127.0.0.1:8080 -token AbCdE12345
//
// Then, in another shell, with no AWS configuration needed (the fake takes
// any keys, but the CLI wants some, and a region: AWS_REGION or --region,
// the server's -region; the AWS CLI v1 reads AWS_DEFAULT_REGION only):
//
//	export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=SECRETEXAMPLE AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
//	export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
//	E=http://127.0.0.1:8080
//	Q=http://127.0.0.1:8080/123456789012/callbacktest
//	aws sagemaker send-pipeline-execution-step-success --endpoint-url $E \
//	    --callback-token AbCdE12345 --output-parameters Name=accuracy,Value=0.93
//	aws sqs send-message --endpoint-url $E --queue-url $Q --message-body hello
//	H=$(aws sqs receive-message --endpoint-url $E --queue-url $Q --attribute-names All \
//	    --wait-time-seconds 5 --query 'Messages[0].ReceiptHandle' --output text)
//	aws sqs change-message-visibility --endpoint-url $E --queue-url $Q \
//	    --receipt-handle "$H" --visibility-timeout 60
//	aws sqs delete-message --endpoint-url $E --queue-url $Q --receipt-handle "$H"
//
// A second completion of the step, as with
// "aws sagemaker send-pipeline-execution-step-failure --endpoint-url $E --callback-token AbCdE12345",
// is refused with ConflictException, an unknown token with ResourceNotFound,
// a request signed for another region with InvalidSignatureException. Any
// SDK works the same way, given the endpoint URL, a region and dummy keys.
// (TestDocCommands runs the commands above with the CLI, when
// /usr/bin/aws is installed.)
//
// # A pipeline for a worker
//
//	go run ./examples/localserver -addr 127.0.0.1:8080 -start 3 -stop 1:10s -fail-next throttle@DeleteMessage:1
//
// starts three callback steps as SageMaker Pipelines does: each is
// registered and its message ({"token":…,"pipelineExecutionArn":…,
// "arguments":{},"status":"Executing"}) put on the queue, for a worker to
// receive, complete with SendPipelineExecutionStep*, and delete. Ten seconds
// later, one of them still waiting is stopped: its "Stopping" message goes on
// the queue, as StopPipelineExecution does. The first DeleteMessage is
// throttled. On exit, standard output lists the completed steps, one line
// each, and its last line counts the steps by status ("steps: Executing 0,
// Failed 1, Succeeded 2").
//
// The steps of -start and -token belong to executions of the pipeline
// "callbacktest" (its one callback step is named "callback"), so that
// "aws sagemaker list-pipeline-executions --pipeline-name callbacktest" and
// list-pipeline-execution-steps show them. A -token step has no message on
// the queue: it is a stuck step, one whose message was lost.
//
// # A pipeline of your own
//
// CreatePipeline takes a PipelineDefinition as the SageMaker Python SDK
// writes it, of callback steps only (another step type is refused with a
// ValidationException), each sending its message to a queue of the server.
// StartPipelineExecution starts each step whose dependencies are met; a
// success starts the steps that depend on it, with their Get references to
// its output parameters resolved; a failure fails the execution. With the
// server running and the environment of the commands above:
//
//	D='{"Version":"2020-12-01","Parameters":[{"Name":"Model","Type":"String","DefaultValue":"m1"}],
//	  "Steps":[{"Name":"train","Type":"Callback","Arguments":{"model":{"Get":"Parameters.Model"}},
//	  "SqsQueueUrl":"http://127.0.0.1:8080/123456789012/callbacktest",
//	  "OutputParameters":[{"OutputName":"accuracy","OutputType":"Float"}]}]}'
//	aws sagemaker create-pipeline --endpoint-url $E --pipeline-name demo \
//	    --role-arn arn:aws:iam::123456789012:role/demo --pipeline-definition "$D"
//	X=$(aws sagemaker start-pipeline-execution --endpoint-url $E --pipeline-name demo \
//	    --pipeline-parameters Name=Model,Value=m2 --query PipelineExecutionArn --output text)
//	aws sagemaker list-pipeline-executions --endpoint-url $E --pipeline-name demo
//	aws sagemaker list-pipeline-execution-steps --endpoint-url $E --pipeline-execution-arn "$X"
//	aws sagemaker stop-pipeline-execution --endpoint-url $E --pipeline-execution-arn "$X"
//	T=$(aws sagemaker list-pipeline-execution-steps --endpoint-url $E --pipeline-execution-arn "$X" \
//	    --query 'PipelineExecutionSteps[0].Metadata.Callback.CallbackToken' --output text)
//	aws sagemaker send-pipeline-execution-step-failure --endpoint-url $E \
//	    --callback-token "$T" --failure-reason stopped
//	aws sagemaker describe-pipeline-execution --endpoint-url $E --pipeline-execution-arn "$X" \
//	    --query PipelineExecutionStatus --output text
//
// The step's message (arguments {"model":"m2"}) and, after the stop, its
// Stopping message are on the queue; the failure reported for the Stopping
// step makes it Stopped, and the execution with it: the last command prints
// "Stopped". (TestDocPipelineCommands runs these commands.)
//
// # Flags
//
//	-addr host:port        the loopback address to listen on (default
//	                       127.0.0.1:8080; port 0 picks a free one)
//	-region R              the server's region, in every ARN; a request signed
//	                       for another region is refused (default us-east-1)
//	-account ID            the 12-digit account in every ARN and in the queue's
//	                       URL (default 123456789012)
//	-token T               a callback token to register (10 letters and
//	                       digits), with no message; repeat the flag or separate
//	                       tokens with commas. With no -token and no -start, one
//	                       new token is made and printed.
//	-start N               start N steps as a pipeline does (messages on the queue)
//	-args JSON             the arguments of the started steps (default {})
//	-stop N:DURATION       after DURATION, stop N of the started steps still
//	                       waiting; repeatable
//	-fail NAME[@OP]:P      make each request meet a fault with probability P
//	-fail-next NAME[@OP]:N make the next N requests meet a fault; repeatable,
//	                       served in the order given, before the -fail ones
//	-rate R                accept R SageMaker requests a second, throttle beyond
//	-seed N                the seed of -fail's random draws (default 1)
//	-max-records N         keep only the latest N request records and deleted
//	                       messages in memory (default 10000; 0 keeps all)
//	-read-timeout D        cut a client that takes longer than D to send a
//	                       request (default 30s)
//
// A fault's NAME is throttle, internal, unavailable, limit, reset, drop (see
// callbacktest's faults) or delay=DURATION (a hung call, for a DURATION
// longer than the client waits). Without @OP it meets the two completion
// calls only; @OP aims it at one operation of either service:
// SendPipelineExecutionStepFailure, SendPipelineExecutionStepSuccess, one of
// the pipeline calls above, or one of the SQS operations above
// (ReceiveMessage, DeleteMessageBatch, ...). "-fail-next throttle:2" fails
// the next two attempts, so that a client's third succeeds; "-fail
// throttle:1" fails every one.
//
// # Output
//
// Standard output: the first line is "listening on URL", the second "queue
// QUEUE_URL", then one line per step, "step TOKEN execution ARN": tokens
// given with -token are shown redacted (you have them); tokens it made are
// shown in full, since they are needed to call the server. Then "stop with
// Ctrl-C". On exit, one line per completed step, in the order the steps
// were registered, as the log tells completions (below), and last the
// summary of the steps by status.
//
// Standard error logs each request, SageMaker's and SQS's, with its answer
// and error code, and after a request that completed a step, a line that
// tells what the worker reported:
//
//	completed step Token(sha256:…) execution ARN: Failed, reason "disk full"
//	completed step Token(sha256:…) execution ARN: Succeeded, outputs "accuracy"="0.93", "model"="s3://…"
//
// The reason, the names and values are quoted as Go quotes strings (a line
// break shows as \n), each cut after 256 bytes, an error message after 1024,
// a line after 4096, with the length it had: "…(4194304 bytes in all)". A
// cut never shows part of a run of letters and digits, and so of a token.
// A character that is not printable anywhere else in a line (a line break
// in an error message that echoes a value a client sent, say) is escaped as
// Go escapes it ("\n", "\x1b"), so that each line is one the server wrote: a
// client cannot forge a completion line.
// Every registered step's token, the token a request carries, and any valid
// token one of the latest 10,000 requests carried, is redacted wherever it
// appears in a line, echoed error messages included
// (TestRedactsEveryOccurrence); the cost does not grow with the tokens seen
// (TestRedactorCostDoesNotGrow).
// Message bodies are never logged.
//
// Exit status: 0 after a clean stop on a signal, or for -h; 2 for bad flags
// (-rate NaN included), an invalid token or an address that is not
// loopback; 1 when it cannot listen.
package main
