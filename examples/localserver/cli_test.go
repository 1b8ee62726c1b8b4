package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// awsCLI is Debian's AWS CLI (awscli 2.9.19), which speaks SQS's query
// protocol. Another aws first on PATH may be a CLI that speaks only JSON.
const awsCLI = "/usr/bin/aws"

func needCLI(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the AWS CLI")
	}
	if _, err := os.Stat(awsCLI); err != nil {
		t.Skipf("%s is not installed (apt-get install awscli)", awsCLI)
	}
}

// docBlocks returns the command blocks of the package doc: the indented
// lines of the comment, block by block.
func docBlocks(t *testing.T) [][]string {
	t.Helper()
	f, err := os.Open("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks [][]string
	var cur []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l, ok := strings.CutPrefix(sc.Text(), "//\t"); ok {
			cur = append(cur, l)
			continue
		}
		if cur != nil {
			blocks = append(blocks, cur)
			cur = nil
		}
	}
	return blocks
}

// cleanEnv is the environment of a newcomer's shell: no AWS configuration
// at all, and Debian's CLI first on PATH.
func cleanEnv(t *testing.T) []string {
	return []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
}

// TestDocCommands runs the package doc's commands as a newcomer would copy
// them: the server as the doc starts it (on a free port), then the CLI block
// in a shell with no AWS configuration (issue 11, findings 4 and 6).
func TestDocCommands(t *testing.T) {
	needCLI(t)
	blocks := docBlocks(t)
	if len(blocks) < 2 || !strings.HasPrefix(blocks[0][0], "go run ./examples/localserver ") {
		t.Fatalf("doc blocks %q", blocks)
	}
	args := strings.Fields(strings.TrimPrefix(blocks[0][0], "go run ./examples/localserver "))
	for i, a := range args {
		if a == "127.0.0.1:8080" {
			args[i] = "127.0.0.1:0"
		}
	}
	var srv *callbacktest.Server
	onServer = func(s *callbacktest.Server) { srv = s }
	defer func() { onServer = nil }()
	p := start(t, args...)
	script := strings.ReplaceAll(strings.Join(blocks[1], "\n"), "http://127.0.0.1:8080", p.url)
	cmd := exec.Command("/bin/sh", "-e", "-x", "-c", script)
	cmd.Env = cleanEnv(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the doc's commands failed: %v\n%s\n\nserver log:\n%s", err, out, p.stderr)
	}
	t.Logf("%s", out)
	if !strings.Contains(string(out), `"PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/`) {
		t.Errorf("no ARN in the output:\n%s", out)
	}
	if st, _ := srv.Step("AbCdE12345"); st.Status != callbacktest.StatusSucceeded || len(st.Outputs) != 1 || st.Outputs[0] != (callbacktest.Output{Name: "accuracy", Value: "0.93"}) {
		t.Errorf("step %+v", st)
	}
	msgs := srv.QueueMessages()
	if len(msgs) != 1 || msgs[0].Body != "hello" || msgs[0].State != callbacktest.MessageDeleted {
		t.Errorf("queue %+v", msgs)
	}
	ops := map[string]bool{}
	for _, r := range srv.SQSRequests() {
		if r.StatusCode == 200 {
			ops[r.Operation] = true
		}
		if r.Target != "" {
			t.Errorf("%s came in SQS's JSON protocol, not the query protocol that %s speaks", r.Operation, awsCLI)
		}
	}
	if len(ops) != 4 {
		t.Errorf("SQS operations answered 200: %v", ops)
	}
}

