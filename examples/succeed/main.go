package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

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

// outputs is a repeatable -output flag.
type outputs []callback.Output

func (o *outputs) String() string { return fmt.Sprint(*o) }

func (o *outputs) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want name=value")
	}
	out, err := callback.NewOutput(name, value)
	if err != nil {
		return err
	}
	*o = append(*o, out)
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("succeed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	token := fs.String("token", "", "the step's callback token (10 letters and digits); without it, run against a local fake")
	endpoint := fs.String("endpoint", "", "SageMaker endpoint URL (default: from the AWS configuration)")
	var outs outputs
	fs.Var(&outs, "output", "an output parameter as name=value (repeatable, at most 50)")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "succeed: unexpected argument %q\n", fs.Arg(0))
		return cli.ExitUsage
	}
	if *token == "" {
		if *endpoint != "" || len(outs) > 0 {
			fmt.Fprintln(stderr, "succeed: -endpoint and -output need -token")
			return cli.ExitUsage
		}
		return local(ctx, stdout, stderr)
	}
	tok, err := callback.ParseToken(*token)
	if err != nil {
		fmt.Fprintf(stderr, "succeed: -token: %v\nnothing was sent\n", err)
		return cli.ExitUsage
	}
	client, err := cli.RemoteClient(ctx, *endpoint)
	if err != nil {
		fmt.Fprintf(stderr, "succeed: AWS configuration: %v\nnothing was sent\n", err)
		return cli.ExitUsage
	}
	fmt.Fprintf(stdout, "sending SendPipelineExecutionStepSuccess for %v with %d outputs\n", tok, len(outs))
	arn, err := client.Succeed(ctx, tok, outs)
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
	client := callback.New(srv.Client())

	raw, _ := srv.NewStep()
	tok := callback.MustParseToken(raw)
	fmt.Fprintf(stdout, "local SageMaker fake at %s (no AWS account needed)\n", srv.URL())
	fmt.Fprintf(stdout, "registered a callback step, token %v\n\n", tok)

	outs := []callback.Output{
		callback.MustNewOutput("model_uri", "s3://models/churn/2026-11-27/model.tar.gz"),
		callback.MustNewOutput("accuracy", "0.93"),
	}
	fmt.Fprintln(stdout, "Client.Succeed sends SendPipelineExecutionStepSuccess:")
	fmt.Fprintf(stdout, "  CallbackToken      %v\n", tok)
	for _, o := range outs {
		fmt.Fprintf(stdout, "  OutputParameter    %s\n", o)
	}
	fmt.Fprintf(stdout, "  ClientRequestToken %s\n\n", callback.SuccessRequestToken(tok, outs))

	arn, err := client.Succeed(ctx, tok, outs)
	if err != nil {
		return cli.Report(stderr, err)
	}
	fmt.Fprintf(stdout, "acknowledged; pipeline execution:\n  %s\n\n", arn)
	step, ok := srv.Step(raw)
	if !ok {
		fmt.Fprintln(stderr, "succeed: the fake lost the step")
		return cli.ExitFailed
	}
	fmt.Fprintln(stdout, "the fake recorded:")
	fmt.Fprintf(stdout, "  status %s, completions %d\n", step.Status, step.Completions)
	for _, o := range step.Outputs {
		fmt.Fprintf(stdout, "  output %s = %s\n", o.Name, o.Value)
	}
	return cli.ExitOK
}
