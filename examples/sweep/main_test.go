package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// fake starts the local fake and points the standard AWS configuration at
// it, as an operator points it at localserver: AWS_ENDPOINT_URL and dummy
// keys, nothing else.
func fake(t *testing.T, optFns ...func(*callbacktest.Options)) *callbacktest.Server {
	t.Helper()
	srv := callbacktest.NewServer(optFns...)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/none")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRETEXAMPLE")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", srv.URL())
	return srv
}

func runSweep(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// noRawToken fails the test if the output shows a raw token of srv.
func noRawToken(t *testing.T, srv *callbacktest.Server, output string) {
	t.Helper()
	for _, st := range srv.Steps() {
		if strings.Contains(output, st.Token) {
			t.Errorf("the output shows a raw token:\n%s", output)
		}
	}
}

// states counts the fake queue's messages by state.
func states(srv *callbacktest.Server) map[string]int {
	n := map[string]int{}
	for _, m := range srv.QueueMessages() {
		n[m.State]++
	}
	return n
}

func TestUsageNothingSent(t *testing.T) {
	srv := fake(t)
	for _, args := range [][]string{
		{},
		{"-pipeline", "p", "-dlq", srv.QueueURL()},
		{"-pipeline", "p", "-fail", ""},
		{"-pipeline", "p", "-fail", strings.Repeat("x", 257)},
		{"-pipeline", "p", "-older-than", "-1h"},
		{"-pipeline", "p", "extra"},
		{"-no-such-flag"},
	} {
		code, out, errOut := runSweep(t, args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s%s", args, code, out, errOut)
		}
	}
	if n := len(srv.Requests()) + len(srv.SQSRequests()); n != 0 {
		t.Errorf("%d requests sent for bad flags", n)
	}
	_, _, errOut := runSweep(t, "-pipeline", "p", "-fail", strings.Repeat("x", 257))
	if !strings.Contains(errOut, "FailureReason") || !strings.Contains(errOut, "nothing was sent") {
		t.Errorf("a too long reason is not named: %s", errOut)
	}
}

// TestDLQListChangesNothing: without -fail, the dead-letter queue's
// messages are listed, a malformed one counts as an error, and everything
// is left as it was: the steps wait, the messages are visible.
func TestDLQListChangesNothing(t *testing.T) {
	srv := fake(t)
	srv.StartStep(map[string]any{"model": "churn"})
	srv.StartStep(nil)
	srv.SendQueueMessage("not a callback message")

	code, out, errOut := runSweep(t, "-dlq", srv.QueueURL())
	if code != 1 {
		t.Errorf("exit %d, want 1 (a malformed message)", code)
	}
	if !strings.Contains(out, "listed 2, failed 0, settled 0, errors 1") || strings.Count(out, "Token(sha256:") != 2 {
		t.Errorf("output:\n%s", out)
	}
	if !strings.Contains(errOut, "left in the queue") {
		t.Errorf("stderr: %s", errOut)
	}
	noRawToken(t, srv, out+errOut)
	for _, st := range srv.Steps() {
		if st.Status != callbacktest.StatusExecuting {
			t.Errorf("step %+v changed", st)
		}
	}
	if n := states(srv); n[callbacktest.MessageVisible] != 3 {
		t.Errorf("messages %v, want 3 visible", n)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d SageMaker requests without -fail", n)
	}
}

// TestDLQFail: with -fail, each step whose message is on the queue is failed
// with the reason and its messages deleted; a step completed meanwhile
// counts as settled and its message is deleted too; a malformed body stays.
// A second sweep finds only the malformed message.
func TestDLQFail(t *testing.T) {
	srv := fake(t)
	stuck, arn := srv.StartStep(nil)
	srv.StopExecution(arn) // its Stopping message too: one step, two messages
	done, _ := srv.StartStep(nil)
	if _, err := callback.New(srv.Client()).Fail(context.Background(), callback.MustParseToken(done), callback.MustParseReason("a worker answered")); err != nil {
		t.Fatal(err)
	}
	srv.SendQueueMessage(`{"token":"short","status":"Executing"}`)

	code, out, errOut := runSweep(t, "-dlq", srv.QueueURL(), "-fail", "swept: message dead-lettered")
	t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
	if code != 1 {
		t.Errorf("exit %d, want 1 (a malformed message)", code)
	}
	if !strings.Contains(out, "listed 2, failed 1, settled 1, errors 1") {
		t.Errorf("output:\n%s\n%s", out, errOut)
	}
	noRawToken(t, srv, out+errOut)
	if st, _ := srv.Step(stuck); st.Status != callbacktest.StatusFailed || st.FailureReason != "swept: message dead-lettered" || st.Completions != 1 {
		t.Errorf("stuck step %+v", st)
	}
	if st, _ := srv.Step(done); st.FailureReason != "a worker answered" {
		t.Errorf("the step completed meanwhile changed: %+v", st)
	}
	if n := states(srv); n[callbacktest.MessageDeleted] != 3 || n[callbacktest.MessageVisible] != 1 {
		t.Errorf("messages %v, want 3 deleted and the malformed one visible", n)
	}

	code, out, _ = runSweep(t, "-dlq", srv.QueueURL(), "-fail", "swept: message dead-lettered")
	if code != 1 || !strings.Contains(out, "listed 0, failed 0, settled 0, errors 1") {
		t.Errorf("second sweep: exit %d\n%s", code, out)
	}
}

// TestDLQOlderThan: -older-than keeps the messages sent longer ago; the
// others are left, visible.
func TestDLQOlderThan(t *testing.T) {
	var now atomic.Int64 // the fake's clock, read by its handlers
	srv := fake(t, func(o *callbacktest.Options) { o.Now = func() time.Time { return time.Unix(0, now.Load()) } })
	now.Store(time.Now().Add(-3 * time.Hour).UnixNano())
	old, _ := srv.StartStep(nil)
	now.Store(time.Now().UnixNano())
	young, _ := srv.StartStep(nil)

	code, out, errOut := runSweep(t, "-dlq", srv.QueueURL(), "-older-than", "2h", "-fail", "stuck for hours")
	if code != 0 || !strings.Contains(out, "listed 1, failed 1, settled 0, errors 0") || !strings.Contains(out, "3h0m") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	if st, _ := srv.Step(old); st.Status != callbacktest.StatusFailed {
		t.Errorf("old step %+v", st)
	}
	if st, _ := srv.Step(young); st.Status != callbacktest.StatusExecuting {
		t.Errorf("young step %+v", st)
	}
	if n := states(srv); n[callbacktest.MessageVisible] != 1 || n[callbacktest.MessageDeleted] != 1 {
		t.Errorf("messages %v", n)
	}
}

// TestDLQReportFails: a report that fails beyond the retry policy is an
// error; the message stays for the next sweep.
func TestDLQReportFails(t *testing.T) {
	srv := fake(t)
	tok, _ := srv.StartStep(nil)
	srv.FailRandom(1, callbacktest.LimitExceeded)

	code, out, errOut := runSweep(t, "-dlq", srv.QueueURL(), "-fail", "swept")
	if code != 1 || !strings.Contains(out, "listed 1, failed 0, settled 0, errors 1") || !strings.Contains(errOut, "limit exceeded") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	noRawToken(t, srv, out+errOut)
	if st, _ := srv.Step(tok); st.Status != callbacktest.StatusExecuting {
		t.Errorf("step %+v", st)
	}
	if n := states(srv); n[callbacktest.MessageVisible] != 1 {
		t.Errorf("messages %v", n)
	}
}

// TestPipelineList: -pipeline lists the waiting steps of every execution,
// Executing and Stopping, oldest first, with their age, the token redacted,
// and changes nothing.
func TestPipelineList(t *testing.T) {
	var now atomic.Int64 // the fake's clock, read by its handlers
	srv := fake(t, func(o *callbacktest.Options) { o.Now = func() time.Time { return time.Unix(0, now.Load()) } })
	now.Store(time.Now().Add(-3 * time.Hour).UnixNano())
	srv.StartStep(nil)
	now.Store(time.Now().Add(-time.Hour).UnixNano())
	_, stopped := srv.StartStep(nil)
	srv.StopExecution(stopped)
	now.Store(time.Now().UnixNano())
	srv.StartStep(nil)
	before := len(srv.QueueMessages())

	code, out, errOut := runSweep(t, "-pipeline", "callbacktest")
	t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
	if code != 0 || !strings.Contains(out, "listed 3, failed 0, settled 0, errors 0") {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 4 || !strings.Contains(lines[1], " 3h0m") || !strings.Contains(lines[2], "Stopping") || !strings.Contains(lines[2], " 1h0m") || !strings.Contains(lines[3], "Executing") {
		t.Errorf("not oldest first with status and age:\n%s", out)
	}
	if strings.Count(out, "Token(sha256:") != 3 || strings.Contains(out, "RESULT") {
		t.Errorf("output:\n%s", out)
	}
	noRawToken(t, srv, out+errOut)
	for _, st := range srv.Steps() {
		if st.Status != callbacktest.StatusExecuting {
			t.Errorf("step %+v changed", st)
		}
	}
	for _, r := range srv.Requests() {
		if r.Operation == callback.OpFailure || r.Operation == callback.OpSuccess {
			t.Errorf("%s sent without -fail", r.Operation)
		}
	}
	if n := len(srv.QueueMessages()); n != before {
		t.Errorf("%d messages, had %d", n, before)
	}

	code, out, _ = runSweep(t, "-pipeline", "callbacktest", "-older-than", "2h")
	if code != 0 || !strings.Contains(out, "listed 1, failed 0") || !strings.Contains(out, " 3h0m") {
		t.Errorf("-older-than 2h: exit %d\n%s", code, out)
	}
}

// TestPipelineFail: -fail fails each waiting step once; a second sweep finds
// none; an unknown pipeline is an error, exit 1.
func TestPipelineFail(t *testing.T) {
	srv := fake(t)
	var toks []string
	for range 3 {
		tok, _ := srv.StartStep(nil)
		toks = append(toks, tok)
	}
	code, out, errOut := runSweep(t, "-pipeline", "callbacktest", "-fail", "stuck: swept")
	if code != 0 || !strings.Contains(out, "listed 3, failed 3, settled 0, errors 0") || strings.Count(out, "failed\n") != 3 {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, tok := range toks {
		if st, _ := srv.Step(tok); st.Status != callbacktest.StatusFailed || st.FailureReason != "stuck: swept" || st.Completions != 1 {
			t.Errorf("step %+v", st)
		}
	}
	code, out, _ = runSweep(t, "-pipeline", "callbacktest", "-fail", "stuck: swept")
	if code != 0 || !strings.Contains(out, "no waiting step found") || !strings.Contains(out, "listed 0, failed 0, settled 0, errors 0") {
		t.Errorf("second sweep: exit %d\n%s", code, out)
	}
	code, out, errOut = runSweep(t, "-pipeline", "no-such-pipeline", "-fail", "stuck: swept")
	if code != 1 || !strings.Contains(out, "errors 1") || !strings.Contains(errOut, "not found") {
		t.Errorf("unknown pipeline: exit %d\n%s\n%s", code, out, errOut)
	}
	// A listing that failed finds nothing: it does not say that no step waits.
	if strings.Contains(out, "no waiting step found") {
		t.Errorf("unknown pipeline: the output says no step waits:\n%s", out)
	}
}

// TestPipelineSweepsAtOnce: two sweeps with different reasons, at once:
// each step is failed exactly once, by one of them; the other finds it
// settled (ConflictException), or no longer waiting. No errors.
func TestPipelineSweepsAtOnce(t *testing.T) {
	srv := fake(t)
	for range 6 {
		srv.StartStep(nil)
	}
	type result struct {
		code     int
		out, err string
	}
	results := make(chan result, 2)
	for _, reason := range []string{"swept by A", "swept by B"} {
		go func() {
			var out, errOut bytes.Buffer
			code := run(context.Background(), []string{"-pipeline", "callbacktest", "-fail", reason}, &out, &errOut)
			results <- result{code, out.String(), errOut.String()}
		}()
	}
	failed, settled := 0, 0
	for range 2 {
		r := <-results
		var listed, f, s, e int
		if _, err := fmt.Sscanf(r.out[strings.LastIndex(r.out, "listed"):], "listed %d, failed %d, settled %d, errors %d", &listed, &f, &s, &e); err != nil || r.code != 0 || e != 0 || listed != f+s {
			t.Errorf("exit %d (%v)\n%s\n%s", r.code, err, r.out, r.err)
		}
		failed += f
		settled += s
	}
	if failed != 6 {
		t.Errorf("%d steps failed in all, want 6 (%d settled)", failed, settled)
	}
	for _, st := range srv.Steps() {
		if st.Status != callbacktest.StatusFailed || st.Completions != 1 || st.Conflicts > 1 {
			t.Errorf("step %+v", st)
		}
	}
}
