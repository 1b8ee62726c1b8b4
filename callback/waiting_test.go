package callback_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// wireClient returns a real SageMaker client for a loopback server that
// answers each operation with a fixed JSON body, or with the error code
// after "!": for answers the fake never gives.
func wireClient(t *testing.T, answers map[string]string) *sagemaker.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "SageMaker.")
		if op == callback.OpListSteps {
			// One answer per execution: "ListPipelineExecutionSteps/ID".
			var in struct{ PipelineExecutionArn string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			_, id, _ := strings.Cut(in.PipelineExecutionArn, "/execution/")
			op += "/" + id
		}
		a, ok := answers[op]
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if !ok || strings.HasPrefix(a, "!") {
			w.Header().Set("X-Amzn-Errortype", cmpOr(strings.TrimPrefix(a, "!"), "UnknownOperationException"))
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"Message":"no"}`))
			return
		}
		_, _ = w.Write([]byte(a))
	}))
	t.Cleanup(srv.Close)
	return sagemaker.New(sagemaker.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "SECRETEXAMPLE", ""),
		Retryer:      aws.NopRetryer{},
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestWaitingRefusesInvalidValues: values the model refuses, which the fake
// never sends, from a server on the wire. Each bad step is left out and
// named in the error, by execution and step, never by its token; the good
// step is returned; nothing panics.
func TestWaitingRefusesInvalidValues(t *testing.T) {
	const arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/"
	long := strings.Repeat("n", 65)
	api := wireClient(t, map[string]string{
		callback.OpListExecutions: `{"PipelineExecutionSummaries":[
			{"PipelineExecutionArn":"` + arn + `one","PipelineExecutionStatus":"Executing"},
			{"PipelineExecutionArn":"not-an-arn","PipelineExecutionStatus":"Executing"},
			{"PipelineExecutionArn":"` + arn + `done","PipelineExecutionStatus":"Succeeded"},
			{"PipelineExecutionArn":"` + arn + `gone","PipelineExecutionStatus":"Stopping"}]}`,
		callback.OpListSteps + "/one": `{"PipelineExecutionSteps":[
			{"StepName":"good","StepStatus":"Stopping","StartTime":1700000000,"Metadata":{"Callback":{"CallbackToken":"AbCdE12345","SqsQueueUrl":"https://sqs/q"}}},
			{"StepName":"no-token","StepStatus":"Executing","Metadata":{"Callback":{"SqsQueueUrl":"https://sqs/q"}}},
			{"StepName":"bad-token","StepStatus":"Executing","Metadata":{"Callback":{"CallbackToken":"SecretBad!"}}},
			{"StepName":"` + long + `","StepStatus":"Executing","Metadata":{"Callback":{"CallbackToken":"AbCdE12346"}}},
			{"StepName":"long-queue","StepStatus":"Executing","Metadata":{"Callback":{"CallbackToken":"AbCdE12347","SqsQueueUrl":"` + strings.Repeat("q", 257) + `"}}},
			{"StepName":"has space","StepStatus":"Executing","Metadata":{"Callback":{"CallbackToken":"AbCdE12340"}}},
			{"StepName":"train","StepStatus":"Executing","Metadata":{"TrainingJob":{"Arn":"x"}}},
			{"StepName":"nometa","StepStatus":"Executing"},
			{"StepName":"finished","StepStatus":"Succeeded","Metadata":{"Callback":{"CallbackToken":"AbCdE12348"}}}]}`,
		callback.OpListSteps + "/done": `{"PipelineExecutionSteps":[{"StepName":"never","StepStatus":"Executing","Metadata":{"Callback":{"CallbackToken":"AbCdE12349"}}}]}`,
		callback.OpListSteps + "/gone": "!ResourceNotFound",
	})
	steps, err := callback.Waiting(context.Background(), api, "p")
	if len(steps) != 1 || steps[0].StepName != "good" || steps[0].Token != callback.MustParseToken("AbCdE12345") ||
		steps[0].Status != callback.StatusStopping || steps[0].Started.Unix() != 1700000000 || steps[0].QueueURL != "https://sqs/q" ||
		steps[0].ExecutionARN.ExecutionID() != "one" {
		t.Errorf("steps %+v", steps)
	}
	if !errors.Is(err, callback.ErrInvalid) {
		t.Fatalf("err %v, want ErrInvalid", err)
	}
	errs := err.(interface{ Unwrap() []error }).Unwrap()
	if len(errs) != 6 {
		t.Errorf("%d errors, want 6:\n%v", len(errs), err)
	}
	msg := err.Error()
	for _, want := range []string{
		`execution #2 of pipeline "p": invalid PipelineExecutionArn`,
		arn + `one, step "no-token": invalid Metadata.Callback.CallbackToken: required`,
		arn + `one, step "bad-token": invalid Metadata.Callback.CallbackToken: does not match`,
		arn + `one, step #4 (its StepName is not valid): invalid StepName: length 65`,
		arn + `one, step "long-queue": invalid Metadata.Callback.SqsQueueUrl: length 257`,
		arn + `one, step #6 (its StepName is not valid): invalid StepName: does not match the pattern`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "SecretBad") || strings.Contains(msg, "AbCdE1234") || strings.Contains(msg, "never") || strings.Contains(msg, "gone") {
		t.Errorf("the error shows a token or a step not waiting:\n%s", msg)
	}
}

