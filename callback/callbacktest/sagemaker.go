package callbacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// constraint is one member's rules, written from AWS's SageMaker service
// model (api-2.json of 2017-07-24: the shapes CallbackToken, String256,
// IdempotencyToken, OutputParameterList and String1024). Lengths count
// Unicode code points, or items for a list, as Smithy's length trait does.
// TestConstraintsAgreeWithValidate compares it with package validate.
type constraint struct {
	path     string // the member's name in AWS's messages
	required bool
	min, max int
	alnum    bool           // the pattern ^[a-zA-Z0-9]+$
	pattern  *regexp.Regexp // the model's pattern, anchored; nil for none
	enum     []string       // the values allowed; nil for any
}

const alnumPattern = "^[a-zA-Z0-9]+$"

var (
	callbackTokenRule      = constraint{path: "callbackToken", required: true, min: 10, max: 10, alnum: true}
	clientRequestTokenRule = constraint{path: "clientRequestToken", min: 32, max: 128}
	failureReasonRule      = constraint{path: "failureReason", max: 256}
	outputParametersRule   = constraint{path: "outputParameters", max: 50}
	outputNameRule         = constraint{path: "name", required: true, max: 256}
	outputValueRule        = constraint{path: "value", required: true, max: 1024}
)

// check returns AWS's descriptions of the constraints that the value at path
// breaks (n is its length; v nil when absent). A value that breaks both the
// length and the pattern is listed twice, as AWS lists every violation.
func (c constraint) check(path string, v *string, n int, shown string) []string {
	if v == nil {
		if c.required {
			return []string{"Value null at '" + path + "' failed to satisfy constraint: Member must not be null"}
		}
		return nil
	}
	var out []string
	prefix := "Value '" + shown + "' at '" + path + "' failed to satisfy constraint: Member must "
	if n < c.min {
		out = append(out, prefix+"have length greater than or equal to "+strconv.Itoa(c.min))
	} else if n > c.max {
		out = append(out, prefix+"have length less than or equal to "+strconv.Itoa(c.max))
	}
	if c.alnum && !isAlnum(*v) {
		out = append(out, prefix+"satisfy regular expression pattern: "+alnumPattern)
	}
	if c.pattern != nil && !c.pattern.MatchString(*v) {
		out = append(out, prefix+"satisfy regular expression pattern: "+c.pattern.String())
	}
	if c.enum != nil && !slices.Contains(c.enum, *v) {
		out = append(out, prefix+"satisfy enum value set: ["+strings.Join(c.enum, ", ")+"]")
	}
	return out
}

func (c constraint) checkString(path string, v *string) []string {
	if v == nil {
		return c.check(path, nil, 0, "")
	}
	return c.check(path, v, utf8.RuneCountInString(*v), *v)
}

func isAlnum(s string) bool {
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

// members are the members of a request that the operation knows, as decoded.
type members struct {
	token, crt, reason *string
	outputs            []nameValue // nil when absent
}

// nameValue is a structure with the string members Name and Value, an item
// of OutputParameters or of PipelineParameters, as decoded.
type nameValue struct{ name, value *string }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// outputList returns the output parameters as Outputs (an absent Name or
// Value as "").
func (m *members) outputList() []Output {
	if m.outputs == nil {
		return nil
	}
	out := make([]Output, len(m.outputs))
	for i, p := range m.outputs {
		out[i] = Output{Name: deref(p.name), Value: deref(p.value)}
	}
	return out
}

// validationMessage returns AWS's ValidationException message for the
// constraints the members break, or "" when they break none.
func (m *members) validationMessage(op string) string {
	items := callbackTokenRule.checkString(callbackTokenRule.path, m.token)
	items = append(items, clientRequestTokenRule.checkString(clientRequestTokenRule.path, m.crt)...)
	if op == OpFailure {
		items = append(items, failureReasonRule.checkString(failureReasonRule.path, m.reason)...)
	} else if m.outputs != nil {
		// Java prints a list of structures by the objects' identities.
		ids := make([]string, len(m.outputs))
		for i, p := range m.outputs {
			h := fnv.New32a()
			h.Write([]byte(deref(p.name) + "\x00" + deref(p.value)))
			ids[i] = fmt.Sprintf("com.amazonaws.sagemaker.OutputParameter@%x", h.Sum32())
		}
		n := len(m.outputs)
		items = append(items, outputParametersRule.check(outputParametersRule.path, new(string), n, "["+strings.Join(ids, ", ")+"]")...)
		for i, p := range m.outputs {
			path := outputParametersRule.path + "." + strconv.Itoa(i+1) + ".member."
			items = append(items, outputNameRule.checkString(path+outputNameRule.path, p.name)...)
			items = append(items, outputValueRule.checkString(path+outputValueRule.path, p.value)...)
		}
	}
	return validationText(items)
}

// validationText returns AWS's ValidationException message for the
// constraints broken, items ("Value '…' at 'x' failed to satisfy
// constraint: …"), or "" for none.
func validationText(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return "1 validation error detected: " + items[0]
	}
	return strconv.Itoa(len(items)) + " validation errors detected: " + strings.Join(items, "; ")
}

// decodeMembers reads the members of op from a body that is valid JSON. It
// returns a SerializationException when a member has the wrong JSON type.
// Members the operation does not have are ignored, and null is absent, as
// the service does. Member names are case-sensitive.
func decodeMembers(body []byte, op string) (m members, e *apiError) {
	var top map[string]json.RawMessage
	if k := kindOf(body); k != '{' {
		return m, serialization(notExpected(k, "structure"))
	}
	_ = json.Unmarshal(body, &top) // cannot fail: a valid JSON object
	str := func(name string, dst **string) {
		if e == nil {
			e = jsonString(top[name], dst)
		}
	}
	str("CallbackToken", &m.token)
	str("ClientRequestToken", &m.crt)
	if op == OpFailure {
		str("FailureReason", &m.reason)
		return m, e
	}
	switch k := kindOf(top["OutputParameters"]); k {
	case 0, 'n':
	case '[':
		if e == nil {
			m.outputs, e = nameValues(top["OutputParameters"])
		}
	default:
		e = serialization(notExpected(k, "List"))
	}
	return m, e
}

