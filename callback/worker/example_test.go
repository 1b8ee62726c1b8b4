package worker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
)

// A Worker against the local fakes: a callback step starts (its message goes
// to the fake queue), the Worker runs the handler, reports the success and
// deletes the message.
func Example() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	token, _ := srv.StartStep(map[string]any{"model": "churn"})

	handle := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		uri := "s3://models/" + m.Arguments["model"].(string) + "/model.tar.gz"
		return []callback.Output{callback.MustNewOutput("model_uri", uri)}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := worker.New(srv.SQSClient(), callback.New(srv.Client()), handle, func(o *worker.Options) {
		o.QueueURL = srv.QueueURL()
		o.Logger = slog.New(slog.DiscardHandler)
		o.OnResult = func(r worker.Result) {
			fmt.Println("outcome:", r.Outcome, "deleted:", r.Deleted)
			cancel() // one step is all this example does
		}
	})
	if err := w.Run(ctx); err != nil {
		fmt.Println(err)
	}

	step, _ := srv.Step(token)
	fmt.Println("step:", step.Status, step.Outputs)
	// Output:
	// outcome: Succeeded deleted: true
	// step: Succeeded [{model_uri s3://models/churn/model.tar.gz}]
}

// A step bounded by HandlerTimeout: the handler's context ends with
// ErrHandlerTimeout, and the step is failed as timed out, whether or not the
// handler returns. MaxReceives bounds the step's deliveries the same way: set
// it below the queue's maxReceiveCount.
func Example_handlerTimeout() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	token, _ := srv.StartStep(nil)

	handle := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		<-ctx.Done() // a job that takes too long
		return nil, context.Cause(ctx)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := worker.New(srv.SQSClient(), callback.New(srv.Client()), handle, func(o *worker.Options) {
		o.QueueURL = srv.QueueURL()
		o.Logger = slog.New(slog.DiscardHandler)
		o.HandlerTimeout = 50 * time.Millisecond
		o.MaxReceives = 5
		o.OnResult = func(r worker.Result) {
			fmt.Println("outcome:", r.Outcome, "timed out:", errors.Is(r.Err, worker.ErrHandlerTimeout))
			cancel()
		}
	})
	if err := w.Run(ctx); err != nil {
		fmt.Println(err)
	}

	step, _ := srv.Step(token)
	fmt.Println("step:", step.Status, step.FailureReason)
	// Output:
	// outcome: Failed timed out: true
	// step: Failed handler timed out after 50ms
}
