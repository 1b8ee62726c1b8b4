package callback

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/stepcallback/sagemaker-callback/callback/internal/typednil"
	"github.com/stepcallback/sagemaker-callback/validate"
)

// The operations Waiting calls, as errors name them.
const (
	OpListExecutions = "ListPipelineExecutions"
	OpListSteps      = "ListPipelineExecutionSteps"
)

// WaitingAPI is the part of *sagemaker.Client that Waiting calls: the two
// list operations, as the SDK's paginators take them. *sagemaker.Client
// satisfies it; so does any wrapper of it.
type WaitingAPI interface {
	sagemaker.ListPipelineExecutionsAPIClient
	sagemaker.ListPipelineExecutionStepsAPIClient
}

// WaitingStep is a callback step that waits for its completion: its
// execution is Executing or Stopping, and so is the step. Printing a
// WaitingStep, or marshalling it, shows the token redacted (see Token).
type WaitingStep struct {
	// Token is the step's CallbackToken (Metadata.Callback.CallbackToken):
	// always valid. Fail or Succeed complete the step with it.
	Token Token
	// ExecutionARN is the pipeline execution the step belongs to: always
	// valid.
	ExecutionARN ExecutionARN
	// StepName is the step's name in the pipeline's definition. A ForEach
	// step can run a step more than once in an execution: then several
	// WaitingSteps have the same name, each with its own Token.
	StepName string
	// Status is StatusExecuting, or StatusStopping once StopPipelineExecution
	// was called: the execution stops only when the step is completed.
	Status Status
	// Started is when the step started (StartTime), or the zero time when
	// the service gave none.
	Started time.Time
	// QueueURL is the SQS queue the step sent its message to
	// (Metadata.Callback.SqsQueueUrl), or "" when the service gave none.
	QueueURL string
}

// Limits of the model for the members of a step that Waiting reads.
const (
	maxStepNameLen = 64  // StepName
	maxQueueURLLen = 256 // SqsQueueUrl, a String256
)

var stepNamePattern = regexp.MustCompile(`^[A-Za-z0-9\-_]*$`)

// Waiting returns the callback steps of the pipeline named pipelineName (its
// name or its ARN) that wait for a completion: it pages through the
// pipeline's executions (ListPipelineExecutions) and, for each one Executing
// or Stopping, through its steps (ListPipelineExecutionSteps), and keeps each
// callback step Executing or Stopping. The steps come oldest first: by
// Started, and in the order listed, oldest execution first, when equal
// (times on the wire may be whole seconds). Nothing is completed or changed.
//
// A step that carries a value the model would refuse (a CallbackToken that
// is not 10 ASCII letters and digits, or none, an execution ARN that does
// not match its pattern, a step name or a queue URL too long) is left out,
// and the error, which matches ErrInvalid, names it by execution and step
// (never by its token); the other steps are still returned. An execution
// that is gone by the time its steps are listed (ResourceNotFound) is
// skipped. A failed call stops the listing: Waiting returns the steps found
// until then and an error that names the operation and matches the class of
// the failure (ErrNotFound when the pipeline does not exist, ErrThrottled,
// ErrAccessDenied, ...), with the SDK's error beneath for errors.As. The SDK
// retries these calls as its client is configured to; Waiting adds no retry
// of its own. A nil api or an empty pipelineName is refused, before any call,
// with an error matching ErrInvalid.
//
// The error, when not nil, is made by errors.Join: its Unwrap() []error
// lists one error per step or execution left out and, last, the error of the
// call that stopped the listing, if one did (or the refusal).
func Waiting(ctx context.Context, api WaitingAPI, pipelineName string) ([]WaitingStep, error) {
	if typednil.Is(api) {
		return nil, errors.Join(fmt.Errorf("callback: Waiting: %w", &validate.Error{Field: "api", Rule: validate.RuleRequired, Len: -1}))
	}
	if pipelineName == "" {
		return nil, errors.Join(fmt.Errorf("callback: Waiting: %w", &validate.Error{Field: "PipelineName", Rule: validate.RuleRequired, Len: -1}))
	}
	var (
		steps []WaitingStep
		bad   []error
		n     int // the executions listed
	)
	executions := sagemaker.NewListPipelineExecutionsPaginator(api, &sagemaker.ListPipelineExecutionsInput{PipelineName: &pipelineName, SortOrder: types.SortOrderAscending})
	for executions.HasMorePages() {
		page, err := executions.NextPage(ctx)
		if err != nil {
			return sortSteps(steps), errors.Join(append(bad, listError(ctx, OpListExecutions, "pipeline "+strconv.Quote(pipelineName), err))...)
		}
		for _, e := range page.PipelineExecutionSummaries {
			n++
			if !waits(string(e.PipelineExecutionStatus)) {
				continue
			}
			arn, err := ParseExecutionARN(deref(e.PipelineExecutionArn))
			if err != nil {
				bad = append(bad, fmt.Errorf("callback: Waiting: execution #%d of pipeline %q: %w", n, pipelineName, err))
				continue
			}
			found, errs, err := waitingIn(ctx, api, arn)
			steps = append(steps, found...)
			bad = append(bad, errs...)
			if err != nil {
				return sortSteps(steps), errors.Join(append(bad, err)...)
			}
		}
	}
	return sortSteps(steps), errors.Join(bad...)
}

