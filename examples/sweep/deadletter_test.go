package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// TestDeadLetteredStepFailedBySweep runs the path of issue 16 end to end,
// through the SDK's clients only, as a user's setup would: a work queue made
// with CreateQueue whose RedrivePolicy names a dead-letter queue made with
// CreateQueue; a pipeline whose callback step sends to the work queue; its
// message received more than maxReceiveCount times with no answer (a worker
// that dies on it), so that the queue moves it to the dead-letter queue;
// then "sweep -dlq URL -fail REASON" fails the step, and
// ListPipelineExecutionSteps shows it Failed with that reason.
func TestDeadLetteredStepFailedBySweep(t *testing.T) {
	srv := fake(t, func(o *callbacktest.Options) { o.Queue.Second = 20 * time.Millisecond })
	ctx := context.Background()
	sq, sm := srv.SQSClient(), srv.Client()

	dlq, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: dlq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatal(err)
	}
	const maxReceiveCount = 2
	policy, _ := json.Marshal(map[string]string{
		"deadLetterTargetArn": got.Attributes["QueueArn"],
		"maxReceiveCount":     fmt.Sprint(maxReceiveCount),
	})
	work, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String("work"),
		Attributes: map[string]string{"RedrivePolicy": string(policy), "VisibilityTimeout": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}

	definition, _ := json.Marshal(map[string]any{
		"Version": "2020-12-01",
		"Steps": []any{map[string]any{
			"Name": "train", "Type": "Callback", "Arguments": map[string]any{"model": "churn"},
			"SqsQueueUrl": *work.QueueUrl,
		}},
	})
	if _, err := sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{
		PipelineName: aws.String("dl"), RoleArn: aws.String("arn:aws:iam::123456789012:role/demo"),
		PipelineDefinition: aws.String(string(definition)),
	}); err != nil {
		t.Fatal(err)
	}
	started, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("dl")})
	if err != nil {
		t.Fatal(err)
	}

	// A worker that receives the message and dies each time: no answer, no
	// delete. Receive maxReceiveCount times, then once more: that receive
	// finds the message moved to the dead-letter queue.
	var receives int
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: work.QueueUrl, WaitTimeSeconds: 2})
		if err != nil {
			t.Fatal(err)
		}
		receives += len(out.Messages)
		if n := dlqLength(t, sq, *dlq.QueueUrl); n == 1 {
			break
		}
	}
	if receives != maxReceiveCount {
		t.Fatalf("the message was received %d times before it was dead-lettered, want %d", receives, maxReceiveCount)
	}
	if st := stepOf(t, sm, *started.PipelineExecutionArn); st.StepStatus != smtypes.StepStatusExecuting {
		t.Fatalf("before the sweep, the step is %s, want Executing", st.StepStatus)
	}

	const reason = "swept: message dead-lettered"
	code, out, errOut := runSweep(t, "-dlq", *dlq.QueueUrl, "-fail", reason)
	t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
	if code != 0 || !strings.Contains(out, "listed 1, failed 1, settled 0, errors 0") {
		t.Errorf("sweep: exit %d, want 0 and one step failed", code)
	}
	noRawToken(t, srv, out+errOut)

	st := stepOf(t, sm, *started.PipelineExecutionArn)
	if st.StepStatus != smtypes.StepStatusFailed || aws.ToString(st.FailureReason) != reason {
		t.Errorf("after the sweep, the step is %s with reason %q, want Failed with %q", st.StepStatus, aws.ToString(st.FailureReason), reason)
	}
	if st.Metadata == nil || st.Metadata.Callback == nil || aws.ToString(st.Metadata.Callback.SqsQueueUrl) != *work.QueueUrl {
		t.Errorf("the step's Metadata.Callback does not name the work queue: %+v", st.Metadata)
	}
	ex, err := sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: started.PipelineExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	if ex.PipelineExecutionStatus != smtypes.PipelineExecutionStatusFailed {
		t.Errorf("the execution is %s, want Failed", ex.PipelineExecutionStatus)
	}
	if n := dlqLength(t, sq, *dlq.QueueUrl); n != 0 {
		t.Errorf("the dead-letter queue still holds %d messages", n)
	}
}

// dlqLength returns the messages on a queue, visible or in flight.
func dlqLength(t *testing.T, sq *sqs.Client, url string) int {
	t.Helper()
	out, err := sq.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var visible, inFlight int
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessages"], &visible)
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessagesNotVisible"], &inFlight)
	return visible + inFlight
}

// stepOf returns the one step of an execution, as ListPipelineExecutionSteps
// lists it.
func stepOf(t *testing.T, sm *sagemaker.Client, executionARN string) smtypes.PipelineExecutionStep {
	t.Helper()
	out, err := sm.ListPipelineExecutionSteps(context.Background(), &sagemaker.ListPipelineExecutionStepsInput{PipelineExecutionArn: aws.String(executionARN)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.PipelineExecutionSteps) != 1 {
		t.Fatalf("%d steps, want 1", len(out.PipelineExecutionSteps))
	}
	return out.PipelineExecutionSteps[0]
}
