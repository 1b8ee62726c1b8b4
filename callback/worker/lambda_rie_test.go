//go:build linux

package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
)

// The pinned emulator, as .ci/run installs it.
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// TestLambdaEmulator runs worker.LambdaHandler in a real Lambda function
// binary (package internal/lambdafn, built once here) under AWS's Lambda
// Runtime Interface Emulator, invoked over loopback HTTP with SQS events, and
// reporting to a callbacktest server. It is skipped when aws-lambda-rie is
// not installed, unless CALLBACK_REQUIRE_RIE=1, which makes it fail instead.
func TestLambdaEmulator(t *testing.T) {
	rie := findRIE(t)
	bin := buildFunction(t, "./internal/lambdafn")

	t.Run("MixedBatch", func(t *testing.T) {
		t.Parallel()
		srv := callbacktest.NewServer()
		defer srv.Close()
		em := startEmulator(t, rie, bin, srv, 10)

		okTok, okARN := srv.NewStep()
		failTok, failARN := srv.NewStep()
		panicTok, panicARN := srv.NewStep()
		doneTok, doneARN := srv.NewStep()
		if _, err := callback.New(srv.Client()).Fail(context.Background(), callback.MustParseToken(doneTok), callback.MustParseReason("earlier")); err != nil {
			t.Fatal(err)
		}
		stopTok, stopARN := srv.NewStep()
		dupTok, dupARN := srv.NewStep()
		unknown := "Unknown123"
		resp := em.invoke(t,
			record("ok", okTok, okARN, map[string]any{"do": "succeed", "n": 7}, callbacktest.MessageStatusExecuting),
			record("fail", failTok, failARN, map[string]any{"do": "fail"}, callbacktest.MessageStatusExecuting),
			record("panic", panicTok, panicARN, map[string]any{"do": "panic"}, callbacktest.MessageStatusExecuting),
			rawRecord("malformed", `{"token":"AbCdE12345","status":"Paused"}`),
			record("unknown", unknown, okARN, map[string]any{"do": "succeed", "n": 1}, callbacktest.MessageStatusExecuting),
			record("done", doneTok, doneARN, map[string]any{"do": "succeed", "n": 2}, callbacktest.MessageStatusExecuting),
			record("stop-exec", stopTok, stopARN, map[string]any{"do": "succeed", "n": 3}, callbacktest.MessageStatusExecuting),
			record("stop", stopTok, stopARN, nil, callbacktest.MessageStatusStopping),
			record("dup1", dupTok, dupARN, map[string]any{"do": "succeed", "n": 4}, callbacktest.MessageStatusExecuting),
			record("dup2", dupTok, dupARN, map[string]any{"do": "succeed", "n": 4}, callbacktest.MessageStatusExecuting),
		)
		if got := listed(resp); !slices.Equal(got, []string{"malformed"}) {
			t.Errorf("listed %v, want [malformed]", got)
		}
		red := func(tok string) string { return callback.MustParseToken(tok).String() }
		checkStep(t, srv, okTok, callbacktest.StatusSucceeded, "", callbacktest.Output{Name: "n", Value: "7"})
		checkStep(t, srv, failTok, callbacktest.StatusFailed, "the job for "+red(failTok)+" failed: disk full")
		checkStep(t, srv, panicTok, callbacktest.StatusFailed, "handler panicked: no model for "+red(panicTok))
		checkStep(t, srv, stopTok, callbacktest.StatusFailed, worker.StoppingReason)
		checkStep(t, srv, dupTok, callbacktest.StatusSucceeded, "", callbacktest.Output{Name: "n", Value: "4"})
		if st, _ := srv.Step(doneTok); st.FailureReason != "earlier" || st.Completions != 1 || st.Conflicts != 1 {
			t.Errorf("the step completed before: %+v; want its first outcome kept and one conflict", st)
		}
		// The stopped step saw only the stop's failure; the step delivered
		// twice was reported once: neither handler ran more than it should.
		if ops := operations(srv, stopTok); !slices.Equal(ops, []string{callbacktest.OpFailure}) {
			t.Errorf("requests for the stopped step: %v; want one failure", ops)
		}
		if ops := operations(srv, dupTok); !slices.Equal(ops, []string{callbacktest.OpSuccess}) {
			t.Errorf("requests for the step delivered twice: %v; want one success", ops)
		}
		em.checkNoToken(t, srv, unknown, "AbCdE12345")
	})

	t.Run("TransientFaultOutlastingPolicy", func(t *testing.T) {
		t.Parallel()
		srv := callbacktest.NewServer()
		defer srv.Close()
		em := startEmulator(t, rie, bin, srv, 10) // the function's policy: 3 attempts
		tok, arn := srv.NewStep()
		okTok, okARN := srv.NewStep()
		srv.FailNext(3, callbacktest.Unavailable.ForToken(tok))
		recs := []events.SQSMessage{
			record("m1", tok, arn, map[string]any{"do": "succeed", "n": 1}, callbacktest.MessageStatusExecuting),
			record("m2", okTok, okARN, map[string]any{"do": "succeed", "n": 2}, callbacktest.MessageStatusExecuting),
		}
		if got := listed(em.invoke(t, recs...)); !slices.Equal(got, []string{"m1"}) {
			t.Fatalf("listed %v, want [m1]", got)
		}
		if st, _ := srv.Step(tok); st.Status != callbacktest.StatusExecuting {
			t.Errorf("step %+v; want it still executing", st)
		}
		if n := len(operations(srv, tok)); n != 3 {
			t.Errorf("%d requests for the failing step; want exactly the policy's 3", n)
		}
		checkStep(t, srv, okTok, callbacktest.StatusSucceeded, "", callbacktest.Output{Name: "n", Value: "2"})

		// SQS delivers m1 again after its visibility timeout: settled then.
		if got := listed(em.invoke(t, recs[0])); len(got) != 0 {
			t.Errorf("redelivery: listed %v, want none", got)
		}
		checkStep(t, srv, tok, callbacktest.StatusSucceeded, "", callbacktest.Output{Name: "n", Value: "1"})
		em.checkNoToken(t, srv)
	})

	t.Run("RedeliveredBatch", func(t *testing.T) {
		t.Parallel()
		srv := callbacktest.NewServer()
		defer srv.Close()
		em := startEmulator(t, rie, bin, srv, 10)
		var recs []events.SQSMessage
		for i := range 5 {
			tok, arn := srv.NewStep()
			do := "succeed"
			if i%2 == 1 {
				do = "fail"
			}
			recs = append(recs, record(fmt.Sprint(i), tok, arn, map[string]any{"do": do, "n": i}, callbacktest.MessageStatusExecuting))
		}
		for range 2 { // the same batch twice, as after a lost answer
			if got := listed(em.invoke(t, recs...)); len(got) != 0 {
				t.Errorf("listed %v, want none", got)
			}
		}
		for _, st := range srv.Steps() {
			if st.Completions != 1 || st.Replays != 1 || st.Conflicts != 0 {
				t.Errorf("step %s…: %+v; want completed once, the repeat answered as the first", st.Token[:2], st)
			}
		}
		em.checkNoToken(t, srv)
	})

	t.Run("HandlerOutlivesTimeout", func(t *testing.T) {
		t.Parallel()
		srv := callbacktest.NewServer()
		defer srv.Close()
		em := startEmulator(t, rie, bin, srv, 3) // Lambda's default timeout
		quick, quickARN := srv.NewStep()
		block, blockARN := srv.NewStep()
		ignore, ignoreARN := srv.NewStep()
		const ignoreFor = 3500 * time.Millisecond // past the timeout
		start := time.Now()
		resp := em.invoke(t,
			record("quick", quick, quickARN, map[string]any{"do": "succeed", "n": 1}, callbacktest.MessageStatusExecuting),
			record("block", block, blockARN, map[string]any{"do": "block"}, callbacktest.MessageStatusExecuting),
			record("ignore", ignore, ignoreARN, map[string]any{"do": "ignore", "ms": ignoreFor.Milliseconds()}, callbacktest.MessageStatusExecuting),
		)
		if d := time.Since(start); d >= 3*time.Second {
			t.Errorf("answered after %v, past the 3s timeout", d)
		}
		if got := listed(resp); !slices.Equal(got, []string{"block", "ignore"}) {
			t.Errorf("listed %v, want [block ignore]", got)
		}
		checkStep(t, srv, quick, callbacktest.StatusSucceeded, "", callbacktest.Output{Name: "n", Value: "1"})

		// The function lives on: the next invocation is served.
		next, nextARN := srv.NewStep()
		if got := listed(em.invoke(t, record("next", next, nextARN, map[string]any{"do": "succeed", "n": 2}, callbacktest.MessageStatusExecuting))); len(got) != 0 {
			t.Errorf("next invocation: listed %v", got)
		}
		// The handler that ignored its context has returned by now; its
		// outcome was dropped, not reported.
		time.Sleep(time.Until(start.Add(ignoreFor + 300*time.Millisecond)))
		for _, tok := range []string{block, ignore} {
			if st, _ := srv.Step(tok); st.Status != callbacktest.StatusExecuting || len(operations(srv, tok)) != 0 {
				t.Errorf("a step cut by the timeout was reported: %+v", st)
			}
		}
		em.checkNoToken(t, srv)
	})

	// examples/lambda, built as its doc says and pointed at the fake through
	// the AWS SDK's own settings, as its local recipe does.
	t.Run("ExampleFunction", func(t *testing.T) {
		t.Parallel()
		example := buildFunction(t, "../../examples/lambda")
		srv := callbacktest.NewServer()
		defer srv.Close()
		em := startEmulator(t, rie, example, srv, 3,
			"AWS_ENDPOINT_URL_SAGEMAKER="+srv.URL(),
			"AWS_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID="+callbacktest.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY="+callbacktest.SecretAccessKey,
			"AWS_LAMBDA_LOG_LEVEL=DEBUG",
		)
		tok, arn := srv.NewStep()
		bad, badARN := srv.NewStep()
		resp := em.invoke(t,
			record("m1", tok, arn, map[string]any{"model": "churn", "epochs": 3}, callbacktest.MessageStatusExecuting),
			record("m2", bad, badARN, nil, callbacktest.MessageStatusExecuting),
			rawRecord("m3", "hello"),
		)
		if got := listed(resp); !slices.Equal(got, []string{"m3"}) {
			t.Errorf("listed %v, want [m3]", got)
		}
		checkStep(t, srv, tok, callbacktest.StatusSucceeded, "",
			callbacktest.Output{Name: "model_uri", Value: "s3://models/churn/model.tar.gz"}, callbacktest.Output{Name: "epochs", Value: "3"})
		checkStep(t, srv, bad, callbacktest.StatusFailed, `the argument "model" is missing or empty`)
		em.checkNoToken(t, srv)
	})

	t.Run("TenConcurrentInvocations", func(t *testing.T) {
		t.Parallel()
		srv := callbacktest.NewServer()
		defer srv.Close()
		// 40 steps, each delivered twice, in two different batches of 8:
		// ten invocations at once, one emulator each (one emulator serves
		// one invocation at a time, as one execution environment does).
		const n, steps = 10, 40
		ems := make([]*emulator, n)
		for i := range ems {
			ems[i] = startEmulator(t, rie, bin, srv, 10)
		}
		batches := make([][]events.SQSMessage, n)
		for i := range steps {
			tok, arn := srv.NewStep()
			for d := range 2 {
				b := (i + d*(n/2)) % n
				batches[b] = append(batches[b], record(fmt.Sprintf("%d-%d", i, d), tok, arn, map[string]any{"do": "succeed", "n": i}, callbacktest.MessageStatusExecuting))
			}
		}
		resps := make([]events.SQSEventResponse, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range ems {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resps[i], errs[i] = ems[i].call(batches[i]...)
			}()
		}
		wg.Wait()
		for i, r := range resps {
			if errs[i] != nil {
				t.Errorf("invocation %d: %v", i, errs[i])
			} else if got := listed(r); len(got) != 0 {
				t.Errorf("invocation %d listed %v", i, got)
			}
		}
		for _, st := range srv.Steps() {
			if st.Status != callbacktest.StatusSucceeded || st.Completions != 1 || st.Conflicts != 0 {
				t.Errorf("step %s…: %+v; want succeeded exactly once", st.Token[:2], st)
			}
		}
		for _, em := range ems {
			em.checkNoToken(t, srv)
		}
	})
}