// waitingIn returns the waiting callback steps of one execution, the errors
// of the steps left out, and the error of a failed call.
func waitingIn(ctx context.Context, api WaitingAPI, arn ExecutionARN) (steps []WaitingStep, bad []error, err error) {
	raw := arn.String()
	pages := sagemaker.NewListPipelineExecutionStepsPaginator(api, &sagemaker.ListPipelineExecutionStepsInput{PipelineExecutionArn: &raw, SortOrder: types.SortOrderAscending})
	for i := 0; pages.HasMorePages(); {
		page, err := pages.NextPage(ctx)
		var notFound *types.ResourceNotFound
		if errors.As(err, &notFound) {
			return steps, bad, nil // the execution is gone
		}
		if err != nil {
			return steps, bad, listError(ctx, OpListSteps, "execution "+raw, err)
		}
		for _, s := range page.PipelineExecutionSteps {
			i++
			if !waits(string(s.StepStatus)) || s.Metadata == nil || s.Metadata.Callback == nil {
				continue
			}
			w, err := waitingStep(arn, s)
			if err != nil {
				bad = append(bad, fmt.Errorf("callback: Waiting: execution %s, %s: %w", raw, stepLabel(s.StepName, i), err))
				continue
			}
			steps = append(steps, w)
		}
	}
	return steps, bad, nil
}

// waitingStep checks the members of s, a waiting callback step, against the
// model and returns it typed. The error names the member, never its value.
func waitingStep(arn ExecutionARN, s types.PipelineExecutionStep) (WaitingStep, error) {
	cb := s.Metadata.Callback
	if cb.CallbackToken == nil {
		return WaitingStep{}, &validate.Error{Field: "Metadata.Callback.CallbackToken", Rule: validate.RuleRequired, Len: -1, Secret: true}
	}
	tok, err := ParseToken(*cb.CallbackToken)
	if err != nil {
		var ve *validate.Error
		if errors.As(err, &ve) {
			named := *ve // the same rule, with the member's path
			named.Field = "Metadata.Callback.CallbackToken"
			err = &named
		}
		return WaitingStep{}, err
	}
	if err := checkStepName(deref(s.StepName)); err != nil {
		return WaitingStep{}, err
	}
	if err := checkLen("Metadata.Callback.SqsQueueUrl", deref(cb.SqsQueueUrl), maxQueueURLLen); err != nil {
		return WaitingStep{}, err
	}
	w := WaitingStep{
		Token:        tok,
		ExecutionARN: arn,
		StepName:     deref(s.StepName),
		Status:       Status(s.StepStatus),
		QueueURL:     deref(cb.SqsQueueUrl),
	}
	if s.StartTime != nil {
		w.Started = *s.StartTime
	}
	return w, nil
}

// checkLen checks that s is valid UTF-8 of at most max code points.
func checkLen(field, s string, max int) error {
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		return &validate.Error{Field: field, Rule: validate.RuleUTF8, Max: max, Len: -1}
	case n > max:
		return &validate.Error{Field: field, Rule: validate.RuleLength, Max: max, Len: n}
	}
	return nil
}

// checkStepName checks a StepName: its length, and the model's pattern.
func checkStepName(s string) error {
	if err := checkLen("StepName", s, maxStepNameLen); err != nil {
		return err
	}
	if !stepNamePattern.MatchString(s) {
		return &validate.Error{Field: "StepName", Rule: validate.RulePattern, Pattern: stepNamePattern.String(), Max: maxStepNameLen, Len: utf8.RuneCountInString(s)}
	}
	return nil
}

// stepLabel names a step in an error: by its name when the name is valid,
// by its position in the execution's list otherwise.
func stepLabel(name *string, i int) string {
	if name != nil && checkStepName(*name) == nil {
		return "step " + strconv.Quote(*name)
	}
	return "step #" + strconv.Itoa(i) + " (its StepName is not valid)"
}

// waits reports whether an execution's or a step's status is Executing or
// Stopping.
func waits(status string) bool {
	return status == StatusExecuting || status == StatusStopping
}

// sortSteps sorts steps oldest first, keeping the listed order on ties.
func sortSteps(steps []WaitingStep) []WaitingStep {
	slices.SortStableFunc(steps, func(a, b WaitingStep) int { return a.Started.Compare(b.Started) })
	return steps
}

// listError is the error of a failed list call: it names the operation and
// what was listed, and matches the class of the failure.
func listError(ctx context.Context, op, what string, err error) error {
	class, _ := classify(ctx, err)
	if class == ctx.Err() && errors.Is(err, class) {
		return fmt.Errorf("callback: Waiting: %s for %s: %w", op, what, err)
	}
	return fmt.Errorf("callback: Waiting: %s for %s: %w: %w", op, what, class, err)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
