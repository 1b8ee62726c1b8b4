package validate

import (
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// FailureInput checks a raw SendPipelineExecutionStepFailure request against
// the model's rules and returns every violation at once, as Errors, or nil.
// A nil ClientRequestToken or FailureReason is valid: the first is filled by
// the SDK, the second is optional. FailureInput allocates nothing when the
// input is valid (TestNoAllocs).
func FailureInput(in *sagemaker.SendPipelineExecutionStepFailureInput) error {
	if in == nil {
		return Errors{required(CallbackToken.String())}
	}
	var errs Errors
	errs = member(errs, CallbackToken, in.CallbackToken)
	errs = member(errs, ClientRequestToken, in.ClientRequestToken)
	errs = member(errs, FailureReason, in.FailureReason)
	if errs == nil {
		return nil
	}
	return errs
}

// SuccessInput checks a raw SendPipelineExecutionStepSuccess request against
// the model's rules and returns every violation at once, as Errors, or nil:
// the token, the ClientRequestToken, at most 50 output parameters, and each
// parameter's Name and Value (both required). It allocates nothing when the
// input is valid (TestNoAllocs).
func SuccessInput(in *sagemaker.SendPipelineExecutionStepSuccessInput) error {
	if in == nil {
		return Errors{required(CallbackToken.String())}
	}
	var errs Errors
	errs = member(errs, CallbackToken, in.CallbackToken)
	errs = member(errs, ClientRequestToken, in.ClientRequestToken)
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

func output(errs Errors, i int, p *types.OutputParameter) Errors {
	if p.Name == nil {
		errs = append(errs, required(itemField(i, OutputParameterName)))
	} else if err := check(&specs[OutputParameterName], "", *p.Name); err != nil {
		e := err.(*Error)
		e.Field = itemField(i, OutputParameterName)
		errs = append(errs, e)
	}
	if p.Value == nil {
		errs = append(errs, required(itemField(i, OutputParameterValue)))
	} else if err := check(&specs[OutputParameterValue], "", *p.Value); err != nil {
		e := err.(*Error)
		e.Field = itemField(i, OutputParameterValue)
		errs = append(errs, e)
	}
	return errs
}

// itemField returns the path of a member of item i of OutputParameters, as
// errors name it: "OutputParameters[3].Name".
func itemField(i int, m Member) string {
	return "OutputParameters[" + strconv.Itoa(i) + "]." + m.String()
}

// member checks an optional or required string member given as a pointer.
func member(errs Errors, m Member, p *string) Errors {
	sp := &specs[m]
	if p == nil {
		if sp.Required {
			errs = append(errs, required(sp.Member))
		}
		return errs
	}
	if err := check(sp, sp.Member, *p); err != nil {
		errs = append(errs, err.(*Error))
	}
	return errs
}

func required(field string) *Error {
	return &Error{Field: field, Rule: RuleRequired, Len: -1}
}
