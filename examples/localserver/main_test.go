package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
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

var creds = credentials.NewStaticCredentialsProvider("AKIDOTHER", "SECRET", "")

func client(url string) *sagemaker.Client { return clientIn(url, "us-east-1") }

func clientIn(url, region string) *sagemaker.Client {
	return sagemaker.New(sagemaker.Options{Region: region, BaseEndpoint: aws.String(url), Credentials: creds, Retryer: aws.NopRetryer{}})
}

func sqsClient(url string) *sqs.Client {
	return sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds, Retryer: aws.NopRetryer{}})
}

// process is a run of the program.
type process struct {
	lines  []string // standard output up to the "stop with" line
	url    string
	queue  string
	stderr *syncBuffer
	rest   *syncBuffer // standard output after the "stop with" line
	stop   func() int  // cancels the run and returns its exit code
}

// start runs the program until the returned process's stop is called.
func start(t *testing.T, args ...string) *process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	p := &process{stderr: &syncBuffer{}, rest: &syncBuffer{}}
	done := make(chan int, 1)
	go func() {
		code := run(ctx, args, pw, p.stderr)
		pw.Close()
		done <- code
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		p.lines = append(p.lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "stop with") {
			break
		}
	}
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(p.rest, pr)
		close(copied)
	}()
	if len(p.lines) < 2 {
		cancel()
		<-copied
		t.Fatalf("stdout %q, stderr %s", p.lines, p.stderr)
	}
	p.url = strings.TrimPrefix(p.lines[0], "listening on ")
	p.queue = strings.TrimPrefix(p.lines[1], "queue ")
	var once sync.Once
	code := -1
	p.stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
				<-copied
			case <-time.After(10 * time.Second):
				t.Error("run did not return after cancel")
			}
		})
		return code
	}
	t.Cleanup(func() { p.stop() })
	return p
}

// completedRE matches the start of a completion line, in the log or the
// exit summary.
var completedRE = regexp.MustCompile(`(?m)^(.* )?completed step Token\(sha256:[0-9a-f]+\) execution arn:aws:sagemaker:us-east-1:123456789012:pipeline/[^ ]+: `)

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func fail(t *testing.T, c *sagemaker.Client, token string, reason *string) error {
	t.Helper()
	_, err := c.SendPipelineExecutionStepFailure(context.Background(), &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(token), FailureReason: reason})
	return err
}

func TestServesAndRedacts(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0", "-token", "AbCdE12345,FgHiJ67890", "-token", "KlMnO13579")
	if len(p.lines) != 6 || !strings.HasPrefix(p.url, "http://127.0.0.1:") || p.lines[1] != "queue "+p.url+"/123456789012/callbacktest" {
		t.Fatalf("stdout = %q", p.lines)
	}
	for _, l := range p.lines[2:5] {
		if !strings.HasPrefix(l, "step Token(sha256:") || !strings.Contains(l, " execution arn:aws:sagemaker:us-east-1:123456789012:pipeline/") {
			t.Errorf("step line %q", l)
		}
	}
	if out := strings.Join(p.lines, "\n"); strings.Contains(out, "AbCdE12345") {
		t.Errorf("stdout shows a given token: %s", out)
	}

	c := client(p.url)
	if err := fail(t, c, "AbCdE12345", aws.String("disk full")); err != nil {
		t.Fatal(err)
	}
	_, err := c.SendPipelineExecutionStepSuccess(context.Background(), &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String("AbCdE12345")})
	var ce *types.ConflictException
	if !errors.As(err, &ce) {
		t.Errorf("second completion: %v", err)
	}
	var nf *types.ResourceNotFound
	if err := fail(t, c, "Unknown123", nil); !errors.As(err, &nf) {
		t.Errorf("unknown token: %v", err)
	}
	if err := fail(t, c, "a", nil); errorCode(err) != "ValidationException" {
		t.Errorf("invalid token: %v", err)
	}

	if code := p.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	log := p.stderr.String()
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
	if rest := p.rest.String(); !completedRE.MatchString(rest) || !strings.HasSuffix(rest, `: Failed, reason "disk full"`+"\nsteps: Executing 2, Failed 1, Succeeded 0\n") {
		t.Errorf("summary %q", rest)
	}
	if !completedRE.MatchString(log) || !strings.Contains(log, `: Failed, reason "disk full"`+"\n") {
		t.Errorf("the log lacks the completion line:\n%s", log)
	}
}

