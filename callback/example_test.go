package callback_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/retry"
)

// A callback step's SQS message, parsed: the token is checked, the arguments
// keep their JSON types, and printing the message never shows the token.
func ExampleParseMessage() {
	body := []byte(`{"token":"SYZ8ExZ3Sd",
		"pipelineExecutionArn":"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/wlaimaypb6hb",
		"arguments":{"model_package_group":"g","baseline_accuracy":0.82},
		"status":"Executing"}`)
	m, err := callback.ParseMessage(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Token)
	fmt.Println(m.Status, m.ExecutionARN.Pipeline(), m.ExecutionARN.ExecutionID())
	fmt.Printf("%v %T\n", m.Arguments["baseline_accuracy"], m.Arguments["baseline_accuracy"])
	// Output:
	// Token(sha256:72c73f80)
	// Executing p wlaimaypb6hb
	// 0.82 json.Number
}

// Fail a step with a reason made from a Go error. Too long a reason is cut in
// the middle, keeping the failed operation and the root cause.
func ExampleClient_Fail() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	srv.AddStep("SYZ8ExZ3Sd")
	client := callback.New(srv.Client())

	_, jobErr := os.Open("/nonexistent/training-data.csv")
	jobErr = fmt.Errorf("train model: load data: %w", jobErr)

	tok := callback.MustParseToken("SYZ8ExZ3Sd")
	arn, err := client.Fail(context.Background(), tok, callback.ReasonFromError(jobErr))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(arn.IsValid(), arn.Region())
	step, _ := srv.Step("SYZ8ExZ3Sd")
	fmt.Println(step.Status, step.FailureReason)
	// Output:
	// true us-east-1
	// Failed train model: load data: open /nonexistent/training-data.csv: no such file or directory
}

// Tell the classes of failure apart with errors.Is.
func ExampleErrNotFound() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	client := callback.New(srv.Client())
	ctx := context.Background()

	_, err := client.Fail(ctx, callback.MustParseToken("NoSuchStep"), callback.Reason{})
	switch {
	case errors.Is(err, callback.ErrNotFound):
		fmt.Println("no step waits for this token: drop the message")
	case errors.Is(err, callback.ErrConflict):
		fmt.Println("already completed: drop the message")
	case errors.Is(err, callback.ErrThrottled), errors.Is(err, callback.ErrUnavailable):
		fmt.Println("try again later: the request is idempotent")
	case err != nil:
		fmt.Println("give up:", err)
	}
	var e *callback.Error
	if errors.As(err, &e) {
		fmt.Println(e.Op, e.Code, e.Attempts)
	}
	// Output:
	// no step waits for this token: drop the message
	// SendPipelineExecutionStepFailure ResourceNotFound 1
}

// Retries: throttling is retried with the same ClientRequestToken, per the
// policy, and the step is completed once.
func ExampleOptions() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	token, _ := srv.NewStep()
	srv.FailNext(2, callbacktest.Throttle)

	client := callback.New(srv.Client(), func(o *callback.Options) {
		o.Retry = retry.Policy{MaxAttempts: 4, InitialInterval: time.Millisecond}
	})
	_, err := client.Succeed(context.Background(), callback.MustParseToken(token),
		[]callback.Output{callback.MustNewOutput("model", "s3://bucket/model.tar.gz")})
	fmt.Println(err)
	for _, r := range srv.Requests() {
		fmt.Println(r.StatusCode, r.ErrorCode, r.ClientRequestToken == srv.Requests()[0].ClientRequestToken)
	}
	step, _ := srv.Step(token)
	fmt.Println(step.Status, step.Completions)
	// Output:
	// <nil>
	// 400 ThrottlingException true
	// 400 ThrottlingException true
	// 200  true
	// Succeeded 1
}

// Test your own worker against callbacktest: point the package-level
// functions at the fake with SetDefault.
func ExampleSetDefault() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	prev := callback.SetDefault(callback.New(srv.Client()))
	defer callback.SetDefault(prev)

	// The code under test calls the package-level functions.
	worker := func(ctx context.Context, body []byte) error {
		m, err := callback.ParseMessage(body)
		if err != nil {
			return err
		}
		_, err = callback.Succeed(ctx, m.Token, []callback.Output{callback.MustNewOutput("rows", "42")})
		return err
	}

	token, _ := srv.NewStep()
	err := worker(context.Background(), []byte(`{"token":"`+token+`","status":"Executing"}`))
	step, _ := srv.Step(token)
	fmt.Println(err, step.Status, step.Outputs)
	// Output:
	// <nil> Succeeded [{rows 42}]
}

// ClassOf tells what a failure means and what to do about it, from the one
// table that errors, telemetry and the example programs read.
func ExampleClassOf() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	client := callback.New(srv.Client())

	_, err := client.Fail(context.Background(), callback.MustParseToken("NoSuchStep"), callback.Reason{})
	if c, ok := callback.ClassOf(err); ok {
		fmt.Println(c.Name, c.Retryable)
		fmt.Println(c.Hint)
	}
	// Output:
	// not_found false
	// no step waits for this token: it is unknown, expired, or its execution is gone
}
