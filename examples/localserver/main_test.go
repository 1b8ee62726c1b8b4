package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"go.uber.org/goleak"
)

// TestMain runs main itself when the test binary is started by
// TestSignalStopsProcess, and otherwise checks for leaked goroutines.
func TestMain(m *testing.M) {
	if os.Getenv("LOCALSERVER_RUN_MAIN") == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer safe for the server's logging goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func client(url string) *sagemaker.Client {
	return sagemaker.New(sagemaker.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDOTHER", "SECRET", ""),
		Retryer:      aws.NopRetryer{},
	})
}

// start runs the program until the returned stop is called; it returns the
// lines of standard output read up to the "stop with" line.
func start(t *testing.T, args ...string) (lines []string, stderr *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr = &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		code := run(ctx, args, pw, stderr)
		pw.Close()
		done <- code
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "stop with") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return lines, stderr, func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(10 * time.Second):
			t.Fatal("run did not return after cancel")
			return -1
		}
	}
}

func TestServesAndRedacts(t *testing.T) {
	lines, stderr, stop := start(t, "-addr", "127.0.0.1:0", "-token", "AbCdE12345,FgHiJ67890", "-token", "KlMnO13579")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "listening on http://127.0.0.1:") {
		t.Fatalf("stdout = %q", lines)
	}
	url := strings.TrimPrefix(lines[0], "listening on ")
	for _, l := range lines[1:4] {
		if !strings.HasPrefix(l, "step Token(sha256:") || !strings.Contains(l, " execution arn:aws:sagemaker:us-east-1:123456789012:pipeline/") {
			t.Errorf("step line %q", l)
		}
	}
	if out := strings.Join(lines, "\n"); strings.Contains(out, "AbCdE12345") {
		t.Errorf("stdout shows a given token: %s", out)
	}

	c := client(url)
	ctx := context.Background()
	if _, err := c.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("AbCdE12345"), FailureReason: aws.String("disk full")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.SendPipelineExecutionStepSuccess(ctx, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String("AbCdE12345")})
	var ce *types.ConflictException
	if !errors.As(err, &ce) {
		t.Errorf("second completion: %v", err)
	}
	_, err = c.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("Unknown123")})
	var nf *types.ResourceNotFound
	if !errors.As(err, &nf) {
		t.Errorf("unknown token: %v", err)
	}
	_, err = c.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("a")})
	if err == nil {
		t.Error("invalid token accepted")
	}

	if code := stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	log := stderr.String()
	for _, want := range []string{"SendPipelineExecutionStepFailure token=Token(sha256:", "-> 200 arn:aws:sagemaker:", "400 ConflictException", "400 ResourceNotFound", "400 ValidationException: 1 validation error detected: Value '(invalid token)'", "stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	for _, secret := range []string{"AbCdE12345", "Unknown123"} {
		if strings.Contains(log, secret) {
			t.Errorf("log shows the token %s:\n%s", secret, log)
		}
	}
}

func TestMakesATokenWhenNoneIsGiven(t *testing.T) {
	lines, _, stop := start(t, "-addr", "127.0.0.1:0")
	defer stop()
	if len(lines) != 3 {
		t.Fatalf("stdout = %q", lines)
	}
	f := strings.Fields(lines[1])
	if len(f) != 4 || f[0] != "step" || len(f[1]) != 10 || f[2] != "execution" {
		t.Fatalf("step line %q", lines[1])
	}
	url := strings.TrimPrefix(lines[0], "listening on ")
	out, err := client(url).SendPipelineExecutionStepSuccess(context.Background(), &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(f[1])})
	if err != nil || aws.ToString(out.PipelineExecutionArn) != f[3] {
		t.Errorf("completing the printed token: %v", err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-addr", "0.0.0.0:8080"},
		{"-addr", ":8080"},
		{"-addr", "nonsense"},
		{"-token", "short"},
		{"-token", "AbCdE12345,AbCdE12345"},
		{"-nosuchflag"},
		{"-fail", "throttle"},
		{"-fail", "flood:0.5"},
		{"-fail", "throttle:1.5"},
		{"extra"},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != exitUsage {
			t.Errorf("%q: exit %d, want %d\n%s", args, code, exitUsage, errOut.String())
		}
		if strings.Contains(errOut.String(), "AbCdE12345") {
			t.Errorf("%q: stderr shows the token: %s", args, errOut.String())
		}
	}
}

func TestAddressInUse(t *testing.T) {
	lines, _, stop := start(t, "-addr", "127.0.0.1:0")
	defer stop()
	addr := strings.TrimPrefix(strings.TrimPrefix(lines[0], "listening on "), "http://")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-addr", addr}, &out, &errOut); code != exitListen {
		t.Errorf("exit %d, want %d: %s", code, exitListen, errOut.String())
	}
}

// TestSignalStopsProcess runs the program as a process and stops it with
// SIGINT, then SIGTERM.
func TestSignalStopsProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0", "-token", "AbCdE12345")
		cmd.Env = append(os.Environ(), "LOCALSERVER_RUN_MAIN=1", "GORACE=atexit_sleep_ms=0")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr syncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		var url string
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				url = u
			}
			if strings.HasPrefix(sc.Text(), "stop with") {
				break
			}
		}
		if _, err := client(url).SendPipelineExecutionStepFailure(context.Background(), &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("AbCdE12345")}); err != nil {
			t.Errorf("%v: call: %v", sig, err)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		go func() { _, _ = io.Copy(io.Discard, stdout) }()
		errc := make(chan error, 1)
		go func() { errc <- cmd.Wait() }()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("%v: exit: %v\n%s", sig, err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-errc
			t.Fatalf("%v: the process did not stop", sig)
		}
		if log := stderr.String(); !strings.Contains(log, "stopped") || !strings.Contains(log, "-> 200 ") {
			t.Errorf("%v: log:\n%s", sig, log)
		}
	}
}

func TestFail(t *testing.T) {
	lines, stderr, stop := start(t, "-addr", "127.0.0.1:0", "-token", "AbCdE12345", "-fail", "throttle:1")
	url := strings.TrimPrefix(lines[0], "listening on ")
	_, err := client(url).SendPipelineExecutionStepFailure(context.Background(), &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("AbCdE12345")})
	var ae interface{ ErrorCode() string }
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Errorf("err = %v, want ThrottlingException", err)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if log := stderr.String(); !strings.Contains(log, "fault=Throttle -> 400 ThrottlingException: Rate exceeded") {
		t.Errorf("log:\n%s", log)
	}
}
