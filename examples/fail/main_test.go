package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

func runFail(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestLocalDefault(t *testing.T) {
	code, out, errOut := runFail(t)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"arn:aws:sagemaker:", "status Failed, completions 1", "no such file or directory", "Token(sha256:", "conflict"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// remote points the AWS configuration chain at static test credentials.
func remote(t *testing.T) *callbacktest.Server {
	t.Helper()
	srv := callbacktest.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/none")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRETEXAMPLE")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return srv
}

func TestRemote(t *testing.T) {
	srv := remote(t)
	raw, arn := srv.NewStep()
	code, out, errOut := runFail(t, "-token", raw, "-reason", "disk full", "-endpoint", srv.URL())
	if code != 0 || !strings.Contains(out, arn) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, raw) {
		t.Errorf("output shows the token")
	}
	if s, _ := srv.Step(raw); s.FailureReason != "disk full" {
		t.Errorf("recorded %+v", s)
	}
	// Again with another reason: a conflict, exit 1, named.
	code, _, errOut = runFail(t, "-token", raw, "-reason", "other", "-endpoint", srv.URL())
	if code != 1 || !strings.Contains(errOut, "conflict") {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
}

func TestRemoteNotFound(t *testing.T) {
	srv := remote(t)
	code, _, errOut := runFail(t, "-token", "NoSuchStep", "-endpoint", srv.URL())
	if code != 1 || !strings.Contains(errOut, "not found") || strings.Contains(errOut, "NoSuchStep") {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
}

func TestBadInputNothingSent(t *testing.T) {
	srv := remote(t)
	for _, args := range [][]string{
		{"-token", "short", "-endpoint", srv.URL()},
		{"-token", "AbCdE12345", "-reason", strings.Repeat("x", 257), "-endpoint", srv.URL()},
		{"-no-such-flag"},
		{"-endpoint", srv.URL()},
		{"extra"},
	} {
		code, _, errOut := runFail(t, args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2; stderr %s", args, code, errOut)
		}
		if strings.Contains(errOut, "short") && args[1] == "short" && !strings.Contains(errOut, "CallbackToken") {
			t.Errorf("%q: message does not name the field: %s", args, errOut)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for bad input", n)
	}
}
