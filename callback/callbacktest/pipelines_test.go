package callbacktest_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

const roleARN = "arn:aws:iam::123456789012:role/pipelines"

// twoSteps is a definition as the SageMaker Python SDK writes it: "train"
// gets a parameter, "report" depends on it and gets its output.
func twoSteps(queueURL string) string {
	return `{
  "Version": "2020-12-01",
  "Metadata": {},
  "Parameters": [{"Name": "Model", "Type": "String", "DefaultValue": "m1"}, {"Name": "Epochs", "Type": "Integer", "DefaultValue": 3}],
  "PipelineExperimentConfig": {"ExperimentName": {"Get": "Execution.PipelineName"}, "TrialName": {"Get": "Execution.PipelineExecutionId"}},
  "Steps": [
    {"Name": "train", "Type": "Callback", "DisplayName": "Train", "Description": "trains",
     "Arguments": {"model": {"Get": "Parameters.Model"}, "epochs": {"Get": "Parameters.Epochs"}, "fixed": "x"},
     "DependsOn": [], "SqsQueueUrl": "` + queueURL + `",
     "OutputParameters": [{"OutputName": "accuracy", "OutputType": "Float"}], "CacheConfig": {"Enabled": false}},
    {"Name": "report", "Type": "Callback",
     "Arguments": {"accuracy": {"Get": "Steps.train.OutputParameters['accuracy']"}, "run": {"Get": "Execution.PipelineExecutionArn"}},
     "SqsQueueUrl": "` + queueURL + `", "OutputParameters": []}
  ]
}`
}

func createPipeline(t *testing.T, srv *callbacktest.Server, name, definition string) string {
	t.Helper()
	out, err := srv.Client().CreatePipeline(ctxT(t), &sagemaker.CreatePipelineInput{
		PipelineName: aws.String(name), PipelineDefinition: aws.String(definition), RoleArn: aws.String(roleARN),
	})
	if err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	return aws.ToString(out.PipelineArn)
}

func startExecution(t *testing.T, srv *callbacktest.Server, name string, params ...smtypes.Parameter) string {
	t.Helper()
	out, err := srv.Client().StartPipelineExecution(ctxT(t), &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String(name), PipelineParameters: params})
	if err != nil {
		t.Fatalf("StartPipelineExecution: %v", err)
	}
	return aws.ToString(out.PipelineExecutionArn)
}

func executionSteps(t *testing.T, srv *callbacktest.Server, arn string) []smtypes.PipelineExecutionStep {
	t.Helper()
	var steps []smtypes.PipelineExecutionStep
	p := sagemaker.NewListPipelineExecutionStepsPaginator(srv.Client(), &sagemaker.ListPipelineExecutionStepsInput{PipelineExecutionArn: aws.String(arn), SortOrder: smtypes.SortOrderAscending})
	for p.HasMorePages() {
		out, err := p.NextPage(ctxT(t))
		if err != nil {
			t.Fatalf("ListPipelineExecutionSteps: %v", err)
		}
		steps = append(steps, out.PipelineExecutionSteps...)
	}
	return steps
}

func executionStatus(t *testing.T, srv *callbacktest.Server, arn string) smtypes.PipelineExecutionStatus {
	t.Helper()
	out, err := srv.Client().DescribePipelineExecution(ctxT(t), &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("DescribePipelineExecution: %v", err)
	}
	return out.PipelineExecutionStatus
}

