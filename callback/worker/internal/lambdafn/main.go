package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
	"github.com/stepcallback/sagemaker-callback/retry"
)

func main() {
	endpoint := os.Getenv("CALLBACK_TEST_ENDPOINT")
	if endpoint == "" {
		fmt.Fprintln(os.Stderr, "lambdafn: CALLBACK_TEST_ENDPOINT is not set")
		os.Exit(2)
	}
	attempts := envInt("CALLBACK_TEST_ATTEMPTS", 3)
	api := sagemaker.New(sagemaker.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "SECRETEXAMPLE", ""),
	})
	cb := callback.New(api, func(o *callback.Options) {
		o.Retry = retry.Policy{MaxAttempts: attempts, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}
	})
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	lambda.Start(worker.LambdaHandler(cb, handle, func(o *worker.LambdaOptions) {
		o.Concurrency = envInt("CALLBACK_TEST_CONCURRENCY", 0)
		o.Logger = log
	}))
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

func handle(ctx context.Context, m callback.Message) ([]callback.Output, error) {
	switch m.Arguments["do"] {
	case "succeed":
		return []callback.Output{callback.MustNewOutput("n", fmt.Sprint(m.Arguments["n"]))}, nil
	case "fail":
		return nil, fmt.Errorf("the job for %s failed: disk full", m.Token.Reveal())
	case "panic":
		panic("no model for " + m.Token.Reveal())
	case "block":
		<-ctx.Done()
		return nil, ctx.Err()
	case "ignore":
		ms, _ := strconv.Atoi(fmt.Sprint(m.Arguments["ms"]))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return []callback.Output{callback.MustNewOutput("n", "late")}, nil
	}
	return nil, fmt.Errorf("unknown action %q", m.Arguments["do"])
}
