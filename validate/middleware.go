package validate

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go/middleware"
)

// MiddlewareID is the ID of the Initialize-step middleware that WithInputChecks
// adds to a client's stack.
const MiddlewareID = "sagemaker-callback/validate.InputChecks"

// WithInputChecks returns an option for sagemaker.New, sagemaker.NewFromConfig
// or a single call that checks every SendPipelineExecutionStepFailure and
// SendPipelineExecutionStepSuccess request with FailureInput or SuccessInput
// before it is signed or sent. The check runs after the SDK has filled in a
// missing ClientRequestToken. A request that breaks a rule is not sent: the
// call returns a *smithy.OperationError around Errors, which matches
// ErrInvalid. Other operations of the client pass through unchanged.
//
//	client := sagemaker.NewFromConfig(cfg, validate.WithInputChecks())
func WithInputChecks() func(*sagemaker.Options) {
	return func(o *sagemaker.Options) {
		o.APIOptions = append(o.APIOptions, addInputChecks)
	}
}

// sdkValidationID is the ID of the SDK's own Initialize-step check that
// required members are non-nil. The input checks go just before it, so that a
// nil CallbackToken is reported as Errors matching ErrInvalid like every other
// violation (after it, the SDK's *smithy.InvalidParamsError would win), and
// still after the SDK's OperationIdempotencyTokenAutoFill, which the SDK puts
// first in the step.
const sdkValidationID = "OperationInputValidation"

func addInputChecks(stack *middleware.Stack) error {
	if _, ok := stack.Initialize.Get(MiddlewareID); ok {
		return nil // added already, by the client's options and again for the call
	}
	if _, ok := stack.Initialize.Get(sdkValidationID); ok {
		return stack.Initialize.Insert(inputChecks{}, sdkValidationID, middleware.Before)
	}
	return stack.Initialize.Add(inputChecks{}, middleware.After)
}

type inputChecks struct{}

func (inputChecks) ID() string { return MiddlewareID }

func (inputChecks) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	var err error
	switch p := in.Parameters.(type) {
	case *sagemaker.SendPipelineExecutionStepFailureInput:
		err = FailureInput(p)
	case *sagemaker.SendPipelineExecutionStepSuccessInput:
		err = SuccessInput(p)
	}
	if err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	return next.HandleInitialize(ctx, in)
}
