package validate

import "unicode/utf8"

// Member names one member of the SendPipelineExecutionStepFailure and
// SendPipelineExecutionStepSuccess requests. Its Spec holds that member's rules
// as AWS's service model states them; its Check applies them.
type Member uint8

// The members of the two requests (their rules are in the package doc). An
// OutputParameter's Name and Value are members of each item of
// OutputParameters.
const (
	CallbackToken        Member = iota + 1 // shape CallbackToken
	FailureReason                          // shape String256
	ClientRequestToken                     // shape IdempotencyToken
	OutputParameters                       // shape OutputParameterList
	OutputParameterName                    // shape String256
	OutputParameterValue                   // shape String1024
)

// Spec is the model's rules for one member. Lengths count Unicode scalar values
// (code points), as Smithy's length trait does for strings; for OutputParameters
// they count list items. A limit of 0 in Min means no lower limit; every member
// here has an upper limit.
type Spec struct {
	Member   string // the member's name in the request, as the JSON on the wire spells it
	Shape    string // the model's shape of the member
	Required bool   // the member must be present (non-nil)
	Min, Max int    // length limits, inclusive
	Pattern  string // the model's pattern, or "" when it has none
	List     bool   // Min and Max count list items, not characters
	Secret   bool   // the value is a credential: errors never show it
}

var specs = [...]Spec{
	CallbackToken:        {Member: "CallbackToken", Shape: "CallbackToken", Required: true, Min: 10, Max: 10, Pattern: "^[a-zA-Z0-9]+$", Secret: true},
	FailureReason:        {Member: "FailureReason", Shape: "String256", Max: 256},
	ClientRequestToken:   {Member: "ClientRequestToken", Shape: "IdempotencyToken", Min: 32, Max: 128},
	OutputParameters:     {Member: "OutputParameters", Shape: "OutputParameterList", Max: 50, List: true},
	OutputParameterName:  {Member: "Name", Shape: "String256", Required: true, Max: 256},
	OutputParameterValue: {Member: "Value", Shape: "String1024", Required: true, Max: 1024},
}

// Spec returns the member's rules. The zero Member has the zero Spec.
func (m Member) Spec() Spec {
	if int(m) >= len(specs) {
		return Spec{}
	}
	return specs[m]
}

// String returns the member's name, as Spec().Member.
func (m Member) String() string {
	if m == 0 || int(m) >= len(specs) {
		return "Member(invalid)"
	}
	return specs[m].Member
}

// Check reports whether s is a valid value of the member: valid UTF-8, a length
// in code points within the limits, and a match of the pattern. It returns nil
// or an *Error that names the member and the rule broken; for a CallbackToken
// the error never holds the value. For OutputParameters, which is a list, use
// CheckCount.
func (m Member) Check(s string) error {
	if m == 0 || int(m) >= len(specs) || specs[m].List {
		return &Error{Field: m.String(), Rule: RuleMember}
	}
	if e := check(&specs[m], s); e != nil {
		e.Field = m.String()
		return e
	}
	return nil
}

// CheckCount reports whether a list member with n items is within its limits.
// It returns nil or an *Error with Rule RuleCount.
func (m Member) CheckCount(n int) error {
	if m == 0 || int(m) >= len(specs) || !specs[m].List {
		return &Error{Field: m.String(), Rule: RuleMember}
	}
	sp := &specs[m]
	if n < sp.Min || n > sp.Max {
		return &Error{Field: sp.Member, Rule: RuleCount, Min: sp.Min, Max: sp.Max, Len: n}
	}
	return nil
}

// check is Check with the member's spec, and returns nil or an *Error
// without its Field. It allocates only on failure.
func check(sp *Spec, s string) *Error {
	n, rule := -1, RuleUTF8
	if utf8.ValidString(s) {
		// A string has at most as many code points as bytes: count them
		// only when the byte length alone does not settle the limits.
		if n = len(s); n > sp.Max || sp.Min > 0 {
			n = utf8.RuneCountInString(s)
		}
		switch {
		case n < sp.Min || n > sp.Max:
			rule = RuleLength
		case sp.Pattern != "" && !isAlnum(s):
			rule = RulePattern
		default:
			return nil
		}
	}
	e := &Error{Rule: rule, Min: sp.Min, Max: sp.Max, Len: n, Secret: sp.Secret}
	if rule == RulePattern {
		e.Pattern = sp.Pattern
	}
	return e
}

// isAlnum reports whether s matches ^[a-zA-Z0-9]+$, the one pattern of the
// model (CallbackToken's), without a regular expression: every byte an ASCII
// letter or digit (the package doc says what that refuses).
func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
}