// receiveStep receives one step message from the fake's queue and deletes it.
func receiveStep(t *testing.T, srv *callbacktest.Server) callback.Message {
	t.Helper()
	m := receiveOne(t, srv, sqs.ReceiveMessageInput{})
	msg, err := callback.ParseMessage([]byte(aws.ToString(m.Body)))
	if err != nil {
		t.Fatal(err)
	}
	if err := deleteMessage(t, srv, m.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	return msg
}

// A pipeline of two steps runs as SageMaker runs it: the first starts with
// its arguments resolved, its success starts the second with its output, the
// second's failure fails the execution; the list calls show it all.
func TestPipelineRuns(t *testing.T) {
	srv := newServer(t)
	sm := srv.Client()
	parn := createPipeline(t, srv, "Two-Steps", twoSteps(srv.QueueURL()))
	if parn != "arn:aws:sagemaker:us-east-1:123456789012:pipeline/two-steps" {
		t.Errorf("PipelineArn = %s", parn)
	}
	arn := startExecution(t, srv, "Two-Steps", smtypes.Parameter{Name: aws.String("Model"), Value: aws.String("m2")})

	msg := receiveStep(t, srv)
	if msg.ExecutionARN.String() != arn || msg.Status != callback.StatusExecuting {
		t.Errorf("message %+v", msg)
	}
	if msg.Arguments["model"] != "m2" || fmt.Sprint(msg.Arguments["epochs"]) != "3" || msg.Arguments["fixed"] != "x" {
		t.Errorf("arguments %v", msg.Arguments)
	}
	steps := executionSteps(t, srv, arn)
	if len(steps) != 1 || aws.ToString(steps[0].StepName) != "train" || steps[0].StepStatus != smtypes.StepStatusExecuting ||
		aws.ToString(steps[0].StepDisplayName) != "Train" || steps[0].StartTime == nil || steps[0].EndTime != nil {
		t.Fatalf("steps %+v", steps)
	}
	cb, ok := steps[0].Metadata.Callback, steps[0].Metadata != nil && steps[0].Metadata.Callback != nil
	if !ok || aws.ToString(cb.CallbackToken) != msg.Token.Reveal() || aws.ToString(cb.SqsQueueUrl) != srv.QueueURL() {
		t.Fatalf("metadata %+v", steps[0].Metadata)
	}
	execs, err := sm.ListPipelineExecutions(ctxT(t), &sagemaker.ListPipelineExecutionsInput{PipelineName: aws.String("Two-Steps")})
	if err != nil || len(execs.PipelineExecutionSummaries) != 1 || aws.ToString(execs.PipelineExecutionSummaries[0].PipelineExecutionArn) != arn ||
		execs.PipelineExecutionSummaries[0].PipelineExecutionStatus != smtypes.PipelineExecutionStatusExecuting {
		t.Fatalf("ListPipelineExecutions: %+v, %v", execs, err)
	}

	if _, err := sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{
		CallbackToken:    aws.String(msg.Token.Reveal()),
		OutputParameters: []smtypes.OutputParameter{{Name: aws.String("accuracy"), Value: aws.String("0.93")}},
	}); err != nil {
		t.Fatal(err)
	}
	second := receiveStep(t, srv)
	if second.Arguments["accuracy"] != "0.93" || second.Arguments["run"] != arn || second.Token == msg.Token {
		t.Errorf("second message %+v", second)
	}
	if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{
		CallbackToken: aws.String(second.Token.Reveal()), FailureReason: aws.String("report failed"),
	}); err != nil {
		t.Fatal(err)
	}
	steps = executionSteps(t, srv, arn)
	if len(steps) != 2 || steps[0].StepStatus != smtypes.StepStatusSucceeded || steps[1].StepStatus != smtypes.StepStatusFailed ||
		aws.ToString(steps[1].FailureReason) != "report failed" || steps[1].EndTime == nil {
		t.Fatalf("steps %+v", steps)
	}
	if outs := steps[0].Metadata.Callback.OutputParameters; len(outs) != 1 || aws.ToString(outs[0].Name) != "accuracy" || aws.ToString(outs[0].Value) != "0.93" {
		t.Errorf("output parameters %+v", outs)
	}
	if s := executionStatus(t, srv, arn); s != smtypes.PipelineExecutionStatusFailed {
		t.Errorf("execution %s, want Failed", s)
	}
}

