package validate

// Member names one member of the SendPipelineExecutionStepFailure and
// SendPipelineExecutionStepSuccess requests. Its Spec holds that member's rules
// as AWS's service model states them; its Check applies them.
type Member uint8

// The members of the two requests. An OutputParameter's Name and Value are
// members of each item of OutputParameters.
const (
	CallbackToken        Member = iota + 1 // shape CallbackToken: 10 to 10 characters, ^[a-zA-Z0-9]+$, required
	FailureReason                          // shape String256: at most 256 characters
	ClientRequestToken                     // shape IdempotencyToken: 32 to 128 characters
	OutputParameters                       // shape OutputParameterList: at most 50 items
	OutputParameterName                    // shape String256: at most 256 characters, required
	OutputParameterValue                   // shape String1024: at most 1024 characters, required
)

// AlnumPattern is the pattern of the CallbackToken shape, as the model writes it.
// It is anchored: the whole value must be ASCII letters and digits.
const AlnumPattern = "^[a-zA-Z0-9]+$"

// MaxOutputParameters is the most items OutputParameters may hold.
const MaxOutputParameters = 50

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
	CallbackToken:        {Member: "CallbackToken", Shape: "CallbackToken", Required: true, Min: 10, Max: 10, Pattern: AlnumPattern, Secret: true},
	FailureReason:        {Member: "FailureReason", Shape: "String256", Max: 256},
	ClientRequestToken:   {Member: "ClientRequestToken", Shape: "IdempotencyToken", Min: 32, Max: 128},
	OutputParameters:     {Member: "OutputParameters", Shape: "OutputParameterList", Max: MaxOutputParameters, List: true},
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
// the error never holds the value. Check allocates nothing when s is valid
// (TestNoAllocs).
// For OutputParameters, which is a list, use CheckCount.
func (m Member) Check(s string) error {
	if m == 0 || int(m) >= len(specs) || specs[m].List {
		return &Error{Field: m.String(), Rule: RuleMember}
	}
	return check(&specs[m], m.String(), s)
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

// check is Check with the field's path given. It allocates only on failure.
func check(sp *Spec, field string, s string) error {
	n, ok := Length(s)
	if !ok {
		return &Error{Field: field, Rule: RuleUTF8, Min: sp.Min, Max: sp.Max, Len: -1, Secret: sp.Secret}
	}
	if n < sp.Min || n > sp.Max {
		return &Error{Field: field, Rule: RuleLength, Min: sp.Min, Max: sp.Max, Len: n, Secret: sp.Secret}
	}
	if sp.Pattern != "" && !IsAlnum(s) {
		return &Error{Field: field, Rule: RulePattern, Min: sp.Min, Max: sp.Max, Len: n, Pattern: sp.Pattern, Secret: sp.Secret}
	}
	return nil
}
