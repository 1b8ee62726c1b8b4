package worker_test

import (
	"context"
	"fmt"
	"log/slog"

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
