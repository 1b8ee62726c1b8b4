package callback

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stepcallback/sagemaker-callback/callback/internal/names"
	"github.com/stepcallback/sagemaker-callback/validate"
)

// Status is the status a callback step's SQS message carries.
type Status string

// The statuses of a callback message, untyped so that they compare with a
// Status and with a string.
const (
	// StatusExecuting: the step has started and waits for a completion.
	StatusExecuting = names.StatusExecuting
	// StatusStopping: StopPipelineExecution was called. The execution stops
	// only once the step is completed, so a worker should stop its work and
	// report a failure (or a success) for the token.
	StatusStopping = names.StatusStopping
)

// Message is the body of the SQS message a SageMaker Pipelines callback step
// sends, as ParseMessage reads it:
//
//	{"token":"SYZ8ExZ3Sd","pipelineExecutionArn":"arn:aws:sagemaker:...:pipeline/p/execution/x",
//	 "arguments":{"model_package_group":"g","baseline_accuracy":0.82},"status":"Executing"}
//
// Printing a Message, or marshalling it, shows the token redacted (see Token).
type Message struct {
	// Token is the step's CallbackToken; always valid.
	Token Token
	// ExecutionARN is the pipeline execution, kept as it came: see
	// ExecutionARN.IsValid.
	ExecutionARN ExecutionARN
	// Arguments are the step's inputs with their JSON types kept: a number is
	// a json.Number (call its Float64, Int64 or String), a boolean a bool, a
	// string a string, nested objects and arrays map[string]any and []any.
	// It is nil when the message has no arguments.
	Arguments map[string]any
	// Status is StatusExecuting or StatusStopping.
	Status Status
}

// wireMessage is the JSON form. encoding/json matches keys without regard to
// case, so "token" and "Token", "status" and "Status" (as AWS's docs and its
// samples differ) are both read.
type wireMessage struct {
	Token                *string        `json:"token"`
	PipelineExecutionArn string         `json:"pipelineExecutionArn"`
	Arguments            map[string]any `json:"arguments"`
	Status               *string        `json:"status"`
}

// ParseMessage parses the body of a callback step's SQS message. The token
// must be a valid CallbackToken and the status Executing or Stopping;
// otherwise ParseMessage returns an error matching validate.ErrInvalid that
// names the field and the rule. Keys are matched in either case. An error
// never quotes the body: it holds at most a byte offset and a JSON type
// (FuzzParseMessageErrors).
func ParseMessage(body []byte) (Message, error) {
	var w wireMessage
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&w); err != nil {
		return Message{}, jsonError(err)
	}
	if d.More() {
		return Message{}, fmt.Errorf("callback message: extra data after the JSON object: %w", validate.ErrInvalid)
	}
	if w.Token == nil {
		return Message{}, fmt.Errorf("callback message: %w", &validate.Error{Field: "token", Rule: validate.RuleRequired, Len: -1})
	}
	tok, err := ParseToken(*w.Token)
	if err != nil {
		return Message{}, fmt.Errorf("callback message: token: %w", err)
	}
	m := Message{
		Token:        tok,
		ExecutionARN: executionARN(w.PipelineExecutionArn),
		Arguments:    w.Arguments,
	}
	switch {
	case w.Status == nil:
		return Message{}, fmt.Errorf("callback message: %w", &validate.Error{Field: "status", Rule: validate.RuleRequired, Len: -1})
	case *w.Status == StatusExecuting, *w.Status == StatusStopping:
		m.Status = Status(*w.Status)
	default:
		return Message{}, fmt.Errorf("callback message: %w", &validate.Error{Field: "status", Rule: validate.RulePattern, Pattern: "^(Executing|Stopping)$", Len: utf8.RuneCountInString(*w.Status)})
	}
	return m, nil
}

// jsonError describes a decoding error without the text of encoding/json's,
// which can quote the body.
func jsonError(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		what   = "not a JSON object"
	)
	switch {
	case errors.As(err, &syntax):
		what = "not JSON: syntax error at byte " + strconv.FormatInt(syntax.Offset, 10)
	case errors.As(err, &typ) && typ.Field != "":
		kind, _, _ := strings.Cut(typ.Value, " ") // "number 12" gives "number"
		what = typ.Field + " is a JSON " + kind + ", not a " + typ.Type.String()
	case errors.Is(err, io.ErrUnexpectedEOF):
		what = "truncated JSON"
	}
	return fmt.Errorf("callback message: %s: %w", what, validate.ErrInvalid)
}