// The steps of StartStep and NewStep belong to executions of the pipeline of
// Options.Pipeline; a step of NewStep is a stuck one: waiting, with no
// message, seen by the list calls.
func TestStartStepIsAnExecution(t *testing.T) {
	srv := newServer(t)
	tok1, arn1 := srv.StartStep(map[string]any{"k": "v"})
	tok2, arn2 := srv.NewStep()
	var arns []string
	p := sagemaker.NewListPipelineExecutionsPaginator(srv.Client(), &sagemaker.ListPipelineExecutionsInput{PipelineName: aws.String("callbacktest"), SortOrder: smtypes.SortOrderAscending, MaxResults: aws.Int32(1)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range out.PipelineExecutionSummaries {
			arns = append(arns, aws.ToString(s.PipelineExecutionArn))
		}
	}
	if pages != 2 || len(arns) != 2 || arns[0] != arn1 || arns[1] != arn2 {
		t.Fatalf("%d pages, executions %v; want %s, %s", pages, arns, arn1, arn2)
	}
	for arn, tok := range map[string]string{arn1: tok1, arn2: tok2} {
		steps := executionSteps(t, srv, arn)
		if len(steps) != 1 || aws.ToString(steps[0].StepName) != "callback" || aws.ToString(steps[0].Metadata.Callback.CallbackToken) != tok ||
			steps[0].StepStatus != smtypes.StepStatusExecuting {
			t.Errorf("steps of %s: %+v", arn, steps)
		}
	}
	if st := srv.QueueStats(); st.Sent != 1 {
		t.Errorf("%d messages sent, want 1 (NewStep sends none)", st.Sent)
	}
}

func TestPipelineErrors(t *testing.T) {
	srv := newServer(t)
	sm := srv.Client()
	_, err := sm.CreatePipeline(ctxT(t), &sagemaker.CreatePipelineInput{
		PipelineName: aws.String("p"), RoleArn: aws.String(roleARN),
		PipelineDefinition: aws.String(`{"Version":"2020-12-01","Steps":[{"Name":"t","Type":"Training","Arguments":{}}]}`),
	}, noRetry)
	checkAPIError(t, srv, err, "ValidationException", http.StatusBadRequest)
	if !strings.Contains(err.Error(), "callback steps only") {
		t.Errorf("error %v does not say the fake runs callback steps only", err)
	}
	_, err = sm.CreatePipeline(ctxT(t), &sagemaker.CreatePipelineInput{PipelineName: aws.String("bad name"), RoleArn: aws.String("r"), PipelineDefinition: aws.String("{}")}, noRetry)
	checkAPIError(t, srv, err, "ValidationException", http.StatusBadRequest)
	want := "3 validation errors detected: Value 'bad name' at 'pipelineName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$; " +
		"Value 'r' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; " +
		`Value 'r' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`
	if got := lastRequest(t, srv).ErrorMessage; got != want {
		t.Errorf("message %q\nwant %q", got, want)
	}
	_, err = sm.StartPipelineExecution(ctxT(t), &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("nope")}, noRetry)
	checkAPIError(t, srv, err, "ResourceNotFound", http.StatusBadRequest)
	_, err = sm.ListPipelineExecutionSteps(ctxT(t), &sagemaker.ListPipelineExecutionStepsInput{PipelineExecutionArn: aws.String("arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/none")}, noRetry)
	checkAPIError(t, srv, err, "ResourceNotFound", http.StatusBadRequest)
	_, err = sm.ListPipelineExecutions(ctxT(t), &sagemaker.ListPipelineExecutionsInput{PipelineName: aws.String("callbacktest"), MaxResults: aws.Int32(101)}, noRetry)
	checkAPIError(t, srv, err, "ValidationException", http.StatusBadRequest)
}

