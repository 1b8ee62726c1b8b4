package main

import (
	"bytes"
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestPipeline(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	var out, errOut, logs bytes.Buffer
	code := pipeline(context.Background(), srv, slog.New(slog.NewTextHandler(&logs, nil)), newMeters(), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{
		"train-churn  Token(sha256:",
		"Succeeded  model_uri=s3://models/churn/model.tar.gz epochs=3",
		`Failed     reason: "accuracy 0.71 is below the baseline 0.82"`,
		`Failed     reason: "pipeline execution is stopping"`,
		"queue: 5 messages sent, 5 deleted, 0 left",
		"callback.worker.messages{outcome=succeeded} 2",
		"callback.worker.messages{outcome=failed} 3",
		"callback.worker.inflight 0",
		"callback.worker.handler.duration count 4,",
		"callback.worker.message.age count 5,",
	} {
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
	for _, st := range srv.Steps() {
		if strings.Contains(out.String()+errOut.String()+logs.String(), st.Token) {
			t.Errorf("a raw token was printed or logged")
		}
	}
}

func TestRun(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-v", "-metrics"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, name := range []string{"callback.worker.messages{outcome=succeeded}", "callback.worker.message.age", "callback.report.attempts{operation=SendPipelineExecutionStepFailure,outcome=ok}"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("-metrics printed no %s:\n%s", name, out.String())
		}
	}
	if code := run(context.Background(), []string{"extra"}, &out, &errOut); code != 2 {
		t.Errorf("an extra argument: exit %d, want 2", code)
	}
}

// TestGoRun runs the command as the package documentation says.
func TestGoRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	cmd := exec.Command("go", "run", ".")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "summary:") {
		t.Errorf("output:\n%s", out)
	}
}
