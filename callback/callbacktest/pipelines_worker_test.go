package callbacktest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
)

// What a real Worker reported (the outcome of each step, its FailureReason,
// its OutputParameters) is read back through ListPipelineExecutionSteps, as
// from AWS.
func TestWorkerReportsThroughListSteps(t *testing.T) {
	srv := newServer(t, func(o *callbacktest.Options) { o.Queue.Second = 10 * time.Millisecond })
	createPipeline(t, srv, "two", twoSteps(srv.QueueURL()))
	h := func(_ context.Context, m callback.Message) ([]callback.Output, error) {
		if _, ok := m.Arguments["accuracy"]; ok { // the "report" step
			return nil, errors.New("no report for accuracy " + fmt.Sprint(m.Arguments["accuracy"]))
		}
		return []callback.Output{callback.MustNewOutput("accuracy", "0.93")}, nil
	}
	w := worker.New(srv.SQSClient(), callback.New(srv.Client()), h, func(o *worker.Options) {
		o.QueueURL = srv.QueueURL()
		o.WaitTime = 20 * time.Second // 200 ms in the fake
		o.VisibilityTimeout = 6 * time.Second
		o.ShutdownTimeout = 5 * time.Second
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	arn := startExecution(t, srv, "two")
	deadline := time.Now().Add(10 * time.Second)
	for executionStatus(t, srv, arn) == smtypes.PipelineExecutionStatusExecuting {
		if time.Now().After(deadline) {
			t.Fatal("the execution did not end")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s := executionStatus(t, srv, arn); s != smtypes.PipelineExecutionStatusFailed {
		t.Errorf("execution %s, want Failed", s)
	}
	steps := executionSteps(t, srv, arn)
	if len(steps) != 2 {
		t.Fatalf("steps %+v", steps)
	}
	train, report := steps[0], steps[1]
	if train.StepStatus != smtypes.StepStatusSucceeded || len(train.Metadata.Callback.OutputParameters) != 1 ||
		aws.ToString(train.Metadata.Callback.OutputParameters[0].Value) != "0.93" {
		t.Errorf("train %+v, outputs %+v", train, train.Metadata.Callback.OutputParameters)
	}
	if report.StepStatus != smtypes.StepStatusFailed || !strings.Contains(aws.ToString(report.FailureReason), "no report for accuracy 0.93") {
		t.Errorf("report %s, FailureReason %q", report.StepStatus, aws.ToString(report.FailureReason))
	}
}
