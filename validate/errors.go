package validate

import (
	"errors"
	"strconv"
	"strings"
)

// ErrInvalid is matched, with errors.Is, by every violation of the model's rules
// that this package reports: an *Error and an Errors holding one.
var ErrInvalid = errors.New("invalid request member")

// Rule names the kind of rule a value broke.
type Rule string

// The rules an *Error can name.
const (
	RuleRequired Rule = "required" // the member is missing (nil, or the zero value of a required type)
	RuleLength   Rule = "length"   // the length in code points is outside [Min, Max]
	RuleUTF8     Rule = "utf8"     // the value is not valid UTF-8
	RulePattern  Rule = "pattern"  // the value does not match Pattern
	RuleCount    Rule = "count"    // the list holds a number of items outside [Min, Max]
	RuleMember   Rule = "member"   // a check was asked of a Member that does not take it
)

// Error is one violation: which field, which rule, the limits and what was
// seen. Its message names the field and the rule; it never holds the value, so
// it is safe to log even for a CallbackToken.
type Error struct {
	Field    string // the member's path: "CallbackToken", "OutputParameters[3].Value"
	Rule     Rule   // the rule broken
	Min, Max int    // the member's limits (code points, or items for RuleCount)
	Len      int    // the length seen (code points or items); -1 for RuleUTF8 and RuleRequired
	Pattern  string // the pattern, for RulePattern
	Secret   bool   // the member is a credential (CallbackToken)
}

// Error returns a message such as
// "invalid FailureReason: length 300 is more than the maximum of 256 characters".
func (e *Error) Error() string {
	s := "invalid " + e.Field + ": "
	switch e.Rule {
	case RuleRequired:
		return s + "required but missing"
	case RuleUTF8:
		return s + "not valid UTF-8"
	case RulePattern:
		return s + "does not match the pattern " + e.Pattern
	case RuleMember:
		return s + "no such check for this member"
	case RuleLength, RuleCount:
		unit := " characters"
		if e.Rule == RuleCount {
			unit = " items"
		}
		s += string(e.Rule) + " " + strconv.Itoa(e.Len)
		switch {
		case e.Min == e.Max:
			return s + " is not the required " + strconv.Itoa(e.Max) + unit
		case e.Len > e.Max:
			return s + " is more than the maximum of " + strconv.Itoa(e.Max) + unit
		}
		return s + " is less than the minimum of " + strconv.Itoa(e.Min) + unit
	}
	return s + "rule " + string(e.Rule) + " broken"
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Errors is every violation found in one request, in the order of the request's
// members. It is never empty when returned as an error.
type Errors []*Error

// Error joins the messages of the violations with "; ".
func (es Errors) Error() string {
	switch len(es) {
	case 0:
		return "no violations"
	case 1:
		return es[0].Error()
	}
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strconv.Itoa(len(es)) + " violations: " + strings.Join(msgs, "; ")
}

// Unwrap returns the violations, so errors.As finds an *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Is reports whether target is ErrInvalid.
func (es Errors) Is(target error) bool { return target == ErrInvalid && len(es) > 0 }