// TestRedactsEveryOccurrence checks that a token is redacted wherever it
// appears in a log line, here inside a too-long FailureReason that AWS's
// ValidationException echoes (issue 10, finding 7).
func TestRedactsEveryOccurrence(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0", "-token", "AbCdE12345")
	c := client(p.url)
	long := strings.Repeat("x", 250) + " AbCdE12345 and again AbCdE12345"
	if err := fail(t, c, "AbCdE12345", &long); errorCode(err) != "ValidationException" {
		t.Fatalf("err = %v", err)
	}
	if err := fail(t, c, "Unknown123", aws.String(strings.Repeat("y", 250)+"Unknown123Unknown123")); errorCode(err) != "ValidationException" {
		t.Fatalf("err = %v", err)
	}
	if err := fail(t, c, "Unknown12-", aws.String("Unknown12-")); errorCode(err) != "ValidationException" {
		t.Fatalf("err = %v", err)
	}
	// A token requested before, unregistered, quoted by a later request.
	if err := fail(t, c, "Earlier123", nil); errorCode(err) != "ResourceNotFound" {
		t.Fatalf("err = %v", err)
	}
	if err := fail(t, c, "AbCdE12345", aws.String(strings.Repeat("z", 250)+" Earlier123")); errorCode(err) != "ValidationException" {
		t.Fatalf("err = %v", err)
	}
	p.stop()
	log := p.stderr.String()
	for _, secret := range []string{"AbCdE12345", "Unknown123", "Unknown12-", "Earlier123"} {
		if strings.Contains(log, secret) {
			t.Errorf("log shows %s:\n%s", secret, log)
		}
	}
	if strings.Count(log, "Token(sha256:") < 6 || !strings.Contains(log, "(invalid token)") {
		t.Errorf("log:\n%s", log)
	}
}

func TestMakesATokenWhenNoneIsGiven(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0")
	if len(p.lines) != 4 {
		t.Fatalf("stdout = %q", p.lines)
	}
	f := strings.Fields(p.lines[2])
	if len(f) != 4 || f[0] != "step" || len(f[1]) != 10 || f[2] != "execution" {
		t.Fatalf("step line %q", p.lines[2])
	}
	out, err := client(p.url).SendPipelineExecutionStepSuccess(context.Background(), &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(f[1])})
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
		{"-fail", "throttle@Nope:0.5"},
		{"-fail-next", "throttle:0"},
		{"-fail-next", "throttle:1.5"},
		{"-fail-next", "delay=soon:1"},
		{"-fail-next", "throttle@sendPipelineExecutionStepFailure:1"},
		{"-region", "Mars"},
		{"-account", "12345"},
		{"-rate", "-1"},
		{"-start", "-1"},
		{"-args", "[1]"},
		{"-stop", "1"},
		{"-stop", "0:1s"},
		{"-max-records", "-1"},
		{"-read-timeout", "0s"},
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
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, io.Discard, &errOut); code != exitOK {
		t.Errorf("-h: exit %d", code)
	}
	for _, flag := range []string{"-addr", "-token", "-region", "-account", "-fail", "-fail-next", "-rate", "-start", "-stop", "-max-records", "N:DURATION", "NAME[@OPERATION]:N"} {
		if !strings.Contains(errOut.String(), flag) {
			t.Errorf("-h does not show %s:\n%s", flag, errOut.String())
		}
	}
}

func TestAddressInUse(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-addr", strings.TrimPrefix(p.url, "http://")}, &out, &errOut); code != exitListen {
		t.Errorf("exit %d, want %d: %s", code, exitListen, errOut.String())
	}
}

func TestFail(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0", "-token", "AbCdE12345", "-fail", "throttle:1")
	if err := fail(t, client(p.url), "AbCdE12345", nil); errorCode(err) != "ThrottlingException" {
		t.Errorf("err = %v, want ThrottlingException", err)
	}
	if code := p.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if log := p.stderr.String(); !strings.Contains(log, "fault=Throttle -> 400 ThrottlingException: Rate exceeded") {
		t.Errorf("log:\n%s", log)
	}
}

