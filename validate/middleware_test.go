package validate_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/stepcallback/sagemaker-callback/validate"
)

const testARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x"

// recorder is a loopback stand-in for SageMaker that answers every request
// with 200 and records what it received.
type recorder struct {
	mu      sync.Mutex
	targets []string                     // X-Amz-Target of each request
	bodies  []map[string]json.RawMessage // each request's JSON body
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]json.RawMessage
	_ = json.Unmarshal(b, &body)
	rec.mu.Lock()
	rec.targets = append(rec.targets, r.Header.Get("X-Amz-Target"))
	rec.bodies = append(rec.bodies, body)
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DescribePipeline") {
		_, _ = io.WriteString(w, `{"PipelineName":"p","PipelineArn":"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p"}`)
		return
	}
	_, _ = io.WriteString(w, `{"PipelineExecutionArn":"`+testARN+`"}`)
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.targets)
}

func (rec *recorder) last() (target string, body map[string]json.RawMessage) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.targets[len(rec.targets)-1], rec.bodies[len(rec.bodies)-1]
}

// newClient starts a recorder on loopback and returns the real SDK client
// pointed at it, with the given options.
func newClient(t *testing.T, optFns ...func(*sagemaker.Options)) (*sagemaker.Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	client := sagemaker.New(sagemaker.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "SECRETEXAMPLE", ""),
		Retryer:      aws.NopRetryer{},
	}, optFns...)
	return client, rec
}

// wantRefused checks that err is the SDK's operation error around Errors
// holding the given fields, and that nothing was sent.
func wantRefused(t *testing.T, err error, rec *recorder, fields ...string) {
	t.Helper()
	if !errors.Is(err, validate.ErrInvalid) {
		t.Fatalf("got %v, want an error matching validate.ErrInvalid", err)
	}
	var oe *smithy.OperationError
	if !errors.As(err, &oe) {
		t.Errorf("got %T, want a *smithy.OperationError", err)
	}
	var es validate.Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %v, want validate.Errors inside", err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Field)
	}
	if strings.Join(got, ",") != strings.Join(fields, ",") {
		t.Errorf("violations of %v, want %v", got, fields)
	}
	if n := rec.count(); n != 0 {
		t.Errorf("the server saw %d requests, want 0", n)
	}
}

func TestWithInputChecksRefuses(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		call   func(*sagemaker.Client) error
		fields []string
	}{
		{"12-char token", func(c *sagemaker.Client) error {
			_, err := c.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("abcdefghijkl")})
			return err
		}, []string{"CallbackToken"}},
		{"300-char reason", func(c *sagemaker.Client) error {
			_, err := c.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(goodToken), FailureReason: aws.String(strings.Repeat("x", 300))})
			return err
		}, []string{"FailureReason"}},
		{"51 outputs", func(c *sagemaker.Client) error {
			_, err := c.SendPipelineExecutionStepSuccess(ctx, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(goodToken), OutputParameters: outputs(51)})
			return err
		}, []string{"OutputParameters"}},
		{"short ClientRequestToken and invalid UTF-8", func(c *sagemaker.Client) error {
			_, err := c.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(goodToken), ClientRequestToken: aws.String("short"), FailureReason: aws.String("\xff")})
			return err
		}, []string{"ClientRequestToken", "FailureReason"}},
		// The SDK's own check of required members would answer a nil token
		// with a *smithy.InvalidParamsError; ours runs first.
		{"nil token", func(c *sagemaker.Client) error {
			_, err := c.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{})
			return err
		}, []string{"CallbackToken"}},
		{"nil output name", func(c *sagemaker.Client) error {
			_, err := c.SendPipelineExecutionStepSuccess(ctx, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(goodToken), OutputParameters: []types.OutputParameter{{Value: aws.String("v")}}})
			return err
		}, []string{"OutputParameters[0].Name"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			client, rec := newClient(t, validate.WithInputChecks())
			wantRefused(t, c.call(client), rec, c.fields...)
		})
	}
}

