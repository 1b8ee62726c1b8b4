package callbacktest

import (
	"encoding/json"
	"fmt"

	"github.com/stepcallback/sagemaker-callback/callback/internal/names"
)

// The statuses of a callback step's SQS message.
const (
	MessageStatusExecuting = names.StatusExecuting // the step started and waits for its outcome
	MessageStatusStopping  = names.StatusStopping  // StopPipelineExecution was called for its execution
)

// StepMessage returns the body of the SQS message that a SageMaker Pipelines
// callback step sends, with status MessageStatusExecuting or
// MessageStatusStopping:
//
//	{"token":"SYZ8ExZ3Sd","pipelineExecutionArn":"arn:aws:sagemaker:...","arguments":{"k":"v"},"status":"Executing"}
//
// A nil arguments is sent as {}. An argument that cannot be marshalled as
// JSON (a func, a channel, a NaN) is sent as its fmt.Sprint string.
func StepMessage(token, executionARN string, arguments map[string]any, status string) string {
	b, _ := json.Marshal(struct {
		Token                string         `json:"token"`
		PipelineExecutionArn string         `json:"pipelineExecutionArn"`
		Arguments            map[string]any `json:"arguments"`
		Status               string         `json:"status"`
	}{token, executionARN, jsonable(arguments), status})
	return string(b)
}

// jsonable returns arguments with every value that encoding/json refuses
// replaced by its fmt.Sprint string, so that marshalling cannot fail.
func jsonable(arguments map[string]any) map[string]any {
	out := make(map[string]any, len(arguments))
	for k, v := range arguments {
		if _, err := json.Marshal(v); err != nil {
			out[k] = fmt.Sprint(v)
			continue
		}
		out[k] = v
	}
	return out
}

// StartStep starts a callback step the way SageMaker Pipelines does: it
// registers a step with a new token in a new execution of the pipeline of
// Options.Pipeline, as NewStep, and puts the step's message (status
// Executing, with arguments) on the fake queue. It returns the token and the
// execution's ARN. Arguments are sent as StepMessage sends them.
func (s *Server) StartStep(arguments map[string]any) (token, executionARN string) {
	arguments = jsonable(arguments)
	s.mu.Lock()
	es := s.addStep(s.newToken(), arguments)
	s.mu.Unlock()
	s.dispatch([]pendingSend{{es, StepMessage(es.token, es.e.arn, arguments, MessageStatusExecuting)}})
	return es.token, es.e.arn
}

// StopExecution stops a pipeline execution the way StopPipelineExecution
// does: when the execution is Executing, it becomes Stopping, and so does
// each of its waiting steps, with one more message for each on its queue,
// with status Stopping; it reports true. The steps keep waiting: as with
// SageMaker, each is Stopped once a worker reports a success or a failure
// for its token, and the execution is Stopped once none is left waiting.
// For an unknown execution, or one that is not Executing (stopping already,
// or ended), it sends nothing and reports false.
func (s *Server) StopExecution(executionARN string) bool {
	s.mu.Lock()
	e := s.pipes.execs[executionARN]
	var sends []pendingSend
	ok := false
	if e != nil {
		sends, ok = s.stop(e)
	}
	s.mu.Unlock()
	s.dispatch(sends)
	return ok
}
