package callback

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/stepcallback/sagemaker-callback/validate"
)

// MaxExecutionARNLen is the most characters a PipelineExecutionArn may hold.
const MaxExecutionARNLen = 2048

// ExecutionARN is the PipelineExecutionArn that the service answers a
// completion with: the pipeline execution the step belongs to. It is
// comparable.
//
// A valid ExecutionARN matches the model's pattern
// ^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:pipeline\/.*\/execution\/.*$
// and has at most 2048 characters; its parts are read with Partition, Region,
// Account, Pipeline and ExecutionID. The service's answer is kept as it came
// even when it does not match: a completion the service acknowledged is not an
// error because of its ARN. IsValid tells such a value apart, and its parts
// are then "".
//
// The zero ExecutionARN is "", which is not valid: the answer had no ARN.
type ExecutionARN struct {
	s     string
	valid bool
}

// errARN is the error ParseExecutionARN returns for a value that does not
// match the pattern.
var errARN = errors.New("invalid PipelineExecutionArn: does not match the pattern " + arnPattern)

const arnPattern = `^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:pipeline\/.*\/execution\/.*$`

// ParseExecutionARN returns s as a valid ExecutionARN, or an error (matching
// validate.ErrInvalid) if s does not match the model's pattern or is longer
// than 2048 characters.
func ParseExecutionARN(s string) (ExecutionARN, error) {
	a := executionARN(s)
	if !a.valid {
		return ExecutionARN{}, fmt.Errorf("%w: %w", errARN, validate.ErrInvalid)
	}
	return a, nil
}

// executionARN keeps s as the service sent it and records whether it is valid.
func executionARN(s string) ExecutionARN {
	_, ok := splitARN(s)
	return ExecutionARN{s: s, valid: ok}
}

// arnParts are the parts of a valid ARN.
type arnParts struct {
	arn.ARN
	pipeline, execution string
}

// splitARN parses s with arn.Parse and checks it against the model's pattern,
// as ECMA-262 reads it: '.' matches anything but a line terminator (\n, \r,
// U+2028, U+2029), and the greedy first '.*' makes the pipeline name run to
// the last "/execution/".
func splitARN(s string) (p arnParts, ok bool) {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxExecutionARNLen || strings.ContainsAny(s, "\n\r\u2028\u2029") {
		return p, false
	}
	a, err := arn.Parse(s)
	rest, isPipeline := strings.CutPrefix(a.Resource, "pipeline/")
	i := strings.LastIndex(rest, "/execution/")
	partition, isAWS := strings.CutPrefix(a.Partition, "aws")
	if err != nil || !isPipeline || i < 0 || !isAWS || a.Service != "sagemaker" || len(a.AccountID) != 12 ||
		strings.Trim(partition, lower+"-") != "" || strings.Trim(a.Region, lower+digits+"-") != "" || strings.Trim(a.AccountID, digits) != "" {
		return p, false
	}
	return arnParts{a, rest[:i], rest[i+len("/execution/"):]}, true
}

const (
	lower  = "abcdefghijklmnopqrstuvwxyz"
	digits = "0123456789"
)

// String returns the ARN as the service sent it.
func (a ExecutionARN) String() string { return a.s }

// IsValid reports whether a matches the model's pattern.
func (a ExecutionARN) IsValid() bool { return a.valid }

// IsZero reports whether a is the zero ExecutionARN (no ARN at all).
func (a ExecutionARN) IsZero() bool { return a.s == "" }

func (a ExecutionARN) parts() arnParts {
	p, _ := splitARN(a.s)
	return p
}

// Partition returns the ARN's partition ("aws", "aws-cn", "aws-us-gov", ...),
// or "" when a is not valid.
func (a ExecutionARN) Partition() string { return a.parts().Partition }

// Region returns the ARN's region ("us-east-1"), or "".
func (a ExecutionARN) Region() string { return a.parts().Region }

// Account returns the ARN's 12-digit account ID, or "".
func (a ExecutionARN) Account() string { return a.parts().AccountID }

// Pipeline returns the pipeline's name, or "".
func (a ExecutionARN) Pipeline() string { return a.parts().pipeline }

// ExecutionID returns the pipeline execution's ID, or "".
func (a ExecutionARN) ExecutionID() string { return a.parts().execution }

// MarshalText returns the ARN as it came.
func (a ExecutionARN) MarshalText() ([]byte, error) { return []byte(a.s), nil }

// UnmarshalText parses text with ParseExecutionARN; "" gives the zero
// ExecutionARN.
func (a *ExecutionARN) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*a = ExecutionARN{}
		return nil
	}
	v, err := ParseExecutionARN(string(text))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