// checkStep checks a step's state on the fake: completed once, no conflict.
func checkStep(t *testing.T, srv *callbacktest.Server, tok, status, reason string, outputs ...callbacktest.Output) {
	t.Helper()
	st, _ := srv.Step(tok)
	if st.Status != status || st.Completions != 1 || st.Conflicts != 0 || st.FailureReason != reason || !slices.Equal(st.Outputs, outputs) {
		t.Errorf("step %s…: %+v; want %s %q %v, 1 completion, no conflict", tok[:2], st, status, reason, outputs)
	}
}

// operations lists the operations of the requests the fake got for tok.
func operations(srv *callbacktest.Server, tok string) []string {
	var ops []string
	for _, r := range srv.Requests() {
		if r.CallbackToken == tok {
			ops = append(ops, r.Operation)
		}
	}
	return ops
}

// findRIE returns the path of aws-lambda-rie, on PATH or where go install
// puts it; or skips the test (fails it with CALLBACK_REQUIRE_RIE=1).
func findRIE(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	for _, v := range []string{"GOBIN", "GOPATH"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			continue
		}
		dir := strings.TrimSpace(string(out))
		if dir == "" {
			continue
		}
		if v == "GOPATH" {
			dir = filepath.Join(filepath.SplitList(dir)[0], "bin")
		}
		if p := filepath.Join(dir, "aws-lambda-rie"); isFile(p) {
			return p
		}
	}
	msg := "aws-lambda-rie is not installed; go install " + rieModule
	if os.Getenv("CALLBACK_REQUIRE_RIE") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// buildFunction builds the main package pkg, as for Lambda's provided.al2023