// parallel is a definition of n callback steps with no dependencies, all
// started at once.
func parallel(queueURL string, n int) string {
	steps := make([]string, n)
	for i := range steps {
		steps[i] = fmt.Sprintf(`{"Name":"s%02d","Type":"Callback","Arguments":{"i":%d},"SqsQueueUrl":%q,"OutputParameters":[]}`, i, i, queueURL)
	}
	return `{"Version":"2020-12-01","Parameters":[],"Steps":[` + strings.Join(steps, ",") + `]}`
}

// StopPipelineExecution: the execution and its waiting steps are Stopping,
// each step gets a Stopping message; a step completed by either call is
// Stopped, and the execution is Stopped once none waits. A repeated
// ClientRequestToken gets the first answer; a stop of an ended execution is
// ConflictException.
func TestStopPipelineExecution(t *testing.T) {
	srv := newServer(t)
	sm := srv.Client()
	createPipeline(t, srv, "par", parallel(srv.QueueURL(), 3))
	arn := startExecution(t, srv, "par")
	tokens := make(map[string]string) // by step name
	for _, s := range executionSteps(t, srv, arn) {
		tokens[aws.ToString(s.StepName)] = aws.ToString(s.Metadata.Callback.CallbackToken)
	}
	if len(tokens) != 3 {
		t.Fatalf("steps %v", tokens)
	}
	if _, err := sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tokens["s00"])}); err != nil {
		t.Fatal(err)
	}
	crt := strings.Repeat("c", 32)
	out, err := sm.StopPipelineExecution(ctxT(t), &sagemaker.StopPipelineExecutionInput{PipelineExecutionArn: aws.String(arn), ClientRequestToken: aws.String(crt)})
	if err != nil || aws.ToString(out.PipelineExecutionArn) != arn {
		t.Fatalf("StopPipelineExecution: %v, %v", out, err)
	}
	if s := executionStatus(t, srv, arn); s != smtypes.PipelineExecutionStatusStopping {
		t.Errorf("execution %s, want Stopping", s)
	}
	// 3 Executing messages, then 2 Stopping ones, for the steps still waiting.
	stopping := make(map[string]bool)
	for i := range 5 {
		msg := receiveStep(t, srv)
		if i >= 3 {
			if msg.Status != callback.StatusStopping {
				t.Fatalf("message %d: %+v", i, msg)
			}
			stopping[msg.Token.Reveal()] = true
		}
	}
	if len(stopping) != 2 || !stopping[tokens["s01"]] || !stopping[tokens["s02"]] {
		t.Errorf("Stopping messages for %v", stopping)
	}
	// The same ClientRequestToken: the same answer, no more messages.
	if _, err := sm.StopPipelineExecution(ctxT(t), &sagemaker.StopPipelineExecutionInput{PipelineExecutionArn: aws.String(arn), ClientRequestToken: aws.String(crt)}); err != nil {
		t.Fatal(err)
	}
	if !lastRequest(t, srv).Replayed {
		t.Error("the repeated stop was not a replay")
	}
	if st := srv.QueueStats(); st.Sent != 5 {
		t.Errorf("%d messages sent, want 5", st.Sent)
	}

	if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(tokens["s01"]), FailureReason: aws.String("stopped")}); err != nil {
		t.Fatal(err)
	}
	if s := executionStatus(t, srv, arn); s != smtypes.PipelineExecutionStatusStopping {
		t.Errorf("execution %s with a step waiting, want Stopping", s)
	}
	if _, err := sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tokens["s02"])}); err != nil {
		t.Fatal(err)
	}
	if s := executionStatus(t, srv, arn); s != smtypes.PipelineExecutionStatusStopped {
		t.Errorf("execution %s, want Stopped", s)
	}
	want := map[string]smtypes.StepStatus{"s00": smtypes.StepStatusSucceeded, "s01": smtypes.StepStatusStopped, "s02": smtypes.StepStatusStopped}
	for _, s := range executionSteps(t, srv, arn) {
		if s.StepStatus != want[aws.ToString(s.StepName)] {
			t.Errorf("step %s is %s, want %s", aws.ToString(s.StepName), s.StepStatus, want[aws.ToString(s.StepName)])
		}
	}
	_, err = sm.StopPipelineExecution(ctxT(t), &sagemaker.StopPipelineExecutionInput{PipelineExecutionArn: aws.String(arn)}, noRetry)
	checkAPIError(t, srv, err, "ConflictException", http.StatusBadRequest)
}

