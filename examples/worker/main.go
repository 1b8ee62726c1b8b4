package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
	"github.com/stepcallback/sagemaker-callback/examples/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "write the worker's log to stderr")
	printMetrics := fs.Bool("metrics", false, "print the worker's and the reports' metrics at the end")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "worker: unexpected argument %q\n", fs.Arg(0))
		return cli.ExitUsage
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	srv := callbacktest.NewServer()
	defer srv.Close()
	var mp *meters
	if *printMetrics {
		mp = newMeters()
	}
	return pipeline(ctx, srv, log, mp, stdout, stderr)
}

// step is one callback step of the example pipeline and what should become
// of it.
type step struct {
	name   string
	args   map[string]any
	want   string // the step's status at the end
	token  string
	arn    string
	reason string // for a failed step, the reason it should carry
}

// pipeline starts the steps on srv, runs a Worker until every step is
// completed and every message deleted, and prints a summary, and the
// worker's and the reports' metrics when mp is not nil.
func pipeline(ctx context.Context, srv *callbacktest.Server, log *slog.Logger, mp *meters, stdout, stderr io.Writer) int {
	steps := []*step{
		{name: "train-churn", args: map[string]any{"model": "churn", "epochs": 3}, want: callbacktest.StatusSucceeded},
		{name: "train-fraud", args: map[string]any{"model": "fraud", "epochs": 5}, want: callbacktest.StatusSucceeded},
		{name: "evaluate", args: map[string]any{"model": "churn", "accuracy": 0.71, "baseline_accuracy": 0.82}, want: callbacktest.StatusFailed,
			reason: "accuracy 0.71 is below the baseline 0.82"},
		{name: "backfill", args: map[string]any{"model": "all", "slow": true}, want: callbacktest.StatusFailed,
			reason: worker.StoppingReason},
	}
	fmt.Fprintf(stdout, "local SageMaker and SQS fakes at %s (no AWS account needed)\n", srv.URL())
	byToken := map[string]*step{}
	for _, s := range steps {
		s.args["step"] = s.name
		s.token, s.arn = srv.StartStep(s.args)
		byToken[s.token] = s
		fmt.Fprintf(stdout, "started %-12s token %v\n", s.name, callback.MustParseToken(s.token))
	}
	fmt.Fprintln(stdout)

	slowStarted := make(chan callback.Message, 1)
	handle := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		switch m.Arguments["step"] {
		case "evaluate":
			return nil, fmt.Errorf("accuracy %v is below the baseline %v", m.Arguments["accuracy"], m.Arguments["baseline_accuracy"])
		case "backfill":
			slowStarted <- m
			<-ctx.Done() // a long job, until the pipeline is stopped
			return nil, context.Cause(ctx)
		}
		return []callback.Output{
			callback.MustNewOutput("model_uri", fmt.Sprintf("s3://models/%v/model.tar.gz", m.Arguments["model"])),
			callback.MustNewOutput("epochs", fmt.Sprint(m.Arguments["epochs"])),
		}, nil
	}

	var (
		mu      sync.Mutex
		pending = len(steps) + 1 // every Executing message and the Stopping one
		results = make(chan struct{})
	)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cb := callback.New(srv.Client(), func(o *callback.Options) {
		if mp != nil {
			o.MeterProvider = mp // callback.report.duration and .attempts
		}
	})
	w := worker.New(srv.SQSClient(), cb, handle, func(o *worker.Options) {
		o.QueueURL = srv.QueueURL()
		o.Concurrency = len(steps) + 1 // room for the Stopping message while every handler runs
		o.ShutdownTimeout = 5 * time.Second
		o.Logger = log
		if mp != nil {
			o.MeterProvider = mp
		}
		o.OnResult = func(r worker.Result) {
			name := "?"
			if s := byToken[r.Token.Reveal()]; s != nil {
				name = s.name
			}
			mu.Lock()
			defer mu.Unlock()
			line := fmt.Sprintf("worker: %-12s %-9s message %-9s -> %v", name, r.Status, r.Outcome, r.Token)
			if r.Err != nil {
				line += fmt.Sprintf(" (%v)", r.Err)
			}
			fmt.Fprintln(stdout, line)
			if pending--; pending == 0 {
				close(results)
			}
		}
	})
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()

	// Stop the slow step's pipeline execution once its handler runs.
	select {
	case m := <-slowStarted:
		mu.Lock() // OnResult writes to stdout too
		fmt.Fprintf(stdout, "stopping the execution of backfill (%v)\n", m.Token)
		mu.Unlock()
		srv.StopExecution(m.ExecutionARN.String())
	case <-time.After(30 * time.Second):
		cancel()
		<-done
		fmt.Fprintln(stderr, "worker: the backfill step never started")
		return cli.ExitFailed
	}
	select {
	case <-results:
	case <-time.After(30 * time.Second):
		fmt.Fprintln(stderr, "worker: not every message was settled within 30s")
	case <-ctx.Done():
	}
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintf(stderr, "worker: %v\n", err)
		return cli.ExitFailed
	}
	code := summary(srv, steps, stdout, stderr)
	if mp != nil {
		fmt.Fprintln(stdout, "\nmetrics:")
		mp.print(stdout)
	}
	return code
}

// summary prints what became of each step and checks it.
func summary(srv *callbacktest.Server, steps []*step, stdout, stderr io.Writer) int {
	fmt.Fprintln(stdout, "\nsummary:")
	var bad []string
	for _, s := range steps {
		st, _ := srv.Step(s.token)
		tok := callback.MustParseToken(s.token)
		fmt.Fprintf(stdout, "  %-12s %v  %-9s", s.name, tok, st.Status)
		switch st.Status {
		case callbacktest.StatusSucceeded:
			outs := make([]string, len(st.Outputs))
			for i, o := range st.Outputs {
				outs[i] = o.Name + "=" + o.Value
			}
			fmt.Fprintf(stdout, "  %s", strings.Join(outs, " "))
		case callbacktest.StatusFailed:
			fmt.Fprintf(stdout, "  reason: %q", st.FailureReason)
		}
		fmt.Fprintln(stdout)
		if st.Status != s.want || st.Completions != 1 || s.reason != "" && st.FailureReason != s.reason {
			bad = append(bad, s.name)
		}
	}
	qs := srv.QueueStats()
	fmt.Fprintf(stdout, "queue: %d messages sent, %d deleted, %d left; %d ReceiveMessage calls\n",
		qs.Sent, qs.Deleted, qs.Visible+qs.InFlight+qs.Delayed, qs.ReceiveCalls)
	if qs.Deleted != qs.Sent {
		bad = append(bad, "queue")
	}
	if len(bad) > 0 {
		fmt.Fprintln(stderr, errors.New("worker: not as expected: "+strings.Join(bad, ", ")))
		return cli.ExitFailed
	}
	return cli.ExitOK
}