// TestFailNext checks -fail-next, aimed or not, and -rate (issue 11,
// finding 5).
func TestFailNext(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0", "-token", "AbCdE12345,FgHiJ67890",
		"-fail-next", "internal:2", "-fail-next", "unavailable@"+callbacktest.OpSuccess+":1", "-fail-next", "internal@DeleteMessage:1")
	// The SDK's default retryer makes 3 attempts: the third gets through.
	retrying := sagemaker.New(sagemaker.Options{Region: "us-east-1", BaseEndpoint: aws.String(p.url), Credentials: creds})
	if _, err := retrying.SendPipelineExecutionStepFailure(context.Background(), &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("AbCdE12345")}); err != nil {
		t.Errorf("after two failures: %v", err)
	}
	_, err := client(p.url).SendPipelineExecutionStepSuccess(context.Background(), &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String("FgHiJ67890")})
	if errorCode(err) != "ServiceUnavailable" {
		t.Errorf("aimed at success: %v", err)
	}
	_, err = sqsClient(p.url).DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(p.queue), ReceiptHandle: aws.String("AQEBx")})
	if errorCode(err) != "InternalFailure" {
		t.Errorf("aimed at DeleteMessage: %v", err)
	}
	p.stop()
	log := p.stderr.String()
	if strings.Count(log, "fault=InternalError -> 500 InternalFailure") != 3 || !strings.Contains(log, "attempt=3/3 -> 200") ||
		!strings.Contains(log, "DeleteMessage attempt=1/1 fault=InternalError -> 500 InternalFailure") {
		t.Errorf("log:\n%s", log)
	}

	p = start(t, "-addr", "127.0.0.1:0", "-token", "AbCdE12345", "-rate", "0.001")
	c := client(p.url)
	if err := fail(t, c, "Unknown123", nil); errorCode(err) != "ResourceNotFound" {
		t.Errorf("first: %v", err)
	}
	if err := fail(t, c, "AbCdE12345", nil); errorCode(err) != "ThrottlingException" {
		t.Errorf("beyond -rate: %v", err)
	}
}

// TestRegionAndAccount checks -region and -account (issue 11, finding 2).
func TestRegionAndAccount(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0", "-region", "eu-west-1", "-account", "210987654321", "-start", "1")
	f := strings.Fields(p.lines[2])
	if !strings.HasSuffix(p.queue, "/210987654321/callbacktest") || len(f) < 4 || !strings.HasPrefix(f[3], "arn:aws:sagemaker:eu-west-1:210987654321:pipeline/") {
		t.Fatalf("stdout %q", p.lines)
	}
	if err := fail(t, client(p.url), f[1], nil); errorCode(err) != "InvalidSignatureException" {
		t.Errorf("signed for us-east-1: %v", err)
	}
	if err := fail(t, clientIn(p.url, "eu-west-1"), f[1], nil); err != nil {
		t.Errorf("signed for eu-west-1: %v", err)
	}
	p.stop()
	if log := p.stderr.String(); !strings.Contains(log, "400 InvalidSignatureException: Credential should be scoped to a valid region, not 'us-east-1'.") {
		t.Errorf("log:\n%s", log)
	}
}

