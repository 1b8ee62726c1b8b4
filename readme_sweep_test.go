package sagemakercallback_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestReadmeStuckSteps runs the sh block of the README's section on stuck
// steps as a reader would: the local server as the block starts it (on a
// free port), then the other lines in a shell with Debian's AWS CLI and no
// AWS configuration but the block's own, with examples/sweep built.
func TestReadmeStuckSteps(t *testing.T) {
	const awsCLI = "/usr/bin/aws" // Debian's: other CLIs on PATH may differ
	if testing.Short() {
		t.Skip("builds and runs commands; skipped under -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("the block is for a POSIX shell")
	}
	if _, err := os.Stat(awsCLI); err != nil {
		t.Skipf("%s is not installed (apt-get install awscli)", awsCLI)
	}
	lines := blockWith(t, readmeSection(t, "## Steps that wait forever"), "go run ./examples/localserver")
	first, _, _ := strings.Cut(lines[0], "#")
	serverArgs, ok := strings.CutPrefix(strings.TrimSpace(first), "go run ./examples/localserver ")
	if !ok {
		t.Fatalf("the block does not start the local server: %q", lines[0])
	}

	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin, "./examples/localserver", "./examples/sweep")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	args := strings.Fields(strings.ReplaceAll(serverArgs, "127.0.0.1:8080", "127.0.0.1:0"))
	server := exec.Command(filepath.Join(bin, "localserver"), args...)
	var serverOut, serverLog syncBuffer
	server.Stdout, server.Stderr = &serverOut, &serverLog
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = server.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = server.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = server.Process.Kill()
			<-exited
		}
	})
	// "listening on URL", then "step TOKEN execution ARN" for each step it
	// started, in full (the tokens that no output of the block may show),
	// then "stop with Ctrl-C".
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(serverOut.String(), "stop with"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not start:\n%s\n%s", serverOut.String(), serverLog.String())
		}
	}
	var url string
	var tokens []string
	for _, l := range strings.Split(serverOut.String(), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 3 && f[0] == "listening" && f[1] == "on":
			url = f[2]
		case len(f) >= 2 && f[0] == "step":
			tokens = append(tokens, f[1])
		}
	}
	if url == "" || len(tokens) != 2 {
		t.Fatalf("the server printed no URL or not two steps (url %q, %d steps)\n%s", url, len(tokens), serverOut.String())
	}

	script := strings.Join(lines[1:], "\n")
	script = strings.ReplaceAll(script, "go run ./examples/sweep", filepath.Join(bin, "sweep"))
	script = strings.ReplaceAll(script, "http://127.0.0.1:8080", url)
	cmd := exec.Command("/bin/sh", "-e", "-x", "-c", script)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the README's commands failed: %v\n\nserver log:\n%s", err, serverLog.String())
	}
	for _, want := range []string{
		"listed 2, failed 0, settled 0, errors 0", // the listing
		"listed 2, failed 2, settled 0, errors 0", // -fail
		"Failed\tstuck: no worker answered",       // the CLI's view
		"listed 2, failed 0, settled 2, errors 0", // -dlq: the messages of settled steps
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	for _, tok := range tokens {
		if strings.Contains(string(out), tok) {
			t.Errorf("the output shows a raw token")
		}
	}
}
