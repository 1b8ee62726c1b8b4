package validate

import (
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// FailureInput checks a raw SendPipelineExecutionStepFailure request against
// the model's rules and returns every violation at once, as Errors, or nil.
// A nil ClientRequestToken or FailureReason is valid: the first is filled by
// the SDK, the second is optional.
func FailureInput(in *sagemaker.SendPipelineExecutionStepFailureInput) error {
	if in == nil {
		return Errors{{Field: CallbackToken.String(), Rule: RuleRequired, Len: -1}}
	}
	var errs Errors
	errs = member(errs, CallbackToken, in.CallbackToken, -1)
	errs = member(errs, ClientRequestToken, in.ClientRequestToken, -1)
	errs = member(errs, FailureReason, in.FailureReason, -1)
	if errs == nil {
		return nil
	}
	return errs
}

// SuccessInput checks a raw SendPipelineExecutionStepSuccess request against
// the model's rules and returns every violation at once, as Errors, or nil:
// the token, the ClientRequestToken, at most 50 output parameters, and each
// parameter's Name and Value (both required).
func SuccessInput(in *sagemaker.SendPipelineExecutionStepSuccessInput) error {
	if in == nil {
		return Errors{{Field: CallbackToken.String(), Rule: RuleRequired, Len: -1}}
	}
	var errs Errors
	errs = member(errs, CallbackToken, in.CallbackToken, -1)
	errs = member(errs, ClientRequestToken, in.ClientRequestToken, -1)
	if err := OutputParameters.CheckCount(len(in.OutputParameters)); err != nil {
		errs = append(errs, err.(*Error))
	}
	for i := range in.OutputParameters {
		errs = output(errs, i, &in.OutputParameters[i])
	}
	if errs == nil {
		return nil
	}
	return errs
}

// output checks item i of OutputParameters.
func output(errs Errors, i int, p *types.OutputParameter) Errors {
	errs = member(errs, OutputParameterName, p.Name, i)
	return member(errs, OutputParameterValue, p.Value, i)
}

// member checks a string member given as a pointer; item is the index of the
// OutputParameters item it belongs to, or -1.
func member(errs Errors, m Member, p *string, item int) Errors {
	sp := &specs[m]
	var e *Error
	switch {
	case p != nil:
		e = check(sp, *p)
	case sp.Required:
		e = &Error{Rule: RuleRequired, Len: -1}
	}
	if e == nil {
		return errs
	}
	e.Field = sp.Member
	if item >= 0 {
		e.Field = "OutputParameters[" + strconv.Itoa(item) + "]." + sp.Member
	}
	return append(errs, e)
}