// TestPipeline starts steps as a pipeline does, stops one, and completes
// them through SQS and SageMaker as a worker would.
func TestPipeline(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0", "-start", "3", "-args", `{"model":"m"}`, "-stop", "1:100ms")
	if len(p.lines) != 6 {
		t.Fatalf("stdout %q", p.lines)
	}
	q, c := sqsClient(p.url), client(p.url)
	statuses := map[callback.Status]int{}
	for len(statuses) < 2 || statuses[callback.StatusStopping] == 0 {
		out, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(p.queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 5})
		if err != nil || len(out.Messages) == 0 {
			t.Fatalf("receive: %v (statuses %v)", err, statuses)
		}
		for _, m := range out.Messages {
			msg, err := callback.ParseMessage([]byte(aws.ToString(m.Body)))
			if err != nil || msg.Arguments["model"] != "m" {
				t.Fatalf("message %s: %v", aws.ToString(m.Body), err)
			}
			statuses[msg.Status]++
			if msg.Status == callback.StatusExecuting && statuses[msg.Status] < 3 {
				if _, err := callback.New(c).Succeed(context.Background(), msg.Token, nil); err != nil {
					t.Fatal(err)
				}
			}
			if msg.Status == callback.StatusStopping {
				if _, err := callback.New(c).Fail(context.Background(), msg.Token, callback.MustParseReason("stopped")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := q.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(p.queue), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	code := p.stop()
	rest := p.rest.String()
	if code != 0 || !strings.HasSuffix(rest, "\nsteps: Executing 0, Failed 1, Succeeded 2\n") || len(completedRE.FindAllString(rest, -1)) != 3 ||
		strings.Count(rest, ": Succeeded\n") != 2 || strings.Count(rest, `: Failed, reason "stopped"`+"\n") != 1 {
		t.Errorf("exit %d, summary %q", code, rest)
	}
	if log := p.stderr.String(); !strings.Contains(log, "stopping execution arn:aws:sagemaker:") || !strings.Contains(log, "DeleteMessage messages=") {
		t.Errorf("log:\n%s", log)
	}
}

// TestRawHTTP drives the process with raw HTTP: an inexact X-Amz-Target
// (issue 11, finding 1), SQS's query protocol (finding 4), and a stalled body
// cut by -read-timeout (finding 3).
func TestRawHTTP(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0", "-token", "AbCdE12345", "-read-timeout", "500ms")
	post := func(header http.Header, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, p.url+"/", strings.NewReader(body))
		req.Header = header
		header.Set("X-Amz-Date", "20240101T000000Z")
		header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/"+header.Get("service")+"/aws4_request, SignedHeaders=host, Signature=00")
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, target := range []string{"Foo.SendPipelineExecutionStepFailure", "SendPipelineExecutionStepFailure", "sagemaker.SendPipelineExecutionStepFailure"} {
		status, body := post(http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {target}, "Service": {"sagemaker"}}, `{"CallbackToken":"AbCdE12345"}`)
		if status != 400 || !strings.Contains(body, "UnknownOperationException") {
			t.Errorf("%s: %d %s", target, status, body)
		}
	}
	form := url.Values{"Action": {"SendMessage"}, "Version": {"2012-11-05"}, "QueueUrl": {p.queue}, "MessageBody": {"hi"}}
	status, body := post(http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Service": {"sqs"}}, form.Encode())
	if status != 200 || !strings.HasPrefix(body, "<SendMessageResponse") || !strings.Contains(body, "<MessageId>") {
		t.Errorf("query SendMessage: %d %s", status, body)
	}
	form.Set("QueueUrl", p.url+"/123456789012/nope")
	status, body = post(http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Service": {"sqs"}}, form.Encode())
	if status != 400 || !strings.Contains(body, "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>") {
		t.Errorf("query error: %d %s", status, body)
	}

	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 50\r\n\r\n{\"Call")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Errorf("a stalled body was not cut: %v", err)
	}

	if err := fail(t, client(p.url), "AbCdE12345", nil); err != nil {
		t.Errorf("the step changed: %v", err)
	}
	p.stop()
	if log := p.stderr.String(); strings.Count(log, "-> 400 UnknownOperationException") != 3 || !strings.Contains(log, "SendMessage messages=") ||
		!strings.Contains(log, "-> 400 AWS.SimpleQueueService.NonExistentQueue") {
		t.Errorf("log:\n%s", log)
	}
}

// TestMaxRecords checks that -max-records bounds what the process keeps
// (issue 11, finding 6).
func TestMaxRecords(t *testing.T) {
	var srv *callbacktest.Server
	onServer = func(s *callbacktest.Server) { srv = s }
	defer func() { onServer = nil }()
	p := start(t, "-addr", "127.0.0.1:0", "-max-records", "10")
	c, q := client(p.url), sqsClient(p.url)
	for range 50 {
		_ = fail(t, c, "Unknown123", nil)
		if _, err := q.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(p.queue), MessageBody: aws.String("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if n, m := len(srv.Requests()), len(srv.SQSRequests()); n != 10 || m != 10 {
		t.Errorf("kept %d SageMaker and %d SQS request records, want 10 each", n, m)
	}
}

// TestStopsDistinctSteps: two -stop flags stop two different steps, not the
// same one twice (a stopped step is no longer waiting for a stop).
func TestStopsDistinctSteps(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0", "-start", "2", "-stop", "1:10ms", "-stop", "1:100ms")
	deadline := time.Now().Add(5 * time.Second)
	var stopped []string
	for time.Now().Before(deadline) {
		stopped = nil
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			if _, arn, ok := strings.Cut(line, "stopping execution "); ok {
				stopped = append(stopped, arn)
			}
		}
		if len(stopped) >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(stopped) != 2 || stopped[0] == stopped[1] {
		t.Errorf("stopped %q, want two different executions", stopped)
	}
}