// runtime (-tags lambda.norpc), into the test's temporary directory.
func buildFunction(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// emulator is an aws-lambda-rie process running the function binary.
type emulator struct {
	url     string // the invocations endpoint
	timeout time.Duration
	out     *syncBuffer // the emulator's and the function's output
}

// startEmulator starts aws-lambda-rie with the function binary bin, its
// timeout timeoutSecs, reporting to srv, on two free loopback ports.
func startEmulator(t *testing.T, rie, bin string, srv *callbacktest.Server, timeoutSecs int, env ...string) *emulator {
	t.Helper()
	var lastErr error
	for range 3 { // a free port may be taken between the check and the start
		em, err := tryEmulator(t, rie, bin, srv, timeoutSecs, env)
		if err == nil {
			return em
		}
		lastErr = err
	}
	t.Fatalf("aws-lambda-rie did not start: %v", lastErr)
	return nil
}

func tryEmulator(t *testing.T, rie, bin string, srv *callbacktest.Server, timeoutSecs int, env []string) (*emulator, error) {
	p1, p2 := freePort(t), freePort(t)
	em := &emulator{
		url:     "http://" + p1 + "/2015-03-31/functions/function/invocations",
		timeout: time.Duration(timeoutSecs) * time.Second,
		out:     &syncBuffer{},
	}
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", p1, "--runtime-api-address", p2, bin)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(timeoutSecs),
		"CALLBACK_TEST_ENDPOINT=" + srv.URL(),
	}, env...)
	cmd.Dir = filepath.Dir(bin)
	cmd.Stdout, cmd.Stderr = em.out, em.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the function runs in its group
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", p1, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("it exited: %s", em.out.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("not listening after 10s: %s", em.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("emulator output:\n%s", em.out.String())
		}
	})
	return em, nil
}

