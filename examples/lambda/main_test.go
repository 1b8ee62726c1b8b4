package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.uber.org/goleak"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// localAWS points the standard AWS configuration at srv, as the package doc
// shows for a local run.
func localAWS(t *testing.T, srv *callbacktest.Server) {
	t.Setenv("AWS_ENDPOINT_URL_SAGEMAKER", srv.URL())
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", callbacktest.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", callbacktest.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFunction(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	localAWS(t, srv)
	fn, err := newFunction(context.Background(), env(map[string]string{"MODEL_BUCKET": "b", "CALLBACK_CONCURRENCY": "2"}))
	if err != nil {
		t.Fatal(err)
	}
	good, goodARN := srv.NewStep()
	bad, badARN := srv.NewStep()
	resp, err := fn(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "good", Body: callbacktest.StepMessage(good, goodARN, map[string]any{"model": "churn", "epochs": 3}, callbacktest.MessageStatusExecuting)},
		{MessageId: "bad", Body: callbacktest.StepMessage(bad, badARN, nil, callbacktest.MessageStatusExecuting)},
		{MessageId: "junk", Body: "hello"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "junk" {
		t.Errorf("BatchItemFailures %v; want only junk", resp.BatchItemFailures)
	}
	st, _ := srv.Step(good)
	want := []callbacktest.Output{{Name: "model_uri", Value: "s3://b/churn/model.tar.gz"}, {Name: "epochs", Value: "3"}}
	if st.Status != callbacktest.StatusSucceeded || len(st.Outputs) != 2 || st.Outputs[0] != want[0] || st.Outputs[1] != want[1] {
		t.Errorf("good step %+v", st)
	}
	st, _ = srv.Step(bad)
	if st.Status != callbacktest.StatusFailed || st.FailureReason != `the argument "model" is missing or empty` {
		t.Errorf("bad step %+v", st)
	}
}

func TestFunctionBadSettings(t *testing.T) {
	for _, m := range []map[string]string{
		{"CALLBACK_CONCURRENCY": "many"},
		{"CALLBACK_CONCURRENCY": "-1"},
		{"CALLBACK_DEADLINE_MARGIN": "1"},
	} {
		if _, err := newFunction(context.Background(), env(m)); err == nil {
			t.Errorf("%v: no error", m)
		}
	}
}

// The function logs through aws-lambda-go's lambdacontext.NewLogHandler, on
// standard output: every line carries the invocation's request id, and none
// a raw token.
func TestFunctionLogs(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	localAWS(t, srv)
	f, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stdout := os.Stdout
	os.Stdout = f // NewLogHandler writes to the os.Stdout of its call
	fn, err := newFunction(context.Background(), env(nil))
	os.Stdout = stdout
	if err != nil {
		t.Fatal(err)
	}
	tok, arn := srv.NewStep()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "0f1e2d3c-req"})
	if _, err := fn(ctx, events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", Body: callbacktest.StepMessage(tok, arn, map[string]any{"model": "churn"}, callbacktest.MessageStatusExecuting)},
		{MessageId: "m2", Body: "hello"},
	}}); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Errorf("%d lines logged, want one per record:\n%s", len(lines), out)
	}
	for _, l := range lines {
		if !strings.Contains(l, "requestId") || !strings.Contains(l, "0f1e2d3c-req") {
			t.Errorf("a line without the invocation's requestId: %s", l)
		}
		if strings.Contains(l, tok) {
			t.Errorf("a raw token was logged")
		}
	}
}

// TestFunctionEpochsBounded checks that an "epochs" argument too large for
// its duration fails the step, where it overflowed and the work ended at
// once (issue 18, finding 9).
func TestFunctionEpochsBounded(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	localAWS(t, srv)
	fn, err := newFunction(context.Background(), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, epochs := range []any{int64(922337203685477581), 1e300} {
		tok, arn := srv.NewStep()
		if _, err := fn(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
			{MessageId: "m", Body: callbacktest.StepMessage(tok, arn, map[string]any{"model": "churn", "epochs": epochs}, callbacktest.MessageStatusExecuting)},
		}}); err != nil {
			t.Fatal(err)
		}
		if st, _ := srv.Step(tok); st.Status != callbacktest.StatusFailed || !strings.Contains(st.FailureReason, `the argument "epochs" is `) {
			t.Errorf("epochs %v: step %+v", epochs, st)
		}
	}
}
