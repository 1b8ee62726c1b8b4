package callbacktest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// Register a callback step, fail it through the real SDK client, and look at
// what the fake recorded.
func Example() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	srv.AddStep("AbCdE12345")

	_, err := srv.Client().SendPipelineExecutionStepFailure(context.Background(), &sagemaker.SendPipelineExecutionStepFailureInput{
		CallbackToken: aws.String("AbCdE12345"),
		FailureReason: aws.String("training data not found"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	step, _ := srv.Step("AbCdE12345")
	fmt.Println(step.Status)
	fmt.Println(step.FailureReason)
	fmt.Println(step.Completions)
	// Output:
	// Failed
	// training data not found
	// 1
}

// A step can be completed once: a second report is refused with the modeled
// ConflictException.
func Example_conflict() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	token, _ := srv.NewStep()
	ctx := context.Background()

	_, err := srv.Client().SendPipelineExecutionStepSuccess(ctx, &sagemaker.SendPipelineExecutionStepSuccessInput{
		CallbackToken:    aws.String(token),
		OutputParameters: []types.OutputParameter{{Name: aws.String("accuracy"), Value: aws.String("0.93")}},
	})
	fmt.Println("first:", err)

	_, err = srv.Client().SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(token)})
	var conflict *types.ConflictException
	fmt.Println("second is a conflict:", errors.As(err, &conflict))

	step, _ := srv.Step(token)
	fmt.Println(step.Status, step.Outputs, step.Completions, step.Conflicts)
	// Output:
	// first: <nil>
	// second is a conflict: true
	// Succeeded [{accuracy 0.93}] 1 1
}

// Make the next two attempts meet a throttle: the SDK's retries (here with a
// short backoff) carry the call through, and the fake records three attempts
// of one invocation.
func ExampleServer_FailNext() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	token, _ := srv.NewStep()
	srv.FailNext(2, callbacktest.Throttle)

	_, err := srv.Client().SendPipelineExecutionStepFailure(context.Background(), &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(token)},
		func(o *sagemaker.Options) {
			o.Retryer = retry.AddWithMaxBackoffDelay(retry.NewStandard(), time.Millisecond)
		})
	fmt.Println("error:", err)
	for _, r := range srv.Requests() {
		fmt.Println(r.Attempt, r.StatusCode, r.ErrorCode, r.Fault)
	}
	// Output:
	// error: <nil>
	// 1 400 ThrottlingException Throttle
	// 2 400 ThrottlingException Throttle
	// 3 200  none
}

// A lost answer: the step completes, the client hears nothing. A retry with
// the same ClientRequestToken gets the first answer, not a conflict.
func ExampleDropAfterCommit() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	token, arn := srv.NewStep()
	srv.FailNext(1, callbacktest.DropAfterCommit)
	in := &sagemaker.SendPipelineExecutionStepFailureInput{
		CallbackToken:      aws.String(token),
		ClientRequestToken: aws.String("7f3c2a10-4a8e-4b1e-9a65-2b8e1f0c9d11"),
	}
	noRetry := func(o *sagemaker.Options) { o.Retryer = aws.NopRetryer{} }

	_, err := srv.Client().SendPipelineExecutionStepFailure(context.Background(), in, noRetry)
	fmt.Println("answer lost:", err != nil)
	out, err := srv.Client().SendPipelineExecutionStepFailure(context.Background(), in, noRetry)
	fmt.Println("retry:", err, aws.ToString(out.PipelineExecutionArn) == arn)

	step, _ := srv.Step(token)
	fmt.Println(step.Status, step.Completions, step.Replays)
	// Output:
	// answer lost: true
	// retry: <nil> true
	// Failed 1 1
}

// Make the calls about one message hang, as over a half-open connection: the
// DeleteMessage of that message gives up at its context's deadline, the other
// message is deleted at once, and SQSRequests shows what happened.
func ExampleFault_ForMessage() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	stuck := srv.SendQueueMessage("stuck")
	srv.SendQueueMessage("fine")
	srv.FailNext(1, callbacktest.Delay(time.Hour).ForMessage(stuck).ForOperation(callbacktest.OpDeleteMessage))

	ctx := context.Background()
	q := aws.String(srv.QueueURL())
	out, _ := srv.SQSClient().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: 10})
	for _, m := range out.Messages {
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, err := srv.SQSClient().DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q, ReceiptHandle: m.ReceiptHandle},
			func(o *sqs.Options) { o.Retryer = aws.NopRetryer{} })
		cancel()
		fmt.Println(aws.ToString(m.Body), "deleted:", err == nil)
	}
	for _, r := range srv.SQSRequests() {
		fmt.Println(r.Operation, r.StatusCode, r.Fault)
	}
	// Output:
	// stuck deleted: false
	// fine deleted: true
	// ReceiveMessage 200 none
	// DeleteMessage 0 Delay(1h0m0s)
	// DeleteMessage 200 none
}