// ListPipelineExecutionSteps and ListPipelineExecutions page with MaxResults
// and NextToken, in either order.
func TestPipelinePaging(t *testing.T) {
	srv := newServer(t)
	sm := srv.Client()
	createPipeline(t, srv, "par", parallel(srv.QueueURL(), 7))
	var arns []string
	for range 5 {
		arns = append(arns, startExecution(t, srv, "par"))
	}
	var got []string
	pages := 0
	p := sagemaker.NewListPipelineExecutionStepsPaginator(sm, &sagemaker.ListPipelineExecutionStepsInput{PipelineExecutionArn: aws.String(arns[2]), MaxResults: aws.Int32(3)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range out.PipelineExecutionSteps {
			got = append(got, aws.ToString(s.StepName))
		}
	}
	if want := "s06 s05 s04 s03 s02 s01 s00"; pages != 3 || strings.Join(got, " ") != want {
		t.Errorf("%d pages of steps %v, want 3 pages of %s (Descending, the default)", pages, got, want)
	}

	got, pages = nil, 0
	ep := sagemaker.NewListPipelineExecutionsPaginator(sm, &sagemaker.ListPipelineExecutionsInput{PipelineName: aws.String("par"), MaxResults: aws.Int32(2)})
	for ep.HasMorePages() {
		out, err := ep.NextPage(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range out.PipelineExecutionSummaries {
			got = append(got, aws.ToString(s.PipelineExecutionArn))
		}
	}
	if pages != 3 || len(got) != 5 || got[0] != arns[4] || got[4] != arns[0] {
		t.Errorf("%d pages of executions %v, want 3 pages, newest first", pages, got)
	}
	_, err := sm.ListPipelineExecutions(ctxT(t), &sagemaker.ListPipelineExecutionsInput{PipelineName: aws.String("par"), NextToken: aws.String("bogus")}, noRetry)
	checkAPIError(t, srv, err, "ValidationException", http.StatusBadRequest)
}

// CreatePipeline and StartPipelineExecution are idempotent for a repeated
// ClientRequestToken with the same parameters, and refuse it with others.
func TestPipelineIdempotency(t *testing.T) {
	srv := newServer(t)
	sm := srv.Client()
	def := parallel(srv.QueueURL(), 1)
	crt := strings.Repeat("a", 32)
	in := &sagemaker.CreatePipelineInput{PipelineName: aws.String("p"), PipelineDefinition: aws.String(def), RoleArn: aws.String(roleARN), ClientRequestToken: aws.String(crt)}
	first, err := sm.CreatePipeline(ctxT(t), in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := sm.CreatePipeline(ctxT(t), in)
	if err != nil || aws.ToString(again.PipelineArn) != aws.ToString(first.PipelineArn) {
		t.Fatalf("repeated CreatePipeline: %v, %v", again, err)
	}
	_, err = sm.CreatePipeline(ctxT(t), &sagemaker.CreatePipelineInput{PipelineName: aws.String("p"), PipelineDefinition: aws.String(def), RoleArn: aws.String(roleARN)}, noRetry)
	checkAPIError(t, srv, err, "ValidationException", http.StatusBadRequest)
	if msg := lastRequest(t, srv).ErrorMessage; !strings.Contains(msg, "already exists") {
		t.Errorf("message %q: the SageMaker Python SDK's upsert looks for \"already exists\"", msg)
	}

	crt = strings.Repeat("b", 32)
	sin := &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("p"), ClientRequestToken: aws.String(crt)}
	a1, err := sm.StartPipelineExecution(ctxT(t), sin)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := sm.StartPipelineExecution(ctxT(t), sin)
	if err != nil || aws.ToString(a2.PipelineExecutionArn) != aws.ToString(a1.PipelineExecutionArn) {
		t.Fatalf("repeated StartPipelineExecution: %v, %v", a2, err)
	}
	if st := srv.QueueStats(); st.Sent != 1 {
		t.Errorf("%d messages sent, want 1", st.Sent)
	}
	_, err = sm.StartPipelineExecution(ctxT(t), &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("p"), ClientRequestToken: aws.String(crt), PipelineExecutionDescription: aws.String("other")}, noRetry)
	checkAPIError(t, srv, err, "ConflictException", http.StatusBadRequest)

	if _, err := sm.DeletePipeline(ctxT(t), &sagemaker.DeletePipelineInput{PipelineName: aws.String("p")}); err != nil {
		t.Fatal(err)
	}
	_, err = sm.DescribePipeline(ctxT(t), &sagemaker.DescribePipelineInput{PipelineName: aws.String("p")}, noRetry)
	checkAPIError(t, srv, err, "ResourceNotFound", http.StatusBadRequest)
}

// DescribePipeline returns the definition as sent.
func TestDescribePipeline(t *testing.T) {
	srv := newServer(t)
	def := twoSteps(srv.QueueURL())
	arn := createPipeline(t, srv, "two", def)
	out, err := srv.Client().DescribePipeline(ctxT(t), &sagemaker.DescribePipelineInput{PipelineName: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.PipelineDefinition) != def || aws.ToString(out.PipelineName) != "two" || aws.ToString(out.RoleArn) != roleARN ||
		out.PipelineStatus != smtypes.PipelineStatusActive || out.CreationTime == nil {
		t.Errorf("DescribePipeline %+v", out)
	}
	def0, err := srv.Client().DescribePipeline(ctxT(t), &sagemaker.DescribePipelineInput{PipelineName: aws.String("callbacktest")})
	if err != nil || !strings.Contains(aws.ToString(def0.PipelineDefinition), `"SqsQueueUrl":"`+srv.QueueURL()+`"`) {
		t.Errorf("the pipeline of Options.Pipeline: %v, %v", def0, err)
	}
}

// A step whose SqsQueueUrl names no queue of the fake fails at its start,
// and so does the execution, as SageMaker fails a step whose message it
// cannot send.
func TestStepQueueNotFound(t *testing.T) {
	srv := newServer(t)
	createPipeline(t, srv, "lost", parallel(srv.URL()+"/123456789012/nosuchqueue", 1))
	arn := startExecution(t, srv, "lost")
	steps := executionSteps(t, srv, arn)
	if len(steps) != 1 || steps[0].StepStatus != smtypes.StepStatusFailed || !strings.Contains(aws.ToString(steps[0].FailureReason), "nosuchqueue") {
		t.Fatalf("steps %+v", steps)
	}
	if s := executionStatus(t, srv, arn); s != smtypes.PipelineExecutionStatusFailed {
		t.Errorf("execution %s, want Failed", s)
	}
}

// Bad definitions and parameters are ValidationExceptions that say what is
// wrong.
func TestPipelineDefinitionErrors(t *testing.T) {
	srv := newServer(t)
	q := srv.QueueURL()
	step := func(name, extra string) string {
		return fmt.Sprintf(`{"Name":%q,"Type":"Callback","SqsQueueUrl":%q%s}`, name, q, extra)
	}
	for def, want := range map[string]string{
		`not json`:                            "Invalid pipeline definition",
		`{"Version":"2020-12-01","Steps":[]}`: "no Steps",
		`{"Steps":[` + step("a", "") + `,` + step("a", "") + `]}`:                                     "used twice",
		`{"Steps":[` + step("a", `,"DependsOn":["b"]`) + `]}`:                                         "depends on step b",
		`{"Steps":[` + step("a", `,"DependsOn":["b"]`) + `,` + step("b", `,"DependsOn":["a"]`) + `]}`: "cycle",
		`{"Steps":[` + step("a", `,"Arguments":{"x":{"Get":"Parameters.nope"}}`) + `]}`:               "Parameters.nope",
		`{"Steps":[{"Name":"a","Type":"Callback"}]}`:                                                  "no SqsQueueUrl",
	} {
		_, err := srv.Client().CreatePipeline(ctxT(t), &sagemaker.CreatePipelineInput{PipelineName: aws.String("p"), PipelineDefinition: aws.String(def), RoleArn: aws.String(roleARN)}, noRetry)
		checkAPIError(t, srv, err, "ValidationException", http.StatusBadRequest)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("definition %s: %v, want %q", def, err, want)
		}
	}
	createPipeline(t, srv, "two", twoSteps(q))
	for _, p := range []smtypes.Parameter{
		{Name: aws.String("Nope"), Value: aws.String("1")},
		{Name: aws.String("Epochs"), Value: aws.String("three")},
	} {
		_, err := srv.Client().StartPipelineExecution(ctxT(t), &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String("two"), PipelineParameters: []smtypes.Parameter{p}}, noRetry)
		checkAPIError(t, srv, err, "ValidationException", http.StatusBadRequest)
	}
	// A member of the wrong JSON type is a SerializationException.
	resp, body := rawPost(t, srv, http.MethodPost, signedHeader("ListPipelineExecutions"), `{"PipelineName":"two","MaxResults":"3"}`)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "SerializationException") {
		t.Errorf("MaxResults as a string: %d %s", resp.StatusCode, body)
	}
}

