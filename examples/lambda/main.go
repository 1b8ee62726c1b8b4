package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
)

func main() {
	fn, err := newFunction(context.Background(), os.Getenv)
	if err != nil {
		// An init error: Lambda reports it and retries the cold start.
		fmt.Fprintf(os.Stderr, "lambda: %v\n", err)
		os.Exit(1)
	}
	lambda.Start(fn)
}

// newFunction builds the function's handler from its settings, read with
// getenv (see the package doc); the log's two settings are read by
// lambdacontext.NewLogHandler, from the process's environment.
func newFunction(ctx context.Context, getenv func(string) string) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	// Lambda's own log handler: text or JSON as the function's log format
	// says (AWS_LAMBDA_LOG_FORMAT), at its log level (AWS_LAMBDA_LOG_LEVEL),
	// each line with the invocation's requestId, on standard output.
	log := slog.New(lambdacontext.NewLogHandler())

	var opts worker.LambdaOptions
	if s := getenv("CALLBACK_CONCURRENCY"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("CALLBACK_CONCURRENCY must be a whole number, 0 or more (0: the whole batch at once)")
		}
		opts.Concurrency = n
	}
	if s := getenv("CALLBACK_DEADLINE_MARGIN"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("CALLBACK_DEADLINE_MARGIN must be a positive duration, as 1s or 500ms")
		}
		opts.DeadlineMargin = d
	}
	bucket := getenv("MODEL_BUCKET")
	if bucket == "" {
		bucket = "models"
	}

	// The standard configuration chain: the function's role on Lambda;
	// AWS_ENDPOINT_URL_SAGEMAKER, when set, points the client elsewhere
	// (at examples/localserver, say).
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	cb := callback.New(sagemaker.NewFromConfig(cfg), func(o *callback.Options) { o.Logger = log })
	return worker.LambdaHandler(cb, train(bucket), func(o *worker.LambdaOptions) {
		*o = opts
		o.Logger = log
	}), nil
}

// maxEpochs is the most epochs train runs, 10ms each.
const maxEpochs = 100000

// train returns the step's handler: it "trains" the model its arguments
// name and returns where the model is. Replace it with your own work.
func train(bucket string) worker.Handler {
	return func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		model, _ := m.Arguments["model"].(string)
		if strings.TrimSpace(model) == "" {
			// The step fails with this text as its FailureReason.
			return nil, errors.New(`the argument "model" is missing or empty`)
		}
		epochs := int64(1)
		if n, ok := m.Arguments["epochs"].(json.Number); ok {
			if v, err := n.Int64(); err == nil && v > 0 {
				epochs = v
			}
			if v, err := n.Float64(); err == nil && v > maxEpochs {
				// time.Duration(epochs) * 10ms would overflow, and the work end at once.
				return nil, fmt.Errorf(`the argument "epochs" is %s, more than the %d this example trains`, n, maxEpochs)
			}
		}
		select {
		case <-time.After(time.Duration(epochs) * 10 * time.Millisecond): // the work
		case <-ctx.Done():
			// Out of time: the record is listed and comes back.
			return nil, ctx.Err()
		}
		return []callback.Output{
			callback.MustNewOutput("model_uri", fmt.Sprintf("s3://%s/%s/model.tar.gz", bucket, model)),
			callback.MustNewOutput("epochs", strconv.FormatInt(epochs, 10)),
		}, nil
	}
}
