package callbacktest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// TestStdJoinResolved checks that a Join of the SageMaker Python SDK, which
// it writes as {"Std:Join": {"On": "/", "Values": [...]}} (an S3 path made
// of parameters, say), reaches the worker as the joined string, with the Get
// references among its values resolved, as SageMaker sends it. The fake sent
// the Join object itself, its references resolved inside.
func TestStdJoinResolved(t *testing.T) {
	srv := newServer(t)
	q := srv.QueueURL()
	createPipeline(t, srv, "join", `{"Version": "2020-12-01",
  "Parameters": [{"Name": "Bucket", "Type": "String", "DefaultValue": "b"}, {"Name": "Epochs", "Type": "Integer", "DefaultValue": 3}],
  "Steps": [
    {"Name": "train", "Type": "Callback", "SqsQueueUrl": "`+q+`",
     "Arguments": {"out": {"Std:Join": {"On": "/", "Values": ["s3:/", {"Get": "Parameters.Bucket"}, "runs", {"Get": "Execution.PipelineExecutionId"}]}},
                   "tag": {"Std:Join": {"On": "-", "Values": ["e", {"Get": "Parameters.Epochs"}, true, 0.5]}}},
     "OutputParameters": [{"OutputName": "model", "OutputType": "String"}]},
    {"Name": "report", "Type": "Callback", "SqsQueueUrl": "`+q+`",
     "Arguments": {"path": {"Std:Join": {"On": "", "Values": [{"Get": "Steps.train.OutputParameters['model']"}, ".tar.gz"]}},
                   "nested": [{"Std:Join": {"On": ",", "Values": ["a", {"Std:Join": {"On": "+", "Values": ["b", "c"]}}]}}]}}]}`)
	arn := startExecution(t, srv, "join", smtypes.Parameter{Name: aws.String("Bucket"), Value: aws.String("my-bucket")})
	id := arn[strings.LastIndexByte(arn, '/')+1:]

	first := receiveStep(t, srv)
	if got, want := args(t, first), `{"out":"s3://my-bucket/runs/`+id+`","tag":"e-3-true-0.5"}`; got != want {
		t.Errorf("first step's arguments %s, want %s", got, want)
	}
	if _, err := srv.Client().SendPipelineExecutionStepSuccess(ctxT(t), &sagemaker.SendPipelineExecutionStepSuccessInput{
		CallbackToken: aws.String(first.Token.Reveal()), OutputParameters: []smtypes.OutputParameter{{Name: aws.String("model"), Value: aws.String("m1")}},
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := args(t, receiveStep(t, srv)), `{"nested":["a,b+c"],"path":"m1.tar.gz"}`; got != want {
		t.Errorf("second step's arguments %s, want %s", got, want)
	}

	for _, bad := range []string{
		`{"Std:Join": {"On": "/"}}`,
		`{"Std:Join": {"On": 1, "Values": []}}`,
		`{"Std:Join": ["a"]}`,
	} {
		def := `{"Steps": [{"Name": "a", "Type": "Callback", "SqsQueueUrl": "` + q + `", "Arguments": {"x": ` + bad + `}}]}`
		_, err := srv.Client().CreatePipeline(ctxT(t), &sagemaker.CreatePipelineInput{PipelineName: aws.String("bad"), PipelineDefinition: aws.String(def), RoleArn: aws.String(roleARN)}, noRetry)
		checkAPIError(t, srv, err, "ValidationException", http.StatusBadRequest)
		if err == nil || !strings.Contains(err.Error(), "Std:Join") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// args returns a message's arguments as JSON, keys sorted.
func args(t *testing.T, m callback.Message) string {
	t.Helper()
	b, err := json.Marshal(m.Arguments)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExecutionTimesOnTheFakeClock checks that the Get references
// Execution.StartDateTime and Execution.CurrentDateTime both read
// Options.Now, the clock of every time the fake records: CurrentDateTime
// read the machine's clock, so that with a clock set in the past a step was
// told a current time years after its execution started.
func TestExecutionTimesOnTheFakeClock(t *testing.T) {
	at := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := newServer(t, func(o *callbacktest.Options) { o.Now = func() time.Time { return at } })
	createPipeline(t, srv, "clock", `{"Version": "2020-12-01", "Steps": [{"Name": "s", "Type": "Callback", "SqsQueueUrl": "`+srv.QueueURL()+`",
  "Arguments": {"start": {"Get": "Execution.StartDateTime"}, "now": {"Get": "Execution.CurrentDateTime"}}}]}`)
	startExecution(t, srv, "clock")
	if got, want := args(t, receiveStep(t, srv)), `{"now":"2020-01-02T03:04:05Z","start":"2020-01-02T03:04:05Z"}`; got != want {
		t.Errorf("arguments %s, want %s", got, want)
	}
}