// A step whose Get reference names an output parameter its dependency did
// not send fails as it starts, and so does the execution.
func TestMissingOutputFailsDependant(t *testing.T) {
	srv := newServer(t)
	createPipeline(t, srv, "two", twoSteps(srv.QueueURL()))
	arn := startExecution(t, srv, "two")
	msg := receiveStep(t, srv)
	if _, err := sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(msg.Token.Reveal())}); err != nil {
		t.Fatal(err)
	}
	steps := executionSteps(t, srv, arn)
	if len(steps) != 2 || steps[1].StepStatus != smtypes.StepStatusFailed || !strings.Contains(aws.ToString(steps[1].FailureReason), "'accuracy'") {
		t.Fatalf("steps %+v", steps)
	}
	if s := executionStatus(t, srv, arn); s != smtypes.PipelineExecutionStatusFailed {
		t.Errorf("execution %s, want Failed", s)
	}
	if st := srv.QueueStats(); st.Sent != 1 {
		t.Errorf("%d messages sent, want 1", st.Sent)
	}
}

// ListPipelineExecutions filters by CreatedAfter and CreatedBefore and sorts
// by SortBy.
func TestListPipelineExecutionsFilters(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	srv := newServer(t, func(o *callbacktest.Options) {
		o.Now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(time.Minute)
			return now
		}
	})
	var arns []string
	for range 4 {
		_, arn := srv.NewStep()
		arns = append(arns, arn)
	}
	all, err := srv.Client().ListPipelineExecutions(ctxT(t), &sagemaker.ListPipelineExecutionsInput{PipelineName: aws.String("callbacktest"), SortOrder: smtypes.SortOrderAscending})
	if err != nil || len(all.PipelineExecutionSummaries) != 4 {
		t.Fatalf("%+v, %v", all, err)
	}
	st1, st3 := aws.ToTime(all.PipelineExecutionSummaries[1].StartTime), aws.ToTime(all.PipelineExecutionSummaries[3].StartTime)
	out, err := srv.Client().ListPipelineExecutions(ctxT(t), &sagemaker.ListPipelineExecutionsInput{
		PipelineName: aws.String("callbacktest"), CreatedAfter: aws.Time(st1.Add(-time.Second)), CreatedBefore: aws.Time(st3),
		SortOrder: smtypes.SortOrderAscending,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range out.PipelineExecutionSummaries {
		got = append(got, aws.ToString(s.PipelineExecutionArn))
	}
	if len(got) != 2 || got[0] != arns[1] || got[1] != arns[2] {
		t.Errorf("executions %v, want %v", got, arns[1:3])
	}
	out, err = srv.Client().ListPipelineExecutions(ctxT(t), &sagemaker.ListPipelineExecutionsInput{
		PipelineName: aws.String("callbacktest"), SortBy: smtypes.SortPipelineExecutionsByPipelineExecutionArn, SortOrder: smtypes.SortOrderAscending,
	})
	if err != nil || len(out.PipelineExecutionSummaries) != 4 {
		t.Fatalf("%+v, %v", out, err)
	}
	for i := 1; i < 4; i++ {
		if a, b := aws.ToString(out.PipelineExecutionSummaries[i-1].PipelineExecutionArn), aws.ToString(out.PipelineExecutionSummaries[i].PipelineExecutionArn); a > b {
			t.Errorf("not sorted by ARN: %s before %s", a, b)
		}
	}
}

// StopExecution of a stuck step (NewStep: no message) puts its Stopping
// message on the queue, once: the execution is Stopping until the step is
// completed, then Stopped.
func TestStopStuckStep(t *testing.T) {
	srv := newServer(t)
	tok, arn := srv.NewStep()
	if !srv.StopExecution(arn) {
		t.Fatal("StopExecution = false for a waiting step")
	}
	if srv.StopExecution(arn) {
		t.Error("StopExecution = true for a Stopping execution")
	}
	msg := receiveStep(t, srv)
	if msg.Status != callback.StatusStopping || msg.Token.Reveal() != tok || msg.ExecutionARN.String() != arn {
		t.Errorf("message %+v", msg)
	}
	if st := srv.QueueStats(); st.Sent != 1 {
		t.Errorf("%d messages sent, want 1", st.Sent)
	}
	if s := executionStatus(t, srv, arn); s != smtypes.PipelineExecutionStatusStopping {
		t.Errorf("execution %s, want Stopping", s)
	}
	if _, err := sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{CallbackToken: aws.String(tok)}); err != nil {
		t.Fatal(err)
	}
	if s := executionStatus(t, srv, arn); s != smtypes.PipelineExecutionStatusStopped {
		t.Errorf("execution %s, want Stopped", s)
	}
	if st := mustStep(t, srv, tok); st.Status != callbacktest.StatusSucceeded {
		t.Errorf("Step %+v: Step keeps the completion's outcome", st)
	}
}

