package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/examples/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// The dead-letter queue's reads: how long a received message stays
// invisible to others while the sweep holds it, and how long a receive
// waits for messages (long polling, so that an empty answer means an empty
// queue).
const (
	holdSeconds = 300
	waitSeconds = 1
)

// flags are the command line, checked.
type flags struct {
	pipeline  string
	dlq       string
	olderThan time.Duration
	fail      bool
	reason    callback.Reason
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, code := parse(args, stderr)
	if code != cli.ExitOK {
		return code
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "sweep: AWS configuration: %v\nnothing was sent\n", err)
		return cli.ExitUsage
	}
	sm := sagemaker.NewFromConfig(cfg)
	s := &sweep{flags: f, cb: callback.New(sm), now: time.Now(), stderr: stderr}
	s.table = tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	if f.pipeline != "" {
		s.fromPipeline(ctx, sm)
	} else {
		s.fromDLQ(ctx, sqs.NewFromConfig(cfg))
	}
	switch {
	case s.listed > 0:
		s.table.Flush()
	case s.errors == 0:
		// Said only when the listing succeeded: after an error, nothing
		// says that no step waits.
		fmt.Fprintln(stdout, "no waiting step found")
	}
	fmt.Fprintf(stdout, "listed %d, failed %d, settled %d, errors %d\n", s.listed, s.failed, s.settled, s.errors)
	if s.errors > 0 {
		return cli.ExitFailed
	}
	return cli.ExitOK
}

// parse reads the command line; a code other than ExitOK ends the command.
func parse(args []string, stderr io.Writer) (flags, int) {
	var f flags
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.pipeline, "pipeline", "", "list the waiting callback steps of this pipeline (its name or ARN)")
	fs.StringVar(&f.dlq, "dlq", "", "read the callback messages on this dead-letter queue (its URL) instead")
	fs.DurationVar(&f.olderThan, "older-than", 0, "keep only the steps waiting for longer than this (with -dlq: messages sent longer ago)")
	reason := fs.String("fail", "", "fail the steps listed, with this reason (at most 256 characters); without it nothing is changed")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sweep -pipeline NAME [-older-than D] [-fail REASON]")
		fmt.Fprintln(stderr, "       sweep -dlq URL [-older-than D] [-fail REASON]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, cli.ExitUsage
	}
	fs.Visit(func(fl *flag.Flag) { f.fail = f.fail || fl.Name == "fail" })
	usage := func(msg string) (flags, int) {
		fmt.Fprintf(stderr, "sweep: %s\n", msg)
		fs.Usage()
		return f, cli.ExitUsage
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected argument " + strconv.Quote(fs.Arg(0)))
	case (f.pipeline == "") == (f.dlq == ""):
		return usage("give one of -pipeline and -dlq")
	case f.olderThan < 0:
		return usage("-older-than must not be negative")
	case f.fail && *reason == "":
		return usage("-fail needs a reason")
	}
	if f.fail {
		r, err := callback.ParseReason(*reason)
		if err != nil {
			fmt.Fprintf(stderr, "sweep: -fail: %v\nnothing was sent\n", err)
			return f, cli.ExitUsage
		}
		f.reason = r
	}
	return f, cli.ExitOK
}

// sweep is one run: what it found and did, counted.
type sweep struct {
	flags
	cb     *callback.Client
	now    time.Time
	table  *tabwriter.Writer
	stderr io.Writer

	listed, failed, settled, errors int
}

// outcome is what the sweep made of one step.
type outcome int

const (
	listedOnly   outcome = iota // nothing sent (no -fail)
	failed                      // the failure was acknowledged
	settled                     // the step no longer waits: completed meanwhile, or unknown
	failedReport                // the report failed: the step may still wait
)

// fromPipeline lists the pipeline's waiting steps and, with -fail, fails them.
func (s *sweep) fromPipeline(ctx context.Context, sm *sagemaker.Client) {
	steps, err := callback.Waiting(ctx, sm, s.pipeline)
	if err != nil {
		// Waiting's error joins one error per step left out and the error
		// of the call that stopped the listing, if one did.
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs {
			s.errors++
			fmt.Fprintf(s.stderr, "sweep: %v\n", e)
		}
	}
	s.header()
	for _, w := range steps {
		age, known := s.age(w.Started)
		if s.olderThan > 0 && (!known || age <= s.olderThan) {
			continue
		}
		s.row(w.ExecutionARN.String(), w.StepName, string(w.Status), ageText(age, known), w.Token, s.report(ctx, w.Token))
	}
}

