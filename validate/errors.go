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
	var b strings.Builder
	b.WriteString("invalid ")
	b.WriteString(e.Field)
	b.WriteString(": ")
	switch e.Rule {
	case RuleRequired:
		b.WriteString("required but missing")
	case RuleUTF8:
		b.WriteString("not valid UTF-8")
	case RulePattern:
		b.WriteString("does not match the pattern ")
		b.WriteString(e.Pattern)
	case RuleLength, RuleCount:
		unit := " characters"
		if e.Rule == RuleCount {
			unit = " items"
		}
		b.WriteString(string(e.Rule))
		b.WriteString(" ")
		b.WriteString(strconv.Itoa(e.Len))
		switch {
		case e.Min == e.Max:
			b.WriteString(" is not the required ")
			b.WriteString(strconv.Itoa(e.Max))
		case e.Len > e.Max:
			b.WriteString(" is more than the maximum of ")
			b.WriteString(strconv.Itoa(e.Max))
		default:
			b.WriteString(" is less than the minimum of ")
			b.WriteString(strconv.Itoa(e.Min))
		}
		b.WriteString(unit)
	case RuleMember:
		b.WriteString("no such check for this member")
	default:
		b.WriteString("rule ")
		b.WriteString(string(e.Rule))
		b.WriteString(" broken")
	}
	return b.String()
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
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(es)))
	b.WriteString(" violations: ")
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
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