// freePort returns a loopback address with a port free at the moment and
// never returned before in this process. The kernel may hand a port just
// closed to the next Listen: without the check, two emulators started
// together could get the same port for different uses, and the readiness
// dial of one would reach the other's runtime API (seen under load).
func freePort(t *testing.T) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if !portsGiven[addr] {
			portsGiven[addr] = true
			return addr
		}
	}
}

var (
	portsMu    sync.Mutex
	portsGiven = make(map[string]bool)
)

// invoke invokes the function with an SQS event of recs and returns its
// answer, failing the test when it is not a batch response of the records.
func (em *emulator) invoke(t *testing.T, recs ...events.SQSMessage) events.SQSEventResponse {
	t.Helper()
	r, err := em.call(recs...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// call is invoke for any goroutine: it returns an error when the answer is
// not a batch response (an error, or the emulator's "Task timed out") or
// lists something other than a record of the batch, which would make Lambda
// deliver the whole batch again.
func (em *emulator) call(recs ...events.SQSMessage) (events.SQSEventResponse, error) {
	var r events.SQSEventResponse
	body, err := json.Marshal(events.SQSEvent{Records: recs})
	if err != nil {
		return r, err
	}
	client := &http.Client{Timeout: em.timeout + 10*time.Second}
	resp, err := client.Post(em.url, "application/json", bytes.NewReader(body))
	if err != nil {
		return r, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return r, fmt.Errorf("invoke: reading the answer: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if resp.StatusCode != http.StatusOK || dec.Decode(&r) != nil {
		return r, fmt.Errorf("invoke: HTTP %d %q; want a batch response", resp.StatusCode, out)
	}
	for _, f := range r.BatchItemFailures {
		if !slices.ContainsFunc(recs, func(m events.SQSMessage) bool { return m.MessageId == f.ItemIdentifier }) {
			return r, fmt.Errorf("invoke: BatchItemFailures lists %q, not a record of the batch", f.ItemIdentifier)
		}
	}
	return r, nil
}

// checkNoToken fails the test when the emulator's output (the function's log
// included) shows a raw token of srv's steps or one of extra.
func (em *emulator) checkNoToken(t *testing.T, srv *callbacktest.Server, extra ...string) {
	t.Helper()
	out := em.out.String()
	for _, st := range srv.Steps() {
		extra = append(extra, st.Token)
	}
	for _, tok := range extra {
		if strings.Contains(out, tok) {
			t.Errorf("the function's output shows a raw token")
			return
		}
	}
	if !strings.Contains(out, "worker: ") {
		t.Errorf("the function logged nothing: %s", out)
	}
}
