package main

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestLogLinesCannotBeForged checks that a value a client sends, echoed in an
// error message of the fake (a ValidationException quotes the value it
// refuses, ReceiptHandleIsInvalid the handle), stays on its log line: a line
// break in it cannot forge a "completed step" line, which a test reading the
// log trusts, and an escape cannot reach the terminal.
func TestLogLinesCannotBeForged(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0", "-token", "AbCdE12345")
	ctx := context.Background()
	forged := "x\n2026/12/07 02:00:00.000000 completed step Token(sha256:00000000) execution arn:aws:sagemaker:us-east-1:123456789012:pipeline/callbacktest/execution/forged: Succeeded\x1b[2J\u2028"
	if _, err := client(p.url).ListPipelineExecutions(ctx, &sagemaker.ListPipelineExecutionsInput{PipelineName: aws.String(forged)}); errorCode(err) != "ValidationException" {
		t.Fatalf("ListPipelineExecutions: %v", err)
	}
	if _, err := sqsClient(p.url).DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(p.queue), ReceiptHandle: aws.String(forged)}); errorCode(err) != "ReceiptHandleIsInvalid" {
		t.Fatalf("DeleteMessage: %v", err)
	}
	reason := strings.Repeat("r", 250) + forged // too long: refused, and echoed
	if err := fail(t, client(p.url), "AbCdE12345", &reason); errorCode(err) != "ValidationException" {
		t.Fatalf("SendPipelineExecutionStepFailure: %v", err)
	}
	p.stop()
	log := p.stderr.String()
	if regexp.MustCompile(`(?m)^\S+ \S+ completed step `).MatchString(log) {
		t.Errorf("the log shows a completion no request made:\n%s", log)
	}
	line := regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} `)
	for _, l := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		if !line.MatchString(l) {
			t.Errorf("a log line that the logger did not start: %q", l)
		}
		if strings.ContainsAny(l, "\x1b\u2028") {
			t.Errorf("a log line with a control character: %q", l)
		}
	}
	if n := strings.Count(log, `Succeeded\x1b[2J\u2028`); n != 3 {
		t.Errorf("%d lines show the echoed value escaped, want 3:\n%s", n, log)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain é – ok":  "plain é – ok",
		"a\nb\tc\r":     `a\nb\tc\r`,
		"\x1b[31m\x00":  `\x1b[31m\x00`,
		"\u2028\u202e":  `\u2028\u202e`,
		"bad \xff byte": `bad \xff byte`,
		"\ufffd":        "\ufffd",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBadFlagNamed checks that a bad -max-records or -read-timeout is named
// alone, with its value: the message named both rules whichever was broken.
func TestBadFlagNamed(t *testing.T) {
	for flag, want := range map[string][]string{
		"-read-timeout": {"0s", "-read-timeout 0s must be positive"},
		"-max-records":  {"-1", "-max-records -1 must not be negative"},
	} {
		var errOut strings.Builder
		if code := run(context.Background(), []string{flag, want[0]}, io.Discard, &errOut); code != exitUsage {
			t.Errorf("%s %s: exit %d", flag, want[0], code)
		}
		if got := strings.TrimSpace(errOut.String()); got != "localserver: "+want[1] {
			t.Errorf("%s %s: %q, want %q", flag, want[0], got, "localserver: "+want[1])
		}
	}
}
