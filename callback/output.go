package callback

import "github.com/stepcallback/sagemaker-callback/validate"

// MaxOutputs is the most output parameters one SendPipelineExecutionStepSuccess
// may carry (the model's OutputParameterList has at most 50 items).
const MaxOutputs = 50

// Output is one OutputParameter of a successful step: a Name of at most 256
// code points and a Value of at most 1024, both valid UTF-8. An Output is made
// by NewOutput or MustNewOutput, so every Output is valid. It is comparable.
//
// The model requires both members and allows both to be empty:
// NewOutput("", "") is a valid parameter with an empty name and value. The
// zero Output is not: it is an Output that was never made (an unfilled
// element of make([]Output, n), say), and Succeed refuses it, with an error
// naming its index, rather than send an empty parameter nobody meant.
type Output struct {
	name, value string
	ok          bool // made by NewOutput
}

// NewOutput returns the output parameter name=value, or an error if the name
// is longer than 256 code points, the value longer than 1024, or either is not
// valid UTF-8. The error is a *validate.Error naming "Name" or "Value". It
// allocates nothing when both are valid (TestNewOutputNoAllocs).
func NewOutput(name, value string) (Output, error) {
	if err := validate.OutputParameterName.Check(name); err != nil {
		return Output{}, err
	}
	if err := validate.OutputParameterValue.Check(value); err != nil {
		return Output{}, err
	}
	return Output{name: name, value: value, ok: true}, nil
}

// MustNewOutput is NewOutput for tests and examples with hard-coded values: it
// panics if the output is not valid.
func MustNewOutput(name, value string) Output {
	o, err := NewOutput(name, value)
	if err != nil {
		panic(err)
	}
	return o
}

// IsZero reports whether o is the zero Output, which was never made.
func (o Output) IsZero() bool { return !o.ok }

// Name returns the parameter's name.
func (o Output) Name() string { return o.name }

// Value returns the parameter's value.
func (o Output) Value() string { return o.value }

// String returns "name=value".
func (o Output) String() string { return o.name + "=" + o.value }
