// Package validate holds the rules of AWS's service model for every member of
// SageMaker's SendPipelineExecutionStepFailure and
// SendPipelineExecutionStepSuccess requests, as data, and the checks they
// need.
//
// # The rules
//
// Each Member (CallbackToken, FailureReason, ClientRequestToken,
// OutputParameters, OutputParameterName, OutputParameterValue) has a Spec:
// required or not, length limits, pattern, taken from the model exactly, no
// stricter and no looser:
//
//	CallbackToken        10 to 10 characters, ^[a-zA-Z0-9]+$, required
//	FailureReason        at most 256 characters (shape String256)
//	ClientRequestToken   32 to 128 characters
//	OutputParameters     at most 50 items
//	  .Name              at most 256 characters, required
//	  .Value             at most 1024 characters, required
//
// Lengths count Unicode scalar values (code points), as Smithy's length trait
// does: not bytes, not UTF-16 units. A value that is not valid UTF-8 is never
// valid. Like ECMA-262 and Go's regexp, the CallbackToken pattern refuses a
// trailing newline and non-ASCII letters and digits. Note the model's trap:
// the request's FailureReason has the shape String256; the shape named
// FailureReason (1024) is only used in error messages.
//
// # The checks
//
// Member.Check and Member.CheckCount check one value; FailureInput and
// SuccessInput check a whole raw SDK input and return every violation at once,
// as Errors. Each violation is an *Error that names the field (with its path,
// "OutputParameters[3].Name"), the rule, the limits and the length seen, and
// never the value, so it is safe to log even for a CallbackToken. Every
// violation matches ErrInvalid with errors.Is. On valid input the checks
// allocate nothing (TestNoAllocs).
//
// # Plain SDK clients
//
// WithInputChecks adds FailureInput and SuccessInput to a *sagemaker.Client
// for the two operations, so that users of the plain SDK get client-side
// validation with one line:
//
//	client := sagemaker.NewFromConfig(cfg, validate.WithInputChecks())
//
// Package callback builds on these rules: its value types are checked by them
// when they are made.
package validate