// fromDLQ lists the callback messages on the dead-letter queue and, with
// -fail, fails each one's step and deletes the message once its step is
// failed or settled. A message not deleted is made visible again at the end:
// it is left where it was.
func (s *sweep) fromDLQ(ctx context.Context, api *sqs.Client) {
	var (
		seen = map[string]bool{}            // message IDs received
		done = map[callback.Token]outcome{} // the steps reported
		held []string                       // receipt handles to make visible again
	)
	defer func() { s.release(ctx, api, held) }()
	s.header()
	for {
		out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    &s.dlq,
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             waitSeconds,
			VisibilityTimeout:           holdSeconds,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameSentTimestamp},
		})
		if err != nil {
			s.errors++
			fmt.Fprintf(s.stderr, "sweep: ReceiveMessage from %s: %v\n", s.dlq, err)
			return
		}
		fresh := 0
		for _, m := range out.Messages {
			id, handle := aws.ToString(m.MessageId), aws.ToString(m.ReceiptHandle)
			if seen[id] {
				continue
			}
			seen[id] = true
			fresh++
			if s.message(ctx, m, done) {
				s.remove(ctx, api, id, handle)
			} else {
				held = append(held, handle)
			}
		}
		if fresh == 0 {
			return
		}
	}
}

// message handles one message of the dead-letter queue and reports whether
// to delete it: its step was failed or is settled.
func (s *sweep) message(ctx context.Context, m sqstypes.Message, done map[callback.Token]outcome) bool {
	id := aws.ToString(m.MessageId)
	msg, err := callback.ParseMessage([]byte(aws.ToString(m.Body)))
	if err != nil {
		s.errors++
		fmt.Fprintf(s.stderr, "sweep: message %s: %v; left in the queue\n", id, err)
		return false
	}
	if o, ok := done[msg.Token]; ok {
		// The step's other message (Executing and Stopping): the step is
		// listed and reported once; this message follows the first.
		return o == failed || o == settled
	}
	var sent time.Time
	if ms, err := strconv.ParseInt(m.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		sent = time.UnixMilli(ms)
	}
	age, known := s.age(sent)
	if s.olderThan > 0 && (!known || age <= s.olderThan) {
		return false
	}
	o := s.report(ctx, msg.Token)
	done[msg.Token] = o
	s.row(msg.ExecutionARN.String(), "-", string(msg.Status), ageText(age, known), msg.Token, o)
	return o == failed || o == settled
}

// report fails the step of tok when -fail was given, and counts the step.
func (s *sweep) report(ctx context.Context, tok callback.Token) outcome {
	s.listed++
	if !s.fail {
		return listedOnly
	}
	_, err := s.cb.Fail(ctx, tok, s.reason)
	switch {
	case err == nil:
		s.failed++
		return failed
	case errors.Is(err, callback.ErrConflict), errors.Is(err, callback.ErrNotFound):
		s.settled++
		return settled
	}
	s.errors++
	fmt.Fprintf(s.stderr, "sweep: %v\n", err)
	return failedReport
}

// remove deletes a message whose step was failed or is settled.
func (s *sweep) remove(ctx context.Context, api *sqs.Client, id, handle string) {
	if _, err := api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &s.dlq, ReceiptHandle: &handle}); err != nil {
		s.errors++
		fmt.Fprintf(s.stderr, "sweep: DeleteMessage %s: %v (its step is settled: the next sweep deletes it)\n", id, err)
	}
}

// release makes the messages the sweep held visible again, even after the
// sweep was interrupted.
func (s *sweep) release(ctx context.Context, api *sqs.Client, handles []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, h := range handles {
		if _, err := api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &s.dlq, ReceiptHandle: &h, VisibilityTimeout: 0}); err != nil {
			s.errors++
			fmt.Fprintf(s.stderr, "sweep: ChangeMessageVisibility: %v (the message is visible again in at most %d s)\n", err, holdSeconds)
		}
	}
}

// header writes the table's header.
func (s *sweep) header() {
	cols := "EXECUTION\tSTEP\tSTATUS\tAGE\tTOKEN"
	if s.fail {
		cols += "\tRESULT"
	}
	fmt.Fprintln(s.table, cols)
}

// row writes one step; the token is shown redacted (its %v).
func (s *sweep) row(execution, step, status, age string, tok callback.Token, o outcome) {
	fmt.Fprintf(s.table, "%s\t%s\t%s\t%s\t%v", execution, step, status, age, tok)
	if s.fail {
		fmt.Fprintf(s.table, "\t%s", [...]string{listedOnly: "", failed: "failed", settled: "settled", failedReport: "error"}[o])
	}
	fmt.Fprintln(s.table)
}

// age returns how long ago t was, and false when t is unknown (zero).
func (s *sweep) age(t time.Time) (time.Duration, bool) {
	if t.IsZero() {
		return 0, false
	}
	return max(s.now.Sub(t), 0), true
}

// ageText writes an age to the second.
func ageText(age time.Duration, known bool) string {
	if !known {
		return "unknown"
	}
	return age.Truncate(time.Second).String()
}
