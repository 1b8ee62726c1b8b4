package callbacktest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	// arnRE is the model's pattern of PipelineExecutionArn, narrowed to the
	// fake's defaults.
	arnRE = regexp.MustCompile(`^arn:aws:sagemaker:us-east-1:123456789012:pipeline/callbacktest/execution/[a-z0-9]{12}$`)
)

// noRetry turns the SDK's retries off for one call.
func noRetry(o *sagemaker.Options) { o.Retryer = aws.NopRetryer{} }

// noClientRequestToken makes the SDK send no ClientRequestToken, as other
// SDKs may.
func noClientRequestToken(o *sagemaker.Options) { o.IdempotencyTokenProvider = nil }

func newServer(t testing.TB, optFns ...func(*callbacktest.Options)) *callbacktest.Server {
	t.Helper()
	srv := callbacktest.NewServer(optFns...)
	t.Cleanup(srv.Close)
	return srv
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sendFailure(t testing.TB, srv *callbacktest.Server, in *sagemaker.SendPipelineExecutionStepFailureInput, optFns ...func(*sagemaker.Options)) (*sagemaker.SendPipelineExecutionStepFailureOutput, error) {
	t.Helper()
	return srv.Client().SendPipelineExecutionStepFailure(ctxT(t), in, optFns...)
}

func sendSuccess(t testing.TB, srv *callbacktest.Server, in *sagemaker.SendPipelineExecutionStepSuccessInput, optFns ...func(*sagemaker.Options)) (*sagemaker.SendPipelineExecutionStepSuccessOutput, error) {
	t.Helper()
	return srv.Client().SendPipelineExecutionStepSuccess(ctxT(t), in, optFns...)
}

func lastRequest(t testing.TB, srv *callbacktest.Server) callbacktest.Request {
	t.Helper()
	reqs := srv.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request recorded")
	}
	return reqs[len(reqs)-1]
}

func mustStep(t testing.TB, srv *callbacktest.Server, token string) callbacktest.Step {
	t.Helper()
	st, ok := srv.Step(token)
	if !ok {
		t.Fatal("step not registered")
	}
	return st
}

// checkAPIError checks that err is an API error of the code and HTTP status,
// and that the request id the SDK read is the one the fake recorded last.
func checkAPIError(t testing.TB, srv *callbacktest.Server, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, not a smithy.APIError", err)
	}
	if ae.ErrorCode() != code {
		t.Errorf("ErrorCode() = %q, want %q (err: %v)", ae.ErrorCode(), code, err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, not an *awshttp.ResponseError", err)
	}
	if re.HTTPStatusCode() != status {
		t.Errorf("HTTPStatusCode() = %d, want %d", re.HTTPStatusCode(), status)
	}
	last := lastRequest(t, srv)
	if re.ServiceRequestID() != last.RequestID || !uuidRE.MatchString(last.RequestID) {
		t.Errorf("ServiceRequestID() = %q, recorded RequestID = %q", re.ServiceRequestID(), last.RequestID)
	}
	if last.StatusCode != status || last.ErrorCode != code {
		t.Errorf("recorded answer = %d %s, want %d %s", last.StatusCode, last.ErrorCode, status, code)
	}
}

// rawPost sends one raw HTTP request to the server, on a connection of its
// own, and returns the answer and its body.
func rawPost(t testing.TB, srv *callbacktest.Server, method string, header http.Header, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, srv.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// signedHeader returns the headers of a well-formed request for op: the
// content type, the target, and a SigV4 Authorization header (whose
// signature the fake does not check).
func signedHeader(op string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amz-Target", "SageMaker."+op)
	h.Set("X-Amz-Date", "20240101T000000Z")
	h.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0123456789abcdef")
	return h
}