// An output parameter named with one character can be referenced: the fake
// refused Steps.a.OutputParameters['o'] as a reference it does not resolve.
func TestOneCharacterOutputReference(t *testing.T) {
	srv := newServer(t)
	def := `{"Version": "2020-12-01", "Steps": [
  {"Name": "a", "Type": "Callback", "Arguments": {}, "SqsQueueUrl": "` + srv.QueueURL() + `",
   "OutputParameters": [{"OutputName": "o", "OutputType": "String"}]},
  {"Name": "b", "Type": "Callback", "DependsOn": ["a"], "SqsQueueUrl": "` + srv.QueueURL() + `",
   "Arguments": {"x": {"Get": "Steps.a.OutputParameters['o']"}, "y": {"Get": "Steps.a.OutputParameters[\"o\"]"}}}]}`
	createPipeline(t, srv, "short", def)
	startExecution(t, srv, "short")
	msg := receiveStep(t, srv)
	if _, err := sendSuccess(t, srv, &sagemaker.SendPipelineExecutionStepSuccessInput{
		CallbackToken:    aws.String(msg.Token.Reveal()),
		OutputParameters: []smtypes.OutputParameter{{Name: aws.String("o"), Value: aws.String("v")}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := receiveStep(t, srv).Arguments; got["x"] != "v" || got["y"] != "v" {
		t.Errorf("step b's arguments %v, want x and y v", got)
	}
}