// TestCLIErrors checks that the CLI reports the fake's errors, in both of
// its protocols, and retries a fault given with -fail-next.
func TestCLIErrors(t *testing.T) {
	needCLI(t)
	p := start(t, "-addr", "127.0.0.1:0", "-token", "AbCdE12345", "-fail-next", "throttle@DeleteMessage:1")
	cli := func(args ...string) (string, error) {
		cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", p.url}, args...)...)
		cmd.Env = append(cleanEnv(t), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=SECRETEXAMPLE", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, tc := range []struct {
		args []string
		want string // in the CLI's output; "" for a success
	}{
		{[]string{"sagemaker", "send-pipeline-execution-step-failure", "--callback-token", "AbCdE12345", "--region", "eu-west-1"}, "(InvalidSignatureException)"},
		{[]string{"sagemaker", "send-pipeline-execution-step-failure", "--callback-token", "Unknown123"}, "(ResourceNotFound)"},
		{[]string{"sagemaker", "create-pipeline", "--pipeline-name", "p", "--role-arn", "arn:aws:iam::123456789012:role/r",
			"--pipeline-definition", `{"Version":"2020-12-01","Steps":[{"Name":"t","Type":"Training","Arguments":{}}]}`}, "the fake (callbacktest) runs callback steps only"},
		{[]string{"sagemaker", "list-pipeline-execution-steps", "--pipeline-execution-arn", "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/none"}, "(ResourceNotFound)"},
		{[]string{"sqs", "receive-message", "--queue-url", p.url + "/123456789012/nope"}, "(AWS.SimpleQueueService.NonExistentQueue)"},
		{[]string{"sqs", "delete-message", "--queue-url", p.queue, "--receipt-handle", "AQEBnope"}, "(ReceiptHandleIsInvalid)"},
	} {
		out, err := cli(tc.args...)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("aws %s: %v\n%s", strings.Join(tc.args, " "), err, out)
		}
	}
	p.stop()
	log := p.stderr.String()
	// The CLI retried the throttled DeleteMessage, then got its answer.
	if !strings.Contains(log, "DeleteMessage fault=Throttle -> 400 RequestThrottled") || !strings.Contains(log, "DeleteMessage -> 400 ReceiptHandleIsInvalid") {
		t.Errorf("log:\n%s", log)
	}
}

// TestDocPipelineCommands runs the doc's commands for a pipeline of one's
// own with the CLI: create-pipeline, start-pipeline-execution, the list
// calls, stop-pipeline-execution, a failure for the Stopping step, and
// describe-pipeline-execution, which must print Stopped.
func TestDocPipelineCommands(t *testing.T) {
	needCLI(t)
	var block []string
	for _, b := range docBlocks(t) {
		if strings.HasPrefix(b[0], "D='") {
			block = b
		}
	}
	if block == nil {
		t.Fatal("no pipeline block in the doc")
	}
	var srv *callbacktest.Server
	onServer = func(s *callbacktest.Server) { srv = s }
	defer func() { onServer = nil }()
	p := start(t, "-addr", "127.0.0.1:0")
	script := strings.ReplaceAll(strings.Join(block, "\n"), "http://127.0.0.1:8080", p.url)
	cmd := exec.Command("/bin/sh", "-e", "-x", "-c", script)
	cmd.Env = append(cleanEnv(t), "E="+p.url, "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=SECRETEXAMPLE",
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the doc's commands failed: %v\n%s\n\nserver log:\n%s", err, out, p.stderr)
	}
	t.Logf("%s", out)
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); lines[len(lines)-1] != "Stopped" {
		t.Errorf("the last command printed %q, want Stopped", lines[len(lines)-1])
	}
	for _, want := range []string{`"StepName": "train"`, `"StepStatus": "Executing"`, `"PipelineExecutionStatus": "Executing"`, `"CallbackToken": "`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %s in the output", want)
		}
	}
	var bodies []string
	for _, m := range srv.QueueMessages() {
		bodies = append(bodies, m.Body)
	}
	if len(bodies) != 2 || !strings.Contains(bodies[0], `"arguments":{"model":"m2"},"status":"Executing"`) || !strings.Contains(bodies[1], `"status":"Stopping"`) {
		t.Errorf("messages %q", bodies)
	}
	ops := map[string]bool{}
	for _, r := range srv.Requests() {
		if r.StatusCode == 200 {
			ops[r.Operation] = true
		}
	}
	for _, op := range []string{"CreatePipeline", "StartPipelineExecution", "ListPipelineExecutions", "ListPipelineExecutionSteps", "StopPipelineExecution", "SendPipelineExecutionStepFailure", "DescribePipelineExecution"} {
		if !ops[op] {
			t.Errorf("no %s answered 200: %v", op, ops)
		}
	}
}
