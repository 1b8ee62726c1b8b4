package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/examples/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	token := fs.String("token", "", "the step's callback token (10 letters and digits); without it, run against a local fake")
	reason := fs.String("reason", "", "the failure reason (at most 256 characters)")
	endpoint := fs.String("endpoint", "", "SageMaker endpoint URL (default: from the AWS configuration)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: fail [-token T [-reason R] [-endpoint URL]]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fail: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return cli.ExitUsage
	}
	if *token == "" {
		if *endpoint != "" || *reason != "" {
			fmt.Fprintln(stderr, "fail: -endpoint and -reason need -token")
			return cli.ExitUsage
		}
		return local(ctx, stdout, stderr)
	}

	tok, err := callback.ParseToken(*token)
	if err != nil {
		fmt.Fprintf(stderr, "fail: -token: %v\nnothing was sent\n", err)
		return cli.ExitUsage
	}
	r, err := callback.ParseReason(*reason)
	if err != nil {
		fmt.Fprintf(stderr, "fail: -reason: %v\nnothing was sent\n", err)
		return cli.ExitUsage
	}
	client, err := cli.RemoteClient(ctx, *endpoint)
	if err != nil {
		fmt.Fprintf(stderr, "fail: AWS configuration: %v\nnothing was sent\n", err)
		return cli.ExitUsage
	}
	fmt.Fprintf(stdout, "sending SendPipelineExecutionStepFailure for %v\n", tok)
	arn, err := client.Fail(ctx, tok, r)
	if err != nil {
		return cli.Report(stderr, err)
	}
	fmt.Fprintf(stdout, "acknowledged; pipeline execution: %s\n", arn)
	return cli.ExitOK
}

// local runs the whole job against an in-process fake.
func local(ctx context.Context, stdout, stderr io.Writer) int {
	srv := callbacktest.NewServer()
	defer srv.Close()
	prev := callback.SetDefault(callback.New(srv.Client()))
	defer callback.SetDefault(prev)

	raw, _ := srv.NewStep()
	tok := callback.MustParseToken(raw) // in real life: callback.ParseMessage(sqsBody)
	fmt.Fprintf(stdout, "local SageMaker fake at %s (no AWS account needed)\n", srv.URL())
	fmt.Fprintf(stdout, "registered a callback step, token %v\n\n", tok)

	// The job fails with a real Go error, wrapped as usual.
	_, jobErr := os.Open("/nonexistent/training-data.csv")
	jobErr = fmt.Errorf("train model: load data: %w", jobErr)
	reason := callback.ReasonFromError(jobErr)

	fmt.Fprintln(stdout, "callback.Fail sends SendPipelineExecutionStepFailure:")
	fmt.Fprintf(stdout, "  CallbackToken      %v\n", tok)
	fmt.Fprintf(stdout, "  FailureReason      %q\n", reason)
	fmt.Fprintf(stdout, "  ClientRequestToken %s\n\n", callback.FailureRequestToken(tok, reason))

	arn, err := callback.Fail(ctx, tok, reason)
	if err != nil {
		return cli.Report(stderr, err)
	}
	fmt.Fprintf(stdout, "acknowledged; pipeline execution:\n  %s\n", arn)
	fmt.Fprintf(stdout, "  pipeline %q, execution %q, region %s, account %s\n\n", arn.Pipeline(), arn.ExecutionID(), arn.Region(), arn.Account())

	step, ok := srv.Step(raw)
	if !ok {
		fmt.Fprintln(stderr, "fail: the fake lost the step")
		return cli.ExitFailed
	}
	fmt.Fprintln(stdout, "the fake recorded:")
	fmt.Fprintf(stdout, "  status %s, completions %d\n  reason %q\n", step.Status, step.Completions, step.FailureReason)

	// A second report with another reason is refused: the first one stands.
	// (The fake's choice: AWS does not document what the service answers.)
	_, err = callback.Fail(ctx, tok, callback.MustParseReason("a different reason"))
	if !errors.Is(err, callback.ErrConflict) {
		fmt.Fprintf(stderr, "fail: a second report with another reason should conflict, got %v\n", err)
		return cli.ExitFailed
	}
	fmt.Fprintln(stdout, "\na second report with another reason is refused as a conflict")
	fmt.Fprintln(stdout, "(the fake's choice; AWS does not document what the service answers):")
	fmt.Fprintf(stdout, "  %v\n", err)
	return cli.ExitOK
}