// jsonString reads v, a member's value, into *dst when it is a JSON string,
// leaves *dst nil when v is absent or null, and is a SerializationException
// for any other JSON type.
func jsonString(v json.RawMessage, dst **string) *apiError {
	switch k := kindOf(v); k {
	case 0, 'n':
		return nil
	case '"':
		*dst = new(string)
		_ = json.Unmarshal(v, *dst)
		return nil
	default:
		return serialization(notExpected(k, "String"))
	}
}

// nameValues reads v, a JSON list, as a list of structures with the string
// members Name and Value (OutputParameters, PipelineParameters). An item
// that is not a structure, or a member of another JSON type, is a
// SerializationException.
func nameValues(v json.RawMessage) ([]nameValue, *apiError) {
	var items []json.RawMessage
	_ = json.Unmarshal(v, &items)
	list := make([]nameValue, len(items))
	for i, it := range items {
		if k := kindOf(it); k != '{' {
			return nil, serialization(notExpected(k, "structure"))
		}
		var item map[string]json.RawMessage
		_ = json.Unmarshal(it, &item)
		if e := jsonString(item["Name"], &list[i].name); e != nil {
			return nil, e
		}
		if e := jsonString(item["Value"], &list[i].value); e != nil {
			return nil, e
		}
	}
	return list, nil
}

// kindOf returns the kind of a JSON value by its first byte: '{', '[', '"',
// 'n' (null), 't', 'f', '0' for a number, or 0 for nothing.
func kindOf(v []byte) byte {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return 0
	}
	if c := v[0]; strings.IndexByte("{[\"ntf", c) >= 0 {
		return c
	}
	return '0'
}

// notExpected returns the SerializationException message for a JSON value of
// kind k where a value of type want was expected, in the words of AWS's JSON
// services.
func notExpected(k byte, want string) string {
	switch k {
	case '{':
		return "Start of structure or map found where not expected."
	case '[':
		return "Start of list found where not expected"
	case '"':
		return "STRING_VALUE can not be converted to a " + want
	case 't':
		return "TRUE_VALUE can not be converted to a " + want
	case 'f':
		return "FALSE_VALUE can not be converted to a " + want
	}
	return "NUMBER_VALUE can not be converted to a " + want
}

// idemRecord is what a completion with a ClientRequestToken left: the
// parameters it was sent with and the answer it got.
type idemRecord struct {
	op      string
	token   string
	reason  *string
	outputs []Output
	arn     string
}

// matches reports whether a request carries the same parameters as the
// completion that left the record.
func (rec *idemRecord) matches(op string, m *members) bool {
	return rec.op == op && rec.token == *m.token && (rec.reason == nil) == (m.reason == nil) &&
		deref(rec.reason) == deref(m.reason) && slices.Equal(rec.outputs, m.outputList())
}

// process checks the members against the model and completes the step; the
// step's pipeline execution then moves on (its dependants start, or it fails
// or stops).
func (s *Server) process(op string, m *members) answer {
	if msg := m.validationMessage(op); msg != "" {
		return answer{err: badRequest("ValidationException", msg)}
	}
	s.mu.Lock()
	a, sends := s.complete(op, m)
	s.mu.Unlock()
	s.dispatch(sends)
	return a
}

// complete completes the step of a valid request, and returns the messages
// of the steps that start. Called with s.mu held.
func (s *Server) complete(op string, m *members) (answer, []pendingSend) {
	a := s.completeStep(op, m)
	if !a.completed {
		return a, nil
	}
	return a, s.stepCompleted(s.steps[*m.token])
}

// completeStep completes the step of a valid request. Called with s.mu held.
func (s *Server) completeStep(op string, m *members) answer {
	token := *m.token
	st := s.steps[token]
	if prev, ok := s.idem[deref(m.crt)]; ok && m.crt != nil {
		if prev.matches(op, m) {
			if st != nil {
				st.Replays++
			}
			return answer{out: arnOut{prev.arn}, arn: prev.arn, replayed: true}
		}
		if st != nil {
			st.Conflicts++
		}
		return answer{err: badRequest("ConflictException", fmt.Sprintf("ClientRequestToken '%s' was already used with different parameters.", *m.crt))}
	}
	if st == nil {
		return answer{err: badRequest("ResourceNotFound", fmt.Sprintf("Pipeline execution step with callback token '%s' not found.", token))}
	}
	if st.Status != StatusExecuting {
		st.Conflicts++
		return answer{err: badRequest("ConflictException", fmt.Sprintf("Pipeline execution step with callback token '%s' was already completed with status %s.", token, st.Status))}
	}
	if op == OpFailure {
		st.Status, st.FailureReason = StatusFailed, deref(m.reason)
	} else {
		st.Status, st.Outputs = StatusSucceeded, m.outputList()
	}
	st.Completions++
	st.Completed = s.opts.Now()
	if m.crt != nil {
		s.idem[*m.crt] = &idemRecord{op: op, token: token, reason: m.reason, outputs: m.outputList(), arn: st.ExecutionARN}
	}
	return answer{out: arnOut{st.ExecutionARN}, arn: st.ExecutionARN, completed: true}
}

// arnOut is the answer of both SageMaker operations.
type arnOut struct{ PipelineExecutionArn string }
