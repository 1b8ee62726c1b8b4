package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

func runSucceed(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestLocalDefault(t *testing.T) {
	code, out, errOut := runSucceed(t)
	if code != 0 || !strings.Contains(out, "status Succeeded, completions 1") || !strings.Contains(out, "output accuracy = 0.93") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestRemote(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/none")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRETEXAMPLE")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	raw, _ := srv.NewStep()
	code, out, errOut := runSucceed(t, "-token", raw, "-endpoint", srv.URL(), "-output", "k=v", "-output", "model=s3://b/k")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	s, _ := srv.Step(raw)
	if len(s.Outputs) != 2 || s.Outputs[1].Name != "model" || s.Outputs[1].Value != "s3://b/k" {
		t.Errorf("recorded %+v", s)
	}
	code, _, errOut = runSucceed(t, "-token", raw, "-endpoint", srv.URL(), "-output", "novalue")
	if code != 2 || !strings.Contains(errOut, "name=value") {
		t.Errorf("bad -output: exit %d, %s", code, errOut)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}
