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

// pipelineStep is what StartStep remembers of a step, to send its Stopping
// message.
type pipelineStep struct {
	token     string
	arguments map[string]any
}

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
// registers a step with a new token in a new pipeline execution, as NewStep,
// and puts the step's message (status Executing, with arguments) on the fake
// queue. It returns the token and the execution's ARN. Arguments are sent as
// StepMessage sends them.
func (s *Server) StartStep(arguments map[string]any) (token, executionARN string) {
	arguments = jsonable(arguments)
	token, executionARN = s.NewStep()
	q := s.queue
	q.mu.Lock()
	q.steps[executionARN] = &pipelineStep{token: token, arguments: arguments}
	q.mu.Unlock()
	q.send(StepMessage(token, executionARN, arguments, MessageStatusExecuting), 0)
	return token, executionARN
}

// StopExecution stops a pipeline execution the way StopPipelineExecution
// does: when the execution started by StartStep has its callback step still
// waiting (StatusExecuting), it puts one more message for that step on the
// fake queue, with status Stopping, and reports true. The step stays
// waiting: as with SageMaker, the execution stops only once a worker reports
// a success or a failure for the token. For an unknown execution, or one
// whose step is completed, it sends nothing and reports false.
func (s *Server) StopExecution(executionARN string) bool {
	q := s.queue
	q.mu.Lock()
	ps := q.steps[executionARN]
	q.mu.Unlock()
	if ps == nil {
		return false
	}
	if st, ok := s.Step(ps.token); !ok || st.Status != StatusExecuting {
		return false
	}
	q.send(StepMessage(ps.token, executionARN, ps.arguments, MessageStatusStopping), 0)
	return true
}
