package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
)

// LambdaHandler's function, called as Lambda calls it (in a real function:
// lambda.Start(fn)) with a batch of two callback steps' messages and a
// malformed one: the steps are reported, the malformed record is listed for
// the queue's redrive policy.
func ExampleLambdaHandler() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	train, trainARN := srv.NewStep()
	eval, evalARN := srv.NewStep()

	handle := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		model, _ := m.Arguments["model"].(string)
		if model == "" {
			return nil, fmt.Errorf("no model to train")
		}
		return []callback.Output{callback.MustNewOutput("model_uri", "s3://models/"+model+"/model.tar.gz")}, nil
	}
	fn := worker.LambdaHandler(callback.New(srv.Client()), handle, func(o *worker.LambdaOptions) {
		o.Logger = slog.New(slog.DiscardHandler)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // the function's timeout
	defer cancel()
	resp, err := fn(ctx, events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", Body: callbacktest.StepMessage(train, trainARN, map[string]any{"model": "churn"}, callbacktest.MessageStatusExecuting)},
		{MessageId: "m2", Body: callbacktest.StepMessage(eval, evalARN, nil, callbacktest.MessageStatusExecuting)},
		{MessageId: "m3", Body: "not a step's message"},
	}})
	if err != nil {
		fmt.Println(err)
	}
	fmt.Println("to deliver again:", resp.BatchItemFailures)
	for _, tok := range []string{train, eval} {
		st, _ := srv.Step(tok)
		fmt.Printf("step: %s %v %q\n", st.Status, st.Outputs, st.FailureReason)
	}
	// Output:
	// to deliver again: [{m3}]
	// step: Succeeded [{model_uri s3://models/churn/model.tar.gz}] ""
	// step: Failed [] "no model to train"
}