func TestWithInputChecksPasses(t *testing.T) {
	ctx := context.Background()
	client, rec := newClient(t, validate.WithInputChecks())

	out, err := client.SendPipelineExecutionStepFailure(ctx, validFailure())
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.PipelineExecutionArn) != testARN {
		t.Errorf("ARN %q", aws.ToString(out.PipelineExecutionArn))
	}
	target, body := rec.last()
	if target != "SageMaker.SendPipelineExecutionStepFailure" {
		t.Errorf("target %q", target)
	}
	var reason string
	_ = json.Unmarshal(body["FailureReason"], &reason)
	if reason != strings.Repeat("é", 256) {
		t.Errorf("FailureReason on the wire: %q", reason)
	}

	if _, err := client.SendPipelineExecutionStepSuccess(ctx, validSuccess()); err != nil {
		t.Fatal(err)
	}
	if n := rec.count(); n != 2 {
		t.Errorf("the server saw %d requests, want 2", n)
	}
}

// TestWithInputChecksAfterAutoFill: a nil ClientRequestToken is filled by the
// SDK (a UUID, 36 characters) before the check, so it passes.
func TestWithInputChecksAfterAutoFill(t *testing.T) {
	ctx := context.Background()
	client, rec := newClient(t, validate.WithInputChecks())
	for _, call := range []func() error{
		func() error {
			_, err := client.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(goodToken)})
			return err
		},
		func() error {
			_, err := client.SendPipelineExecutionStepSuccess(ctx, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(goodToken)})
			return err
		},
	} {
		if err := call(); err != nil {
			t.Fatal(err)
		}
		_, body := rec.last()
		var crt string
		if err := json.Unmarshal(body["ClientRequestToken"], &crt); err != nil {
			t.Fatalf("no ClientRequestToken on the wire: %v", body)
		}
		if len(crt) != 36 {
			t.Errorf("ClientRequestToken %q: %d characters, want 36", crt, len(crt))
		}
	}
}

// shortTokens is an idempotency token provider that fills in a token too
// short for the model.
type shortTokens struct{}

func (shortTokens) GetIdempotencyToken() (string, error) { return "short", nil }

// TestWithInputChecksSeesFilledToken: the check runs after the SDK fills a
// missing ClientRequestToken, so a provider that fills an invalid one is
// caught. (Were the check before the fill, it would see nil and pass.)
func TestWithInputChecksSeesFilledToken(t *testing.T) {
	client, rec := newClient(t, validate.WithInputChecks(), func(o *sagemaker.Options) {
		o.IdempotencyTokenProvider = shortTokens{}
	})
	_, err := client.SendPipelineExecutionStepFailure(context.Background(),
		&sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(goodToken)})
	wantRefused(t, err, rec, "ClientRequestToken")
}

func TestWithInputChecksOtherOperations(t *testing.T) {
	client, rec := newClient(t, validate.WithInputChecks())
	out, err := client.DescribePipeline(context.Background(), &sagemaker.DescribePipelineInput{PipelineName: aws.String("p")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.PipelineName) != "p" || rec.count() != 1 {
		t.Errorf("PipelineName %q, %d requests", aws.ToString(out.PipelineName), rec.count())
	}
	// The SDK's own check still answers for other operations.
	_, err = client.DescribePipeline(context.Background(), &sagemaker.DescribePipelineInput{})
	var ipe smithy.InvalidParamsError
	if !errors.As(err, &ipe) || errors.Is(err, validate.ErrInvalid) {
		t.Errorf("DescribePipeline without a name: %v", err)
	}
}

// TestWithInputChecksPerCall: the option works for one call, and given to
// both the client and the call it checks once.
func TestWithInputChecksPerCall(t *testing.T) {
	ctx := context.Background()
	bad := &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("abcdefghijkl")}

	plain, rec := newClient(t)
	_, err := plain.SendPipelineExecutionStepFailure(ctx, bad, validate.WithInputChecks())
	wantRefused(t, err, rec, "CallbackToken")
	if _, err := plain.SendPipelineExecutionStepFailure(ctx, bad); err != nil || rec.count() != 1 {
		t.Errorf("without the option: %v, %d requests; want it sent", err, rec.count())
	}

	var ids []string
	list := func(o *sagemaker.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			ids = s.Initialize.List()
			return nil
		})
	}
	checked, rec := newClient(t, validate.WithInputChecks())
	_, err = checked.SendPipelineExecutionStepFailure(ctx, bad, validate.WithInputChecks(), list)
	wantRefused(t, err, rec, "CallbackToken")
	n := 0
	for _, id := range ids {
		if id == validate.MiddlewareID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("Initialize step %v: the check is there %d times, want once", ids, n)
	}
	if _, err := checked.SendPipelineExecutionStepFailure(ctx, validFailure(), validate.WithInputChecks()); err != nil {
		t.Fatal(err)
	}
}