// TestWaitingCallError: a failed call is an error naming the operation and
// matching its class; nothing is returned for a listing that failed at once.
func TestWaitingCallError(t *testing.T) {
	api := wireClient(t, map[string]string{callback.OpListExecutions: "!AccessDeniedException"})
	steps, err := callback.Waiting(context.Background(), api, "p")
	if len(steps) != 0 || !errors.Is(err, callback.ErrAccessDenied) || !strings.Contains(err.Error(), `ListPipelineExecutions for pipeline "p"`) {
		t.Errorf("steps %v, err %v", steps, err)
	}
}

func TestWaitingRefusesBadArguments(t *testing.T) {
	var nilClient *sagemaker.Client
	for _, tc := range []struct {
		api  callback.WaitingAPI
		name string
	}{
		{nil, "p"},
		{nilClient, "p"},
		{sagemaker.New(sagemaker.Options{}), ""},
	} {
		steps, err := callback.Waiting(context.Background(), tc.api, tc.name)
		if steps != nil || !errors.Is(err, callback.ErrInvalid) {
			t.Errorf("Waiting(%v, %q) = %v, %v; want ErrInvalid", tc.api, tc.name, steps, err)
		}
	}
}

// pageOfOne is a WaitingAPI around a real SageMaker client that asks for
// pages of one item and counts the calls, to make Waiting page.
type pageOfOne struct {
	*sagemaker.Client
	executionPages, stepPages int
}

func (p *pageOfOne) ListPipelineExecutions(ctx context.Context, in *sagemaker.ListPipelineExecutionsInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListPipelineExecutionsOutput, error) {
	p.executionPages++
	in.MaxResults = aws.Int32(1)
	return p.Client.ListPipelineExecutions(ctx, in, optFns...)
}

func (p *pageOfOne) ListPipelineExecutionSteps(ctx context.Context, in *sagemaker.ListPipelineExecutionStepsInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListPipelineExecutionStepsOutput, error) {
	p.stepPages++
	in.MaxResults = aws.Int32(1)
	return p.Client.ListPipelineExecutionSteps(ctx, in, optFns...)
}

// TestWaitingAcrossPages: against the fake, with pages of one execution and
// one step, Waiting finds every waiting step of every execution, Executing
// and Stopping, oldest first, and none of a completed execution.
func TestWaitingAcrossPages(t *testing.T) {
	var now atomic.Int64 // the fake's clock: one minute a step
	now.Store(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	srv := callbacktest.NewServer(func(o *callbacktest.Options) {
		o.Now = func() time.Time { return time.Unix(0, now.Load()).UTC() }
	})
	defer srv.Close()
	ctx := context.Background()
	var want []string // the waiting tokens, oldest first
	for i := range 5 {
		now.Add(int64(time.Minute))
		tok, arn := srv.StartStep(map[string]any{"i": i})
		switch i {
		case 1: // completed: its execution is no longer waiting
			if _, err := callback.New(srv.Client()).Succeed(ctx, callback.MustParseToken(tok), nil); err != nil {
				t.Fatal(err)
			}
			continue
		case 3: // stopped: Stopping until completed
			srv.StopExecution(arn)
		}
		want = append(want, tok)
	}
	api := &pageOfOne{Client: srv.Client()}
	steps, err := callback.Waiting(ctx, api, "callbacktest")
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != len(want) {
		t.Fatalf("%d steps, want %d: %+v", len(steps), len(want), steps)
	}
	for i, s := range steps {
		st, _ := srv.Step(want[i])
		wantStatus := callback.Status(callback.StatusExecuting)
		if i == 2 {
			wantStatus = callback.StatusStopping
		}
		if s.Token != callback.MustParseToken(want[i]) || s.ExecutionARN.String() != st.ExecutionARN || s.StepName == "" ||
			s.Status != wantStatus || !s.Started.Equal(st.Registered) || s.QueueURL != srv.QueueURL() {
			t.Errorf("step %d: %+v\nthe fake: %+v", i, s, st)
		}
	}
	if api.executionPages < 5 || api.stepPages < 4 {
		t.Errorf("%d pages of executions, %d of steps: Waiting did not page", api.executionPages, api.stepPages)
	}
}

// TestWaitingUnknownPipeline: the fake's ResourceNotFound is ErrNotFound.
func TestWaitingUnknownPipeline(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	steps, err := callback.Waiting(context.Background(), srv.Client(), "no-such-pipeline")
	if len(steps) != 0 || !errors.Is(err, callback.ErrNotFound) || !strings.Contains(err.Error(), `ListPipelineExecutions for pipeline "no-such-pipeline"`) {
		t.Errorf("steps %v, err %v", steps, err)
	}
}

// List the callback steps that wait in a pipeline, then fail the stuck ones.
// The fake's steps of StartStep belong to its pipeline "callbacktest".
func ExampleWaiting() {
	srv := callbacktest.NewServer()
	defer srv.Close()
	srv.StartStep(nil)
	_, stopped := srv.StartStep(nil)
	srv.StopExecution(stopped) // Stopping: it waits until completed
	ctx := context.Background()

	steps, err := callback.Waiting(ctx, srv.Client(), "callbacktest")
	if err != nil {
		fmt.Println(err)
		return
	}
	client := callback.New(srv.Client())
	for _, s := range steps {
		fmt.Println(s.StepName, s.Status, s.QueueURL == srv.QueueURL(), s.Token.IsZero())
		if _, err := client.Fail(ctx, s.Token, callback.MustParseReason("stuck: swept")); err != nil {
			fmt.Println(err) // errors.Is(err, callback.ErrConflict): completed meanwhile
		}
	}
	steps, _ = callback.Waiting(ctx, srv.Client(), "callbacktest")
	fmt.Println(len(steps), "waiting")
	// Output:
	// callback Executing true false
	// callback Stopping true false
	// 0 waiting
}
