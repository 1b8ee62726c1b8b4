// Command lambda is an AWS Lambda function that completes SageMaker
// Pipelines callback steps from their SQS queue, ready to build and deploy:
// worker.LambdaHandler around a handler (train) that stands for your work.
//
// Build it for the provided.al2023 runtime (arm64 shown; amd64 works too):
//
//	GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o build/bootstrap ./examples/lambda
//	(cd build && zip function.zip bootstrap)
//
// (build/ is git-ignored.)
//
// Create the function with runtime provided.al2023, architecture arm64 and
// handler bootstrap, and a role allowed sagemaker:SendPipelineExecutionStepSuccess
// and sagemaker:SendPipelineExecutionStepFailure (plus what the SQS event source
// mapping needs: sqs:ReceiveMessage, sqs:DeleteMessage,
// sqs:GetQueueAttributes). Connect the step's queue with an event source
// mapping whose FunctionResponseTypes is ["ReportBatchItemFailures"]: the
// function lists the records to deliver again, and Lambda deletes the others.
// Give the queue a visibility timeout of at least six times the function's
// timeout, and a redrive policy to a dead-letter queue, where malformed
// messages end.
//
// Settings, from the function's environment, all optional:
//
//	CALLBACK_CONCURRENCY       the most steps worked on at once in one
//	                           invocation (LambdaOptions.Concurrency);
//	                           0 or unset: the whole batch
//	CALLBACK_DEADLINE_MARGIN   how long before the function's timeout the
//	                           handlers still running are cancelled and their
//	                           records listed (LambdaOptions.DeadlineMargin),
//	                           as 1s or 500ms; unset: 1s
//	MODEL_BUCKET               the bucket in the model_uri output; unset: models
//	AWS_LAMBDA_LOG_FORMAT      JSON or TEXT (the default), and
//	AWS_LAMBDA_LOG_LEVEL       DEBUG, INFO (the default), WARN or ERROR: set
//	                           by Lambda from the function's logging
//	                           configuration, read by aws-lambda-go's
//	                           lambdacontext.NewLogHandler, through which the
//	                           function logs to standard output, each line
//	                           with the invocation's requestId, tokens redacted
//	AWS_ENDPOINT_URL_SAGEMAKER the SageMaker endpoint, for trying the function
//	                           locally against examples/localserver (the AWS
//	                           SDK's own setting)
//
// A setting that cannot be read stops the function at its start, with a
// message saying which and why; the two log settings excepted, which
// NewLogHandler reads as their defaults when it does not know them.
//
// Try it locally on Linux with AWS's Lambda Runtime Interface Emulator and
// the local SageMaker fake, all built into a temporary directory; the last
// line stops the two servers (the emulator stops the function) and removes
// the directory:
//
//	D=$(mktemp -d)   # the emulator, the fake and the function go here, outside the repository
//	GOBIN=$D go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
//	go build -o "$D/localserver" ./examples/localserver
//	go build -tags lambda.norpc -o "$D/bootstrap" ./examples/lambda
//	"$D/localserver" -addr 127.0.0.1:8080 -token AbCdE12345 & SERVER=$!   # prints "listening on <URL>"
//	AWS_ENDPOINT_URL_SAGEMAKER=http://127.0.0.1:8080 AWS_REGION=us-east-1 \
//	AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=SECRETEXAMPLE \
//	AWS_EC2_METADATA_DISABLED=true AWS_LAMBDA_FUNCTION_TIMEOUT=30 \
//	"$D/aws-lambda-rie" --runtime-interface-emulator-address 127.0.0.1:9000 \
//	  --runtime-api-address 127.0.0.1:9001 "$D/bootstrap" & RIE=$!
//	curl -sS --retry 5 --retry-connrefused -d '{"Records":[{"messageId":"m1","body":"{\"token\":\"AbCdE12345\",\"pipelineExecutionArn\":\"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x\",\"arguments\":{\"model\":\"churn\",\"epochs\":3},\"status\":\"Executing\"}"}]}' \
//	  http://127.0.0.1:9000/2015-03-31/functions/function/invocations
//	# {"batchItemFailures":null}: the step succeeded; localserver logs the report
//	kill $RIE $SERVER; wait $RIE $SERVER; rm -r "$D"
//
// The answer is {"batchItemFailures":null}: nothing to deliver again; the
// localserver's log shows the SendPipelineExecutionStepSuccess it answered.
// Before the last line, invoke it again and the report is answered as the
// first ("replayed": the same ClientRequestToken); add a record whose body is
// not a step's message and its messageId is listed. TestReadmeCommands, at
// the module's root, runs the README's copy of these lines, which must match
// these.
package main
